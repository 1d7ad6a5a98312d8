"""The "Support" staff group: sees members, handles refunds and notes, moderates comments; no
content, no settings.

Kept in one place so the data migration and `manage.py setup_groups` (run again after new models,
e.g. refunds, bring new permissions) give the same group. Permissions that do not exist yet are
skipped, so both are safe to run at any time and any number of times.
"""

from django.apps import apps as global_apps

SUPPORT_GROUP = "Support"

SUPPORT_PERMISSIONS = [
    # members: the list, a member's page, actions and private notes
    ("members", "view_member"),
    ("members", "change_member"),
    ("members", "view_staffnote"),
    ("members", "add_staffnote"),
    ("members", "view_staffaction"),
    # money records: read only (changes go through billing's services)
    ("billing", "view_purchase"),
    ("billing", "view_purchaseevent"),
    # refunds: the queue, deciding, and the records
    ("billing", "view_refundrequest"),
    ("billing", "change_refundrequest"),
    ("billing", "view_refundrequestevent"),
    ("billing", "view_refund"),
    ("billing", "view_dispute"),
    # who has access, and the forms people sent
    ("program", "view_access"),
    ("program", "view_accessevent"),
    ("program", "view_subscriber"),
    ("help", "view_consultationrequest"),
    ("help", "change_consultationrequest"),
    ("help", "view_mentoringrequest"),
    ("help", "change_mentoringrequest"),
    # comments: the moderation queue (approve, reject, spam, remove from the site are status
    # changes through comments.services); no delete_comment, and no add_comment, which is what
    # answering as the practitioner needs
    ("comments", "view_comment"),
    ("comments", "change_comment"),
]


def support_group_sync(apps=global_apps) -> tuple[object, int]:
    """Create or update the Support group; returns (group, number of permissions it has)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate`; make sure they exist now.
    for app_config in apps.get_app_configs():
        stub = getattr(app_config, "models_module", None) is None
        if stub:  # a migration's historical app: create_permissions skips it otherwise
            app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        if stub:
            app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    wanted = set(SUPPORT_PERMISSIONS)
    permissions = [
        permission
        for permission in Permission.objects.filter(
            codename__in=[codename for _, codename in wanted]
        ).select_related("content_type")
        if (permission.content_type.app_label, permission.codename) in wanted
    ]
    group.permissions.set(permissions)
    return group, len(permissions)
