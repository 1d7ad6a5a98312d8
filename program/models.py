from typing import Self

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.urls import reverse

from core.guarded import Guarded
from core.models import TimeStamped
from core.money import money_format
from program.markdown import markdown_to_text, render_markdown


def private_storage():
    """Private media: the file system folder no URL serves, or the private S3 bucket."""
    return storages["private"]


class ProgramQuerySet(models.QuerySet):
    def published(self) -> Self:
        return self.filter(published=True)


class Program(TimeStamped):
    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    summary = models.TextField(blank=True, help_text="One or two sentences shown on the outline.")
    description = models.TextField(blank=True, help_text="Markdown, shown on the program page.")
    price_cents = models.PositiveIntegerField(
        help_text="One-time price in cents, e.g. 9700 = 97.00."
    )
    currency = models.CharField(max_length=3, default="usd", help_text="ISO code, lower case.")
    published = models.BooleanField(default=False, help_text="Only published programs are shown.")

    objects = ProgramQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[a-z]{3}$"), name="program_program_currency_iso"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def price_display(self) -> str:
        return money_format(self.price_cents, self.currency)

    @property
    def description_html(self) -> str:
        return render_markdown(self.description)


class HlsStatus(models.TextChoices):
    NONE = "", "Not made"
    QUEUED = "queued", "Waiting for the worker"
    RUNNING = "running", "Transcoding"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Video(TimeStamped):
    """A media file served only through the access-checking media view."""

    title = models.CharField(max_length=200)
    file = models.FileField(upload_to="videos/", storage=private_storage)
    poster = models.ImageField(upload_to="posters/", blank=True, storage=private_storage)
    captions = models.FileField(
        upload_to="captions/",
        blank=True,
        storage=private_storage,
        help_text="WebVTT (.vtt) captions; shown under the video and as a transcript.",
    )
    audio = models.FileField(
        upload_to="audio/",
        blank=True,
        storage=private_storage,
        help_text="Audio-only version, made automatically from the video when possible.",
    )
    caption_cues = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The captions file parsed for the transcript, updated when the video is saved.",
    )
    duration_seconds = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveBigIntegerField(default=0, editable=False)
    content_type = models.CharField(max_length=100, default="video/mp4")
    # Adaptive streaming (HLS): the worker transcodes the file into a ladder of renditions stored
    # under hls/<video id>/<hls_folder>/ (a random name per transcode, so no path is guessable
    # and a new ladder replaces the old one in one row update). The MP4 plays until it is ready.
    hls_status = models.CharField(
        "streaming versions",
        max_length=10,
        choices=HlsStatus.choices,
        default=HlsStatus.NONE,
        blank=True,
        editable=False,
        help_text="The adaptive-streaming versions (HLS) made from the video file by the worker.",
    )
    hls_progress = models.PositiveSmallIntegerField(
        default=0, editable=False, help_text="Percent of the transcode done, as ffmpeg reports it."
    )
    hls_error = models.TextField(
        blank=True, editable=False, help_text="Why the last transcode failed (ffmpeg's words)."
    )
    hls_source = models.CharField(
        max_length=255,
        blank=True,
        editable=False,
        help_text="The video file the streaming versions were (or are being) made from.",
    )
    hls_folder = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Random folder name of the current streaming versions in private storage.",
    )
    hls_renditions = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="The renditions of the current streaming versions: name, height, bandwidth, bytes.",
    )

    def __str__(self) -> str:
        return self.title

    @property
    def hls_ready(self) -> bool:
        """Streaming versions made from the current file exist (else the MP4 plays)."""
        return bool(
            self.hls_status == HlsStatus.READY
            and self.hls_folder
            and self.file
            and self.hls_source == self.file.name
        )


class Unit(TimeStamped):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="units")
    position = models.PositiveIntegerField(default=0, help_text="Units are shown in this order.")
    title = models.CharField(max_length=200)
    slug = models.SlugField()
    summary = models.TextField(blank=True)
    expected_result = models.TextField(
        blank=True, help_text="What the member can expect after practising this unit."
    )
    is_free = models.BooleanField(default=False, help_text="Free units are open to everyone.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "slug"], name="program_unit_unique_slug")
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(TimeStamped):
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveIntegerField(default=0, help_text="Lessons are shown in this order.")
    title = models.CharField(max_length=200)
    slug = models.SlugField()
    instructions = models.TextField(blank=True, help_text="Markdown: how to do the movement.")
    duration_seconds = models.PositiveIntegerField(default=0)
    uses_working_side = models.BooleanField(
        default=False,
        help_text="Done on one side: the page names the side to work today from the journal.",
    )
    video = models.ForeignKey(
        Video, on_delete=models.SET_NULL, null=True, blank=True, related_name="lessons"
    )
    is_gentle = models.BooleanField(
        default=False,
        help_text="Gentle enough for a day of high pain: offered on the Today page when a "
        "member's pain is at or above the program's threshold.",
    )
    thread_size = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Questions shown under it to everyone (approved, or removed with an approved "
        "answer). Kept up to date by the comments app, so pages need not count them.",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "slug"], name="program_lesson_unique_slug")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def instructions_html(self) -> str:
        return render_markdown(self.instructions)


class ArticleQuerySet(models.QuerySet):
    def published(self) -> Self:
        return self.filter(published=True)


class Article(TimeStamped):
    class Page(models.TextChoices):
        HOME = "home", "Home (main article)"
        SYMPTOMS = "symptoms", "Symptoms"
        SELF_CHECK = "self-check", "Self-assessment"
        PRACTITIONER = "practitioner", "Practitioner and contact"
        GUARANTEE = "guarantee", "Guarantee"
        PRIVACY = "privacy", "Privacy"
        MENTORING = "mentoring", "Mentoring"

    title = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    summary = models.TextField(blank=True, help_text="Shown in lists and search results.")
    body = models.TextField(help_text="Markdown. Use ## headings to group sections.")
    page = models.CharField(
        max_length=20,
        choices=Page.choices,
        blank=True,
        help_text="Which fixed page of the site shows this article (leave empty for a normal article).",
    )
    video = models.ForeignKey(
        Video,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="articles",
        help_text="A public video shown with the article (e.g. the self-assessment).",
    )
    published = models.BooleanField(default=False)
    thread_size = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Questions shown under it to everyone (approved, or removed with an approved "
        "answer). Kept up to date by the comments app, so pages need not count them.",
    )

    objects = ArticleQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["page"], condition=~Q(page=""), name="program_article_unique_page"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        """A fixed page's article has one address, the page's own short URL (/guarantee/);
        program:article redirects there permanently. Other articles live at /articles/<slug>/."""
        name = ARTICLE_PAGE_URL_NAMES.get(self.page)
        return reverse(name) if name else reverse("program:article", args=[self.slug])

    @property
    def body_html(self) -> str:
        return render_markdown(self.body)


# The URL name of each fixed page (Article.get_absolute_url).
ARTICLE_PAGE_URL_NAMES = {
    Article.Page.HOME: "home",
    Article.Page.SYMPTOMS: "program:symptoms",
    Article.Page.SELF_CHECK: "program:self-check",
    Article.Page.PRACTITIONER: "program:practitioner",
    Article.Page.GUARANTEE: "program:guarantee",
    Article.Page.PRIVACY: "program:privacy",
    Article.Page.MENTORING: "accounts:mentoring",
}


class AccessQuerySet(models.QuerySet):
    def active(self) -> Self:
        return self.filter(revoked_at__isnull=True)


class Access(TimeStamped):
    """A member's lifetime access to a program. Active while revoked_at is empty."""

    class Source(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        COMPLIMENTARY = "complimentary", "Complimentary"
        GIFT = "gift", "Gift"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accesses"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="accesses")
    source = models.CharField(max_length=20, choices=Source.choices)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AccessQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "accesses"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "program"], name="program_access_unique_user_program"
            )
        ]

    def __str__(self) -> str:
        state = "active" if self.is_active else "revoked"
        return f"{self.user} - {self.program} ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccessEvent(Guarded):
    """Append-only record of every change of access: who or what, when and why."""

    append_only = True
    redactable_fields = ("reason",)

    class Action(models.TextChoices):
        GRANT = "grant", "Granted"
        REVOKE = "revoke", "Revoked"
        RESTORE = "restore", "Restored"

    access = models.ForeignKey(Access, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(
        max_length=30,
        help_text="What caused it: purchase, complimentary, staff, refund, dispute...",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="access_actions",
        help_text="The staff member who did it, when a person did.",
    )
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="The system that did it, e.g. 'Stripe event evt_...'."
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.access} ({self.source})"


# ------------------------------------------------------------------------------
# The "Getting started for free" email course (double opt-in, drip steps)
# ------------------------------------------------------------------------------
class SubscriberQuerySet(models.QuerySet):
    def confirmed(self):
        return self.filter(status=Subscriber.Status.CONFIRMED)

    def for_email(self, email: str):
        return self.filter(email__iexact=(email or "").strip())


class Subscriber(TimeStamped):
    """A person who asked for the free email course. Nothing but the confirmation email is sent
    until they confirm (double opt-in)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        CONFIRMED = "confirmed", "Confirmed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    first_name = models.CharField(max_length=100)
    email = models.EmailField(help_text="Unique whatever the letter case.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    consent_text = models.TextField(help_text="The exact consent wording the person agreed to.")
    consented_at = models.DateTimeField(help_text="When they last submitted the sign-up form.")
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="course_subscriptions",
        help_text="The account with the same verified email, once there is one.",
    )

    objects = SubscriberQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("email"), name="program_subscriber_unique_email_ci"
            )
        ]

    def __str__(self) -> str:
        return f"{self.first_name} <{self.email}> ({self.get_status_display()})"


class CourseStepQuerySet(models.QuerySet):
    def published(self):
        return self.filter(published=True)


class CourseStep(TimeStamped):
    """One email of the course, sent `delay_days` after the person confirms."""

    position = models.PositiveIntegerField(default=0, help_text="Steps are sent in this order.")
    subject = models.CharField(max_length=200, help_text="The email's subject line.")
    body = models.TextField(
        help_text="Markdown. Keep it short; the email adds the greeting, the lesson link and the "
        "unsubscribe link."
    )
    delay_days = models.PositiveIntegerField(
        default=0, help_text="Days after confirmation (0 = right away)."
    )
    lesson = models.ForeignKey(
        Lesson,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="course_steps",
        help_text="The lesson this email links to.",
    )
    published = models.BooleanField(
        default=True,
        help_text="Unpublished steps are not sent (also to people already on the course). "
        "Unpublish rather than delete, to keep the sending history.",
    )

    objects = CourseStepQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "email course step"

    def __str__(self) -> str:
        return f"{self.position}. {self.subject}"

    @property
    def body_html(self) -> str:
        return render_markdown(self.body)

    @property
    def body_text(self) -> str:
        return markdown_to_text(self.body)


class CourseDelivery(TimeStamped):
    """One step for one subscriber: queued at confirmation, sent at most once."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="deliveries")
    step = models.ForeignKey(CourseStep, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(help_text="When the step is due to be sent.")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    sent_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(
        max_length=64, blank=True, help_text="The background task of the latest attempt."
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name_plural = "course deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "step"], name="program_coursedelivery_unique_subscriber_step"
            )
        ]

    def __str__(self) -> str:
        return f"{self.step} to {self.subscriber.email} ({self.get_status_display()})"


# ------------------------------------------------------------------------------
# Practice tools: self-assessment journal, lesson state, practice log, safety note
# ------------------------------------------------------------------------------


class JournalEntry(models.Model):
    """A self-assessment before a practice session: health data, seen only by its member and staff.

    One entry per session: a second assessment within a session replaces the first (see
    program.practice.services.journal_entry_create). The latest entry sets the working side.
    """

    class Side(models.TextChoices):
        LEFT = "left", "Left"
        RIGHT = "right", "Right"
        UNSURE = "unsure", "I can't tell"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journal_entries"
    )
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="journal_entries")
    side = models.CharField(
        max_length=10, choices=Side.choices, help_text="Which side felt deeper (more stuck)."
    )
    pain = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Pain at the time, 0 (none) to 10 (worst); optional."
    )
    note = models.TextField(blank=True, help_text="The member's own note (health data).")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "journal entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(pain__isnull=True) | Q(pain__gte=0, pain__lte=10),
                name="program_journalentry_pain_range",
            )
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="program_journal_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} - {self.get_side_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class LessonProgress(models.Model):
    """A member's state for one lesson: practised (any number of times) or skipped for now, and
    where they stopped watching (resume position, shared across devices)."""

    class State(models.TextChoices):
        STARTED = "started", "Started"
        PRACTISED = "practised", "Practised"
        SKIPPED = "skipped", "Skipped, come back later"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="progress")
    state = models.CharField(max_length=10, choices=State.choices, default=State.STARTED)
    times_practised = models.PositiveIntegerField(default=0)
    last_practised_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)
    resume_position_seconds = models.FloatField(
        default=0, help_text="Where the member stopped the video, in seconds."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "lesson progress"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], name="program_lessonprogress_unique_user_lesson"
            ),
            models.CheckConstraint(
                condition=Q(resume_position_seconds__gte=0),
                name="program_lessonprogress_position_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} - {self.lesson} ({self.get_state_display()})"


class PracticeEvent(models.Model):
    """Append-only log: one row each time a member marks a lesson practised."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_events"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="practice_events")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="program_practice_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} practised {self.lesson} ({self.created_at:%Y-%m-%d %H:%M})"


class SafetyAcknowledgement(models.Model):
    """The member read the safety note (stop when a movement hurts; when to see a doctor)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="safety_acknowledgement"
    )
    text_version = models.CharField(
        max_length=20, help_text="Which version of the safety note the member acknowledged."
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} acknowledged safety note {self.text_version}"


# ------------------------------------------------------------------------------
# Progress report shared with a clinician
# ------------------------------------------------------------------------------


class ReportShare(models.Model):
    """A link a member made so a clinician can read one progress report (health data).

    The link shows only the report described here (its period and the journal notes the member
    ticked), until it expires or the member revokes it. Only a hash of its token is stored: the
    member sees the link once, when it is made. Staff see on the member's timeline that a report
    was shared; its contents only through the admin.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_shares"
    )
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="report_shares")
    token_hash = models.CharField(
        max_length=64, unique=True, editable=False, help_text="SHA-256 of the link's secret."
    )
    period_start = models.DateField(help_text="First day of the report's period.")
    period_end = models.DateField(help_text="Last day of the report's period.")
    note_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="Journal entries whose notes the member ticked to include (health data).",
    )
    expires_at = models.DateTimeField(help_text="After this the link answers 'not found'.")
    withdrawn_at = models.DateTimeField(
        null=True, blank=True, help_text="When the member withdrew (revoked) the link."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__lte=models.F("period_end")),
                name="program_reportshare_period_in_order",
            )
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="program_reportshare_user_idx")
        ]

    def __str__(self) -> str:
        return f"Report of {self.user} for {self.period_start} to {self.period_end}"


class ReportShareView(models.Model):
    """Append-only: one row each time a shared report link is opened (no address kept)."""

    share = models.ForeignKey(ReportShare, on_delete=models.CASCADE, related_name="views")
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    as_pdf = models.BooleanField(default=False, help_text="The PDF was downloaded.")

    def __str__(self) -> str:
        return f"{self.share} opened {self.viewed_at:%Y-%m-%d %H:%M}"


class OfflineAction(models.Model):
    """A journal entry or a practised/skip mark made with no network, sent later by the member's
    browser with an id it made (a UUID). The id is unique per member, so a queue sent twice (a
    retry after a lost answer, two tabs coming back online) records the action once."""

    class Kind(models.TextChoices):
        JOURNAL = "journal", "Journal entry"
        PRACTISED = "practised", "Marked practised"
        SKIP = "skip", "Skipped, come back later"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="offline_actions"
    )
    client_id = models.UUIDField(help_text="The id the member's browser gave the action.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    lesson = models.ForeignKey(
        Lesson, null=True, blank=True, on_delete=models.CASCADE, related_name="offline_actions"
    )
    recorded_offline_at = models.DateTimeField(
        null=True, blank=True, help_text="When the member did it, by their device's clock."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_id"], name="program_offlineaction_unique_client_id"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.client_id})"


# ------------------------------------------------------------------------------
# Today: the practitioner's safety check, reminders, comfort and calendar preferences
# ------------------------------------------------------------------------------


class PracticeSettings(TimeStamped):
    """The practitioner's settings for a program's daily practice (one row per program)."""

    program = models.OneToOneField(
        Program, on_delete=models.CASCADE, related_name="practice_settings"
    )
    pain_threshold = models.PositiveSmallIntegerField(
        default=7,
        help_text="Pain (0-10) at or above which the warning signs are asked before practice "
        "and the gentler lessons are offered.",
    )

    class Meta:
        verbose_name = "practice settings"
        verbose_name_plural = "practice settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(pain_threshold__lte=10), name="program_practicesettings_threshold_range"
            )
        ]

    def __str__(self) -> str:
        return f"Practice settings: {self.program}"


class WarningSign(models.Model):
    """One warning sign of the safety check, in the practitioner's words."""

    practice_settings = models.ForeignKey(
        PracticeSettings, on_delete=models.CASCADE, related_name="warning_signs"
    )
    position = models.PositiveIntegerField(default=0, help_text="Signs are asked in this order.")
    text = models.CharField(
        max_length=300,
        help_text="As a member reads it, e.g. 'New numbness in the groin or buttocks'.",
    )
    active = models.BooleanField(default=True, help_text="Only active signs are asked.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class SafetyStop(models.Model):
    """A member answered yes to a warning sign and was told to stop and see a clinician.
    Append-only: staff see it on the member's timeline."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="safety_stops"
    )
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="safety_stops")
    signs = models.JSONField(default=list, help_text="The wording of each sign answered yes.")
    pain = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.user} stopped before practice ({self.created_at:%Y-%m-%d %H:%M})"


class PracticePreference(TimeStamped):
    """A member's own choices for daily practice: the safety check, comfort, reminders, calendar."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_preference"
    )
    always_check_safety = models.BooleanField(
        default=False, help_text="Ask the warning signs before every practice."
    )
    comfort = models.BooleanField(default=False, help_text="Larger text and higher contrast.")
    reminders_on = models.BooleanField(default=False)
    reminder_days = models.JSONField(
        default=list, blank=True, help_text="Weekdays to remind on, 0 = Monday ... 6 = Sunday."
    )
    reminder_time = models.TimeField(null=True, blank=True, help_text="Local time of day.")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name.")
    calendar_token = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        unique=True,
        help_text="The secret of the private calendar feed; empty when there is none.",
    )

    def __str__(self) -> str:
        return f"Practice preferences of {self.user}"


class DailyCheckIn(models.Model):
    """'I practised' or 'Skip today' answered from a reminder, once per member and local day."""

    class Answer(models.TextChoices):
        PRACTISED = "practised", "Practised"
        SKIPPED = "skipped", "Skipped today"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_check_ins"
    )
    local_date = models.DateField(help_text="The day in the member's time zone.")
    answer = models.CharField(max_length=10, choices=Answer.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "local_date"], name="program_dailycheckin_unique_user_date"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_answer_display().lower()} on {self.local_date}"


class ReminderSent(models.Model):
    """One practice reminder per member and local day: the row is claimed before sending."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders_sent"
    )
    local_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    error = models.TextField(blank=True, help_text="Why sending failed (it is not retried).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "local_date"], name="program_remindersent_unique_user_date"
            )
        ]

    def __str__(self) -> str:
        return f"Reminder to {self.user} for {self.local_date}"
