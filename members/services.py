"""Writes staff make from a member's page (each records the staff member who did it), and the
record of a confirmed email address."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from billing.models import Purchase
from members.models import EmailVerification, StaffAction, StaffNote
from program.models import Program
from program.services import access_grant, access_revoke


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: the reason is recorded with your name."})
    return reason


@transaction.atomic
def staff_note_create(*, member, author, text: str) -> StaffNote:
    """A private note on a member. Notes are never edited or deleted (append-only)."""
    note = StaffNote(member=member, author=author, text=(text or "").strip())
    note.full_clean()
    note.save()
    return note


@transaction.atomic
def member_access_grant(*, member, program: Program, reason: str, staff) -> StaffAction:
    """Give complimentary lifetime access. When the member already has access nothing changes,
    and the action is recorded as such."""
    reason = _require_reason(reason)
    _, changed = access_grant(
        user=member,
        program=program,
        source="complimentary",
        reason=reason,
        actor=staff,
    )
    return StaffAction.objects.create(
        member=member,
        actor=staff,
        kind=StaffAction.Kind.GRANT,
        program=program,
        reason=reason,
        changed=changed,
    )


@transaction.atomic
def member_access_revoke(*, member, program: Program, reason: str, staff) -> StaffAction:
    """End access to a program (Unit 1, the account and the journal stay)."""
    reason = _require_reason(reason)
    changed = access_revoke(
        user=member, program=program, source="staff", reason=reason, actor=staff
    )
    return StaffAction.objects.create(
        member=member,
        actor=staff,
        kind=StaffAction.Kind.REVOKE,
        program=program,
        reason=reason,
        changed=changed,
    )


def member_receipt_resend(*, member, purchase: Purchase, staff) -> StaffAction:
    """Queue the receipt of a paid purchase again (billing's receipt task with resend=True)."""
    from billing.tasks import purchase_receipt_send

    if purchase.user_id != member.pk or purchase.status != Purchase.Status.PAID:
        raise ValidationError({"purchase": "Only a paid purchase of this member has a receipt."})
    with transaction.atomic():
        action = StaffAction.objects.create(
            member=member,
            actor=staff,
            kind=StaffAction.Kind.RECEIPT_RESEND,
            purchase=purchase,
            program_id=purchase.program_id,
        )
        transaction.on_commit(
            lambda: purchase_receipt_send.enqueue(purchase_id=purchase.pk, resend=True)
        )
    return action


def member_password_reset_send(*, member, staff, absolute_url: Callable[[str], str]) -> StaffAction:
    """Send allauth's own password-reset email to the member's address (the member chooses the
    new password; staff never see or set it).

    The link is allauth's, with allauth's token; `absolute_url` turns its path into the address
    the email carries (the view passes request.build_absolute_uri, so the link names the host
    staff are on)."""
    from allauth.account.adapter import get_adapter
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    if not (member.is_active and member.email):
        raise ValidationError(
            {"email": "This account cannot get a reset email (inactive or unknown address)."}
        )
    uid = user_pk_to_url_str(member)
    key = default_token_generator.make_token(member)
    path = reverse("account_reset_password_from_key", kwargs={"uidb36": uid, "key": key})
    context = {
        "user": member,
        "email": member.email,
        "password_reset_url": absolute_url(path),
        "uid": uid,
        "key": key,
    }
    get_adapter().render_mail("account/email/password_reset_key", member.email, context).send()
    return StaffAction.objects.create(
        member=member, actor=staff, kind=StaffAction.Kind.PASSWORD_RESET
    )


def email_verification_record(*, member_id: int, email: str, actor=None) -> EmailVerification:
    """Record that `email` was confirmed now (allauth keeps no time); `actor` is the staff member
    who confirmed it for the member, None when the member did."""
    return EmailVerification.objects.create(member_id=member_id, email=email, actor=actor)
