"""Demo content and accounts for a local run: `manage.py seed_demo` calls demo_seed().

Idempotent: everything is looked up by a natural key (slug, page, email, video title) and created
only when missing, so a second run changes nothing and creates nothing. Content staff edited
after seeding is left alone. Sample media are copied into the private storage through the storage
API (file system or S3 alike), and copied again only when a stored file has gone missing.

The demo member ("has bought the program") gets their access from `buy` when the command passes
one (demo.purchase.demo_purchase_make: a real paid purchase through the local Stripe stand-in);
otherwise, or when it cannot buy, access is granted directly and a note says why.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from demo import content
from program.course.services import course_seed_default_steps
from program.media.services import video_update_file_info
from program.models import Article, Lesson, PracticeSettings, Program, Unit, Video, WarningSign
from program.services import access_grant

MEDIA_DIR = Path(__file__).resolve().parent / "media"
CAPTIONS_DIR = Path(__file__).resolve().parent / "captions"
SAMPLE_SECONDS = 8  # demo/make_media.sh makes 8-second samples


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things to know, printed on every run

    def add(self, what: str) -> None:
        self.created.append(what)

    def note(self, what: str) -> None:
        self.notes.append(what)


def _stored(field_file) -> bool:
    return bool(field_file) and field_file.storage.exists(field_file.name)


def _copy_sample(field_file, *, source: Path, extension: str, name: str) -> None:
    with source.open("rb") as handle:
        field_file.save(f"{name}.{extension}", File(handle), save=False)


def _lesson_captions(slug: str) -> Path | None:
    """A lesson's own transcript (demo/captions/<lesson slug>.vtt): the samples are
    shared between lessons, their words should not be."""
    path = CAPTIONS_DIR / f"{slug}.vtt"
    return path if path.exists() else None


def _demo_video(
    *, title: str, sample: str, name: str, report: SeedReport, captions: Path | None = None
) -> Video:
    """A Video row with its own copy of the sample's files (so free and paid lessons never share
    a file, and a paid lesson's video is never public because a free lesson uses it). `captions`
    replaces the sample's own captions file."""
    video, created = Video.objects.get_or_create(
        title=title, defaults={"duration_seconds": SAMPLE_SECONDS}
    )
    if created:
        report.add(f"video {title!r}")
    missing = False
    for field_name, extension in (
        ("file", "mp4"),
        ("poster", "jpg"),
        ("captions", "vtt"),
        ("audio", "m4a"),
    ):
        field_file = getattr(video, field_name)
        if not _stored(field_file):
            source = MEDIA_DIR / f"{sample}.{extension}"
            if field_name == "captions" and captions is not None:
                source = captions
            _copy_sample(field_file, source=source, extension=extension, name=name)
            missing = True
    if missing:
        video.save()
        video_update_file_info(video=video)
    return video


def _program(report: SeedReport) -> Program:
    data = dict(content.PROGRAM)
    program, created = Program.objects.get_or_create(
        slug=data.pop("slug"), defaults={**data, "published": True}
    )
    if created:
        report.add(f"program {program.title!r}")
    for position, unit_data in enumerate(content.UNITS, start=1):
        unit_data = dict(unit_data)
        lessons = unit_data.pop("lessons")
        unit, created = Unit.objects.get_or_create(
            program=program,
            slug=unit_data.pop("slug"),
            defaults={**unit_data, "position": position},
        )
        if created:
            report.add(f"unit {unit.title!r}")
        for lesson_position, lesson_data in enumerate(lessons, start=1):
            lesson_data = dict(lesson_data)
            sample = lesson_data.pop("sample")
            slug = lesson_data.pop("slug")
            lesson, created = Lesson.objects.get_or_create(
                unit=unit,
                slug=slug,
                defaults={
                    **lesson_data,
                    "position": lesson_position,
                    "is_gentle": slug in content.GENTLE_LESSONS,
                },
            )
            if created:
                report.add(f"lesson {lesson.title!r}")
            title = f"{unit_data['title']} - {lesson_data['title']}"
            name = f"demo-{unit.slug}-{lesson.slug}"
            media = {
                "title": title,
                "sample": sample,
                "name": name,
                "report": report,
                "captions": _lesson_captions(lesson.slug),
            }
            if lesson.video_id is None:
                lesson.video = _demo_video(**media)
                lesson.save(update_fields=["video", "updated_at"])
            elif lesson.video.title == title:  # still the demo video: restore missing files
                _demo_video(**media)
    return program


def _safety(program: Program, report: SeedReport) -> None:
    """The practitioner's safety check, so the local run shows it: a pain threshold, warning
    signs and gentle lessons. Only what is missing is added: a sign or threshold staff changed
    stays as they left it, and gentle lessons are marked only while none is."""
    row, created = PracticeSettings.objects.get_or_create(
        program=program, defaults={"pain_threshold": content.PAIN_THRESHOLD}
    )
    if created:
        report.add(f"safety check: pain threshold {row.pain_threshold}")
    if not row.warning_signs.exists():
        WarningSign.objects.bulk_create(
            WarningSign(practice_settings=row, position=position, text=text)
            for position, text in enumerate(content.WARNING_SIGNS, start=1)
        )
        report.add(f"{len(content.WARNING_SIGNS)} warning signs")
    lessons = Lesson.objects.filter(unit__program=program)
    if lessons.filter(is_gentle=True).exists():
        return
    marked = lessons.filter(slug__in=content.GENTLE_LESSONS).update(
        is_gentle=True, updated_at=timezone.now()
    )
    if marked:
        report.add(f"{marked} lessons marked gentle")


def _articles(report: SeedReport) -> None:
    for data in content.ARTICLES:
        data = dict(data)
        sample = data.pop("video_sample", None)
        article, created = Article.objects.get_or_create(
            page=data.pop("page"), defaults={**data, "published": True}
        )
        if created:
            report.add(f"article {article.title!r}")
        if not sample:
            continue
        title = f"Article - {data['title']}"
        name = f"demo-{article.slug}"
        if article.video_id is None:
            article.video = _demo_video(title=title, sample=sample, name=name, report=report)
            article.save(update_fields=["video", "updated_at"])
        elif article.video.title == title:
            _demo_video(title=title, sample=sample, name=name, report=report)


def _account(*, email: str, name: str, staff: bool, password: str, report: SeedReport):
    User = get_user_model()
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(email=email, password=password, name=name)
        report.add(f"account {email}")
    elif not user.check_password(password):
        # Same command, new DEMO_PASSWORD: the printed logins must work.
        user.set_password(password)
        user.save(update_fields=["password"])
    if staff and not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    address, _ = EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"primary": True, "verified": True}
    )
    if not (address.verified and address.primary):
        address.verified = address.primary = True
        address.save(update_fields=["verified", "primary"])
    return user


@transaction.atomic
def _demo_rows(*, password: str, report: SeedReport) -> tuple[Program, list]:
    """Content and accounts, in one transaction; returns the program and the accounts that
    should have bought it."""
    program = _program(report)
    _safety(program, report)
    _articles(report)
    steps = course_seed_default_steps()
    if steps:
        report.add(f"{steps} email course steps")
    buyers = []
    for account in content.ACCOUNTS:
        user = _account(
            email=account["email"],
            name=account["name"],
            staff=account["staff"],
            password=password,
            report=report,
        )
        if account.get("access"):
            buyers.append(user)
    return program, buyers


def _buyer_access(*, user, program: Program, buy: Callable | None, report: SeedReport) -> None:
    """A real purchase through `buy` when it can make one; otherwise access granted directly."""
    outcome = buy(user=user, program=program) if buy is not None else None
    if outcome is not None and outcome.purchase is not None:
        if outcome.created:
            report.add(outcome.message)
        elif outcome.message:
            report.note(outcome.message)
        return
    _, changed = access_grant(
        user=user,
        program=program,
        source="purchase",
        reason="demo content: bought the program",
    )
    if changed:
        report.add(f"access for {user.email}")
    why = outcome.message if outcome is not None else "nothing to buy through"
    report.note(f"{user.email} has access without a purchase record: {why}")


def demo_seed(*, password: str, buy: Callable | None = None) -> SeedReport:
    """Create the demo program, its pages and the demo accounts when they are missing.

    `buy(user=, program=)` may give the demo member a real purchase (see the module's
    docstring); it runs after the content is committed, since it talks to Stripe's stand-in."""
    if not password:
        raise ValueError("A demo password is required.")
    report = SeedReport()
    program, buyers = _demo_rows(password=password, report=report)
    for user in buyers:
        _buyer_access(user=user, program=program, buy=buy, report=report)
    return report
