"""Consultation (functional assessment) and mentoring requests.

The tables are named accounts_* (`db_table`), the names the accounts app gave them: renaming
them would rewrite the schema and gain nothing.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.models import TimeStamped


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


class HelpRequest(TimeStamped):
    """What a consultation and a mentoring request share: who wrote, and staff's reply.

    Abstract: each request has its own table. The two links to accounts
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
        settings.AUTH_USER_MODEL,
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
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultation_replies",
    )

    class Meta(HelpRequest.Meta):
        db_table = "accounts_consultationrequest"
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
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentoring_requests",
        help_text="The account that sent it, when signed in.",
    )
    message = models.TextField()
    preferred_times = models.CharField(max_length=300, blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="mentoring_replies",
    )

    class Meta(HelpRequest.Meta):
        db_table = "accounts_mentoringrequest"

    def __str__(self) -> str:
        return f"Mentoring request from {self.name} <{self.email}>"
