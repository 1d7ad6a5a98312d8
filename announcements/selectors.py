"""Reads for announcements: who an audience is, and each announcement's progress."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from announcements.models import (
    Announcement,
    AnnouncementOptOut,
    AnnouncementRecipient,
    normalise_email,
)
from program.models import Access, Subscriber


@dataclass(frozen=True)
class Person:
    email: str  # normalised
    user_id: int | None
    subscriber_id: int | None


def audience_people(*, audience: str) -> list[Person]:
    """Everyone `audience` reaches, once per normalised address, without those who opted out of
    announcements (members: active access; subscribers: confirmed, so not unsubscribed)."""
    found: dict[str, Person] = {}
    if audience in (Announcement.Audience.MEMBERS, Announcement.Audience.BOTH):
        members = (
            Access.objects.active()
            .filter(user__is_active=True)
            .exclude(user__email="")
            .values_list("user_id", "user__email")
            .order_by("user_id")
        )
        for user_id, email in members:
            key = normalise_email(email)
            found.setdefault(key, Person(key, user_id, None))
    if audience in (Announcement.Audience.SUBSCRIBERS, Announcement.Audience.BOTH):
        subscribers = Subscriber.objects.confirmed().values_list("pk", "email").order_by("pk")
        for subscriber_id, email in subscribers:
            key = normalise_email(email)
            person = found.get(key)
            found[key] = Person(key, person.user_id if person else None, subscriber_id)
    opted_out = set(
        AnnouncementOptOut.objects.filter(email__in=list(found)).values_list("email", flat=True)
    )
    return [person for key, person in found.items() if key not in opted_out]


def audience_count(*, audience: str) -> int:
    return len(audience_people(audience=audience))


_S = AnnouncementRecipient.Status


def with_progress(queryset: QuerySet[Announcement]) -> QuerySet[Announcement]:
    """Each announcement with its counts per recipient status (one query for a whole list)."""
    return queryset.annotate(
        n_total=Count("recipients"),
        n_sent=Count("recipients", filter=Q(recipients__status=_S.SENT)),
        n_failed=Count("recipients", filter=Q(recipients__status=_S.FAILED)),
        n_skipped=Count("recipients", filter=Q(recipients__status=_S.SKIPPED)),
        n_unconfirmed=Count("recipients", filter=Q(recipients__status=_S.SENDING)),
    )


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    skipped: int
    unconfirmed: int

    @property
    def text(self) -> str:
        parts = [f"{self.sent} of {self.total} sent"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (unsubscribed)")
        if self.unconfirmed:
            parts.append(f"{self.unconfirmed} being sent or not confirmed")
        return ", ".join(parts)


def announcement_progress(announcement: Announcement) -> Progress:
    """From the annotations of with_progress when present, else one query."""
    if not hasattr(announcement, "n_total"):
        announcement = with_progress(Announcement.objects.filter(pk=announcement.pk)).get()
    return Progress(
        total=announcement.n_total,  # type: ignore[attr-defined]
        sent=announcement.n_sent,  # type: ignore[attr-defined]
        failed=announcement.n_failed,  # type: ignore[attr-defined]
        skipped=announcement.n_skipped,  # type: ignore[attr-defined]
        unconfirmed=announcement.n_unconfirmed,  # type: ignore[attr-defined]
    )
