"""Writes for the progress report: the links a member shares with a clinician, and their views.

Nothing is shared unless the member makes a link. A link carries a secret the member sees once;
only its hash is stored, so a copy of the database does not open anyone's report.
"""

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from program.models import JournalEntry, Program, ReportShare, ReportShareView
from program.practice.report_selectors import (
    MAX_NOTES,
    SHARE_MAX_DAYS,
    ReportPeriod,
    live_share,
    notes_error,
    period_errors,
    token_hash,
)


@dataclass(frozen=True)
class NewShare:
    share: ReportShare
    token: str  # shown to the member once; never stored


@transaction.atomic
def report_share_create(
    *,
    user,
    program: Program,
    period: ReportPeriod,
    note_ids: list[int] | tuple[int, ...] = (),
    expires_in_days: int = SHARE_MAX_DAYS,
) -> NewShare:
    """Make a link that shows this one report until it expires (at most SHARE_MAX_DAYS).

    Only the member's own notes written in the period are kept among `note_ids`; anything else
    is dropped, so a forged id cannot put another member's note into a report.
    """
    if problems := period_errors(period):
        raise ValidationError(problems)
    if not 1 <= expires_in_days <= SHARE_MAX_DAYS:
        raise ValidationError({"expires_in_days": f"Choose between 1 and {SHARE_MAX_DAYS} days."})
    if len(set(note_ids)) > MAX_NOTES:
        raise ValidationError({"note": f"Choose at most {MAX_NOTES} notes."})
    since, until = period.bounds()
    kept = sorted(
        JournalEntry.objects.filter(
            user=user,
            program=program,
            pk__in=set(note_ids),
            created_at__gte=since,
            created_at__lt=until,
        )
        .exclude(note="")
        .values_list("pk", "note")
    )
    if problem := notes_error(note for _, note in kept):
        raise ValidationError({"note": problem})
    token = secrets.token_urlsafe(32)
    share = ReportShare(
        user=user,
        program=program,
        token_hash=token_hash(token),
        period_start=period.start,
        period_end=period.end,
        note_ids=[pk for pk, _ in kept],
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
    )
    share.full_clean()
    share.save()
    return NewShare(share=share, token=token)


@transaction.atomic
def report_share_revoke(*, user, share_id: int) -> bool:
    """Withdraw one of the member's links now. False when there is no such link of theirs;
    revoking twice keeps the first time."""
    share = ReportShare.objects.select_for_update().filter(user=user, pk=share_id).first()
    if share is None:
        return False
    if share.withdrawn_at is None:
        share.withdrawn_at = timezone.now()
        share.save(update_fields=["withdrawn_at"])
    return True


@transaction.atomic
def report_share_open(*, token: str, as_pdf: bool = False) -> ReportShare | None:
    """The share behind a link, recording that it was opened; None when the link is unknown,
    revoked or expired (nothing is recorded then)."""
    share = live_share(token=token)
    if share is not None:
        ReportShareView.objects.create(share=share, as_pdf=as_pdf)
    return share
