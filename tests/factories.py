"""Plain factory functions for tests (no factory library), wrapped by fixtures in conftest.py."""

import itertools

from allauth.account.models import EmailAddress

from accounts.models import User
from program.models import Article, Lesson, Program, Unit

_seq = itertools.count(1)
PASSWORD = "a-long-test-password-9"


def user_factory(*, email: str | None = None, email_verified: bool = True, **extra) -> User:
    email = email or f"person{next(_seq)}@example.com"
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user


def program_factory(*, units: int = 4, lessons_per_unit: int = 2, **extra) -> Program:
    n = next(_seq)
    defaults = {
        "title": f"Program {n}",
        "slug": f"program-{n}",
        "price_cents": 9700,
        "currency": "usd",
        "published": True,
    }
    defaults.update(extra)
    program = Program.objects.create(**defaults)
    for u in range(1, units + 1):
        unit = Unit.objects.create(
            program=program,
            position=u,
            title=f"Unit {u}",
            slug=f"unit-{u}",
            summary=f"What unit {u} is about.",
            expected_result=f"Result of unit {u}.",
            is_free=(u == 1),
        )
        for p in range(1, lessons_per_unit + 1):
            Lesson.objects.create(
                unit=unit,
                position=p,
                title=f"Lesson {u}.{p}",
                slug=f"lesson-{p}",
                instructions=f"Do movement {u}.{p} **slowly**.",
            )
    return program


def article_factory(**extra) -> Article:
    n = next(_seq)
    defaults = {
        "title": f"Article {n}",
        "slug": f"article-{n}",
        "body": "Some **text**.",
        "published": True,
    }
    defaults.update(extra)
    return Article.objects.create(**defaults)


def comment_factory(*, target=None, author=None, status: str = "approved", parent=None, **extra):
    """A comment stored directly (test set-up); posting rules live in comments.services."""
    from comments.models import Comment
    from comments.services import thread_size_refresh

    if parent is not None:
        target = parent.target
    target = target or article_factory()
    defaults = {
        "author": author or user_factory(),
        "body": f"Comment {next(_seq)}",
        "status": status,
        "parent": parent,
        "article": target if isinstance(target, Article) else None,
        "lesson": target if isinstance(target, Lesson) else None,
    }
    defaults.update(extra)
    comment = Comment.objects.create(**defaults)
    # As comments.services does after every change to what a thread shows.
    # The caller's instance too, as a page reading it afresh would see it.
    target.thread_size = thread_size_refresh(
        lesson_id=comment.lesson_id, article_id=comment.article_id
    )
    return comment


# ------------------------------------------------------------------------------
# Email course, consultation and mentoring
# ------------------------------------------------------------------------------
def course_steps_factory(*, unit: Unit, delays: tuple[int, ...] = (0, 2, 4)) -> list:
    """One published step per lesson of `unit` (in order), sent `delays` days after confirming."""
    from program.models import CourseStep

    lessons = list(unit.lessons.order_by("position", "id"))
    return [
        CourseStep.objects.create(
            position=index + 1,
            subject=f"Day {delay + 1}: {lesson.title}",
            body=f"Today: **{lesson.title}**. Move slowly.",
            delay_days=delay,
            lesson=lesson,
        )
        for index, (lesson, delay) in enumerate(zip(lessons, delays, strict=False))
    ]


def subscriber_factory(*, email: str | None = None, first_name: str = "Ann", **extra):
    from django.utils import timezone

    from program.course.services import CONSENT_TEXT
    from program.models import Subscriber

    defaults = {
        "first_name": first_name,
        "email": email or f"subscriber{next(_seq)}@example.com",
        "consent_text": CONSENT_TEXT,
        "consented_at": timezone.now(),
    }
    defaults.update(extra)
    return Subscriber.objects.create(**defaults)


def consultation_request_factory(**extra):
    from help.models import ConsultationRequest

    defaults = {
        "name": "Ann Walker",
        "email": f"patient{next(_seq)}@example.com",
        "pain_areas": ["si-left", "hip"],
        "how_started": "After a fall on ice.",
        "symptoms": "A deep ache on the left when I stand up.",
        "goals": "Walk the dog again.",
    }
    defaults.update(extra)
    return ConsultationRequest.objects.create(**defaults)


def video_factory(
    *,
    title: str | None = None,
    content: bytes | None = None,
    source=None,
    poster: bool = True,
    captions: bool | str = True,
    audio: bool = False,
    **extra,
):
    """A Video whose files are stored in the private (test) storage.

    `source` is a real media file to store (e.g. one made with ffmpeg); otherwise `content` or
    distinct made-up bytes. `captions` is True for a one-cue WebVTT, a string for that WebVTT,
    or False for none."""
    import io
    from pathlib import Path

    from django.core.files.base import ContentFile, File
    from PIL import Image

    from program.media.services import video_update_file_info
    from program.models import Video

    n = next(_seq)
    defaults = {"title": title or f"Video {n}", "duration_seconds": 8}
    defaults.update(extra)
    video = Video(**defaults)
    if source is not None:
        source = Path(source)
        with source.open("rb") as handle:
            video.file.save(f"sample-{n}{source.suffix}", File(handle), save=False)
    else:
        if content is None:
            content = f"video {n} ".encode() + bytes(range(256)) * 40
        video.file.save(f"video-{n}.mp4", ContentFile(content), save=False)
    if poster:
        image = io.BytesIO()
        Image.new("RGB", (16, 9), (n % 256, 120, 160)).save(image, "JPEG")
        video.poster.save(f"poster-{n}.jpg", ContentFile(image.getvalue()), save=False)
    if captions:
        vtt = (
            captions
            if isinstance(captions, str)
            else f"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nCaptions of video {n}.\n"
        )
        video.captions.save(f"captions-{n}.vtt", ContentFile(vtt.encode()), save=False)
    if audio:
        video.audio.save(f"audio-{n}.m4a", ContentFile(f"audio {n} ".encode() * 300), save=False)
    video.save()
    return video_update_file_info(video=video)


def purchase_factory(*, user, program, status: str = "pending", **extra):
    """A purchase row as billing.services would leave it (tests of pages and admin)."""
    from django.utils import timezone

    from billing.models import Purchase

    n = next(_seq)
    defaults = {
        "amount_cents": program.price_cents,
        "currency": program.currency,
        "status": status,
        "stripe_checkout_session_id": f"cs_test_factory{n}",
    }
    if status == "paid":
        defaults.update(paid_at=timezone.now(), stripe_payment_intent_id=f"pi_factory{n}")
    defaults.update(extra)
    return Purchase.objects.create(user=user, program=program, **defaults)


# --- practice tools (journal, sample media) -------------------------------------------------


def journal_entry_factory(
    *, user, program, side: str = "left", pain: int | None = None, note: str = "", created_at=None
):
    """A journal entry written directly (the service merges entries of one session)."""
    from program.models import JournalEntry

    entry = JournalEntry.objects.create(user=user, program=program, side=side, pain=pain, note=note)
    if created_at is not None:
        JournalEntry.objects.filter(pk=entry.pk).update(created_at=created_at)
        entry.refresh_from_db()
    return entry


def make_sample_video(path, *, seconds: int = 2, audio: bool = True, size: str = "160x120"):
    """A real, tiny H.264/AAC mp4 made with ffmpeg (test pattern and a sine tone)."""
    import subprocess

    command = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    command += ["-f", "lavfi", "-i", f"testsrc=size={size}:rate=10:duration={seconds}"]
    if audio:
        command += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    command += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    command += ["-c:a", "aac", "-b:a", "64k"] if audio else ["-an"]
    command += ["-shortest", "-movflags", "+faststart", str(path)]
    subprocess.run(command, check=True, timeout=60)
    return path


# --- refunds ----------------------------------------------------------------------------------
def refund_request_factory(*, purchase, status: str = "requested", reason: str = "", **extra):
    """A refund request row as billing.refund_services would leave it (pages, admin, counts)."""
    from billing.models import RefundRequest

    return RefundRequest.objects.create(
        purchase=purchase, user=purchase.user, status=status, reason=reason, **extra
    )


# --- members (staff tools) ------------------------------------------------------------------


def members_bulk_factory(*, count: int, program, prefix: str | None = None) -> int:
    """`count` members with a mix of statuses, by bulk inserts (see members.seeding)."""
    from members.seeding import members_seed

    return members_seed(count=count, program=program, prefix=prefix or f"bulk{next(_seq)}-")


def refund_row_factory(*, purchase, status: str = "succeeded", source: str = "site", **extra):
    """A Refund row as billing's refund services leave it (tests of staff pages and figures)."""
    from billing.models import Refund

    defaults = {
        "amount_cents": purchase.amount_cents,
        "currency": purchase.currency,
        "stripe_refund_id": f"re_factory{next(_seq)}",
    }
    defaults.update(extra)
    return Refund.objects.create(purchase=purchase, status=status, source=source, **defaults)


def dispute_row_factory(*, purchase, status: str = "needs_response", outcome: str = "", **extra):
    from billing.models import Dispute

    defaults = {
        "amount_cents": purchase.amount_cents,
        "currency": purchase.currency,
        "stripe_dispute_id": f"dp_factory{next(_seq)}",
    }
    defaults.update(extra)
    return Dispute.objects.create(purchase=purchase, status=status, outcome=outcome, **defaults)
