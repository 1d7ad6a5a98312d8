from django.db import migrations


def sync_support_group(apps, schema_editor):
    from members.groups import support_group_sync

    support_group_sync(apps)


class Migration(migrations.Migration):
    """The requests' permissions belong to the help app: on a new database they may only exist
    once help/0001 ran, after the group was first set up."""

    dependencies = [
        ("members", "0004_support_moderates_comments"),
        ("help", "0001_initial"),
        ("accounts", "0004_help_requests_to_help"),
    ]

    operations = [migrations.RunPython(sync_support_group, migrations.RunPython.noop)]
