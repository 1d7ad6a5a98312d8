"""Writes for the program app. Access changes only through these functions."""

from django.db import transaction
from django.utils import timezone

from program.models import Access, AccessEvent, Program


@transaction.atomic
def access_grant(
    *,
    user,
    program: Program,
    source: str,
    reason: str,
    actor=None,
    actor_label: str = "",
) -> tuple[Access, bool]:
    """Give `user` lifetime access to `program`.

    Idempotent: when access is already active nothing changes and (access, False) is returned, so
    a repeated webhook or a reloaded success page cannot grant twice. A revoked access is restored
    (a new purchase after a refund, a staff grant, or a dispute won). Every change adds an
    AccessEvent saying who or what did it and why.
    """
    now = timezone.now()
    access, created = Access.objects.select_for_update().get_or_create(
        user=user, program=program, defaults={"source": source, "granted_at": now}
    )
    if not created:
        if access.is_active:
            return access, False
        access.source = source
        access.granted_at = now
        access.revoked_at = None
        access.save(update_fields=["source", "granted_at", "revoked_at", "updated_at"])
    AccessEvent.objects.create(
        access=access,
        action=AccessEvent.Action.GRANT if created else AccessEvent.Action.RESTORE,
        source=source,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
    )
    return access, True


@transaction.atomic
def access_revoke(
    *,
    user,
    program: Program,
    source: str,
    reason: str,
    actor=None,
    actor_label: str = "",
) -> bool:
    """End `user`'s access to `program`. Returns False when there was no active access.

    Unit 1, the account and the journal are untouched: only paid units close.
    """
    access = Access.objects.select_for_update().filter(user=user, program=program).first()
    if access is None or not access.is_active:
        return False
    access.revoked_at = timezone.now()
    access.save(update_fields=["revoked_at", "updated_at"])
    AccessEvent.objects.create(
        access=access,
        action=AccessEvent.Action.REVOKE,
        source=source,
        actor=actor,
        actor_label=actor_label,
        reason=reason,
    )
    return True
