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


def video_factory(*, source=None, captions: str | None = None, **extra):
    """A Video whose file (and optional WebVTT captions) are saved to the private storage."""
    from pathlib import Path

    from django.core.files.base import ContentFile, File

    from program.models import Video

    n = next(_seq)
    defaults = {"title": f"Video {n}", "duration_seconds": 2, "content_type": "video/mp4"}
    defaults.update(extra)
    video = Video(**defaults)
    if source is not None:
        source = Path(source)
        with source.open("rb") as handle:
            video.file.save(f"sample-{n}{source.suffix}", File(handle), save=False)
    else:
        video.file.save(f"sample-{n}.mp4", ContentFile(b"not really a video"), save=False)
    if captions is not None:
        video.captions.save(f"captions-{n}.vtt", ContentFile(captions.encode()), save=False)
    video.save()
    return video
