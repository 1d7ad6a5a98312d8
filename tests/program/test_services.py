import pytest

from program.models import AccessEvent
from program.selectors import user_has_access
from program.services import access_grant, access_revoke

pytestmark = pytest.mark.django_db


def test_grant_is_idempotent_and_recorded(program, member, staff_user):
    access, changed = access_grant(
        user=member, program=program, source="complimentary", reason="friend", actor=staff_user
    )
    again, changed_again = access_grant(
        user=member, program=program, source="complimentary", reason="friend", actor=staff_user
    )
    assert changed is True and changed_again is False
    assert access.pk == again.pk
    assert list(AccessEvent.objects.values_list("action", "actor__email", "reason")) == [
        ("grant", "staff@example.com", "friend")
    ]
    assert user_has_access(user=member, program=program)


def test_revoke_then_grant_restores_with_history(program, member):
    access_grant(user=member, program=program, source="purchase", reason="paid")
    assert access_revoke(user=member, program=program, source="refund", reason="refunded") is True
    assert not user_has_access(user=member, program=program)
    assert access_revoke(user=member, program=program, source="refund", reason="again") is False
    access_grant(user=member, program=program, source="purchase", reason="bought again")
    assert user_has_access(user=member, program=program)
    actions = list(AccessEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["grant", "revoke", "restore"]
