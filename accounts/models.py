from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from core.models import TimeStamped


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser, TimeStamped):
    """A person with an account. Email is the login; there are no usernames."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField("email address", unique=True)
    name = models.CharField("name", max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = "member"
        verbose_name_plural = "members"
        constraints = [
            # Ann@Example.com and ann@example.com are one person: one account.
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_unique_email_ci",
                violation_error_message="An account with this email address already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.name or self.email

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


# ------------------------------------------------------------------------------
# Consultation (functional assessment) and mentoring requests
# ------------------------------------------------------------------------------
from django.core.exceptions import ValidationError  # noqa: E402


class BodyRegion(models.TextChoices):
    LOWER_BACK = "lower-back", "Lower back"
    SI_LEFT = "si-left", "Left S-I joint / left buttock"
    SI_RIGHT = "si-right", "Right S-I joint / right buttock"
    HIP = "hip", "Hip"
    GROIN = "groin", "Groin or pubic area"
    THIGH = "thigh", "Thigh"
    KNEE = "knee", "Knee"
    LOWER_LEG_FOOT = "lower-leg-foot", "Lower leg or foot"
    UPPER_BACK = "upper-back", "Upper back"
    NECK_SHOULDERS = "neck-shoulders", "Neck or shoulders"
    OTHER = "other", "Somewhere else"


def validate_body_regions(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one area.")
    unknown = [item for item in value if item not in BodyRegion.values]
    if unknown:
        raise ValidationError(
            "Unknown area: %(areas)s", params={"areas": ", ".join(map(str, unknown))}
        )


class RequestStatus(models.TextChoices):
    NEW = "new", "New"
    ANSWERED = "answered", "Answered"


class HelpRequest(models.Model):
    """What a consultation and a mentoring request share: who wrote, and staff's reply.

    Abstract: each request keeps its own table, exactly as before. The two links to accounts
    (`user`, `replied_by`) are declared by each model, because their reverse names differ
    (user.consultation_requests, user.mentoring_replies, ...) and Django's related_name
    placeholders (%(class)s) cannot spell them; moving them here would rename them.
    """

    # The fields a reply writes (services.py saves exactly these, plus its own).
    REPLY_FIELDS = ["staff_reply", "status", "replied_at", "replied_by", "updated_at"]

    name = models.CharField(max_length=150)
    email = models.EmailField()
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.NEW
    )
    staff_reply = models.TextField(blank=True, help_text="The reply emailed to the person.")
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    def record_reply(self, *, reply: str, staff_user, at) -> list[str]:
        """Set staff's reply on the object (not saved) and return the fields to save."""
        self.staff_reply = reply.strip()
        self.status = RequestStatus.ANSWERED
        self.replied_at = at
        self.replied_by = staff_user
        return list(self.REPLY_FIELDS)


class ConsultationRequest(HelpRequest):
    """A free functional-assessment form. Its answers are health data: only staff see them."""

    class ContactPreference(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"

    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultation_requests",
        help_text="The account that sent it, when signed in.",
    )
    pain_areas = models.JSONField(
        default=list,
        validators=[validate_body_regions],
        help_text="Body regions where it hurts (codes of BodyRegion).",
    )
    how_started = models.TextField("how it started")
    injury_history = models.TextField(blank=True)
    symptoms = models.TextField()
    tried = models.TextField("what was tried", blank=True)
    goals = models.TextField()
    contact_preference = models.CharField(
        max_length=10, choices=ContactPreference.choices, default=ContactPreference.EMAIL
    )
    phone = models.CharField(max_length=40, blank=True)
    recommended_program = models.ForeignKey(
        "program.Program",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recommended_in_consultations",
        help_text="The program staff recommend; linked in the reply email.",
    )
    replied_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultation_replies",
    )

    class Meta(HelpRequest.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=RequestStatus.values),
                name="accounts_consultationrequest_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"Consultation from {self.name} <{self.email}>"

    @property
    def pain_area_labels(self) -> list[str]:
        labels = dict(BodyRegion.choices)
        return [labels.get(code, code) for code in self.pain_areas or []]


class MentoringRequest(HelpRequest):
    user = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentoring_requests",
        help_text="The account that sent it, when signed in.",
    )
    message = models.TextField()
    preferred_times = models.CharField(max_length=300, blank=True)
    replied_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentoring_replies",
    )

    def __str__(self) -> str:
        return f"Mentoring request from {self.name} <{self.email}>"
