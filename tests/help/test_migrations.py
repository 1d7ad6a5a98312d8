"""The requests' move from accounts to help changes no row: the same table, and the same content
types and permissions, relabelled."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from members.groups import SUPPORT_GROUP


def _migrate(targets, *, state_at):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(state_at).apps


@pytest.mark.django_db(transaction=True)
def test_moving_the_requests_keeps_their_rows_content_types_and_support_permissions():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    before = _migrate([("help", None)], state_at=[("accounts", "0003_consultation_mentoring")])
    ContentType = before.get_model("contenttypes", "ContentType")
    Permission = before.get_model("auth", "Permission")
    Group = before.get_model("auth", "Group")
    request = before.get_model("accounts", "ConsultationRequest").objects.create(
        name="Ann", email="ann@example.com", pain_areas=["hip"], how_started="a fall",
        symptoms="ache", goals="walk",
    )  # fmt: skip
    content_type, _ = ContentType.objects.get_or_create(
        app_label="accounts", model="consultationrequest"
    )
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="view_consultationrequest",
        defaults={"name": "Can view consultation request"},
    )
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(permission)

    after = _migrate(leaves, state_at=leaves)

    moved = after.get_model("help", "ConsultationRequest").objects.get()
    assert (moved.pk, moved.email) == (request.pk, "ann@example.com")
    from django.contrib.auth.models import Group as RealGroup
    from django.contrib.contenttypes.models import ContentType as RealContentType

    relabelled = RealContentType.objects.get(pk=content_type.pk)
    assert (relabelled.app_label, relabelled.model) == ("help", "consultationrequest")
    assert not RealContentType.objects.filter(app_label="accounts", model__endswith="request")
    support = RealGroup.objects.get(name=SUPPORT_GROUP)
    assert permission.pk in support.permissions.values_list("pk", flat=True)
    assert {"view_consultationrequest", "change_mentoringrequest"} <= set(
        support.permissions.filter(content_type__app_label="help").values_list(
            "codename", flat=True
        )
    )
