"""Staff screens of the program app. The email course and the practice tools register theirs in
their own admin modules, imported here because Django looks for program.admin only."""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.urls import reverse
from django.utils.html import format_html

from core.money import currency_choices, stripe_amount_problem
from program.course import admin as course_admin  # noqa: F401
from program.media.captions import CAPTIONS_MAX_BYTES, CaptionsError, parse_vtt
from program.media.services import video_update_file_info
from program.media.tasks import video_audio_schedule, video_hls_schedule
from program.media.views import KINDS
from program.models import Access, AccessEvent, Article, Lesson, Program, Unit, Video
from program.practice import admin as practice_admin  # noqa: F401


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ["position", "title", "slug", "is_free"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ["position", "title", "slug", "video", "uses_working_side", "is_gentle"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


class ProgramAdminForm(forms.ModelForm):
    """Only currencies Stripe takes, and prices Stripe can charge in them."""

    currency = forms.ChoiceField(
        choices=currency_choices,
        initial="usd",
        help_text="The currency members pay in (only those Stripe supports are listed).",
    )

    class Meta:
        model = Program
        fields = ["title", "slug", "summary", "description", "price_cents", "currency", "published"]
        help_texts = {
            "price_cents": (
                "One-time price in the currency's smallest unit, as Stripe counts it: 9700 is "
                "97.00 USD, but 9700 JPY is ¥9,700 (yen have no smaller unit)."
            )
        }

    def clean(self):
        cleaned = super().clean()
        price, currency = cleaned.get("price_cents"), cleaned.get("currency")
        if price is not None and currency:
            problem = stripe_amount_problem(price, currency)
            if problem:
                self.add_error("price_cents", problem)
        return cleaned


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    form = ProgramAdminForm
    list_display = ["title", "price_display", "published"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [UnitInline]


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["title", "program", "position", "is_free"]
    list_editable = ["position", "is_free"]
    list_filter = ["program", "is_free"]
    prepopulated_fields = {"slug": ("title",)}
    inlines = [LessonInline]


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    list_display = ["title", "unit", "position", "uses_working_side", "is_gentle"]
    list_editable = ["position"]
    list_filter = ["unit__program", "unit"]
    list_select_related = ["unit"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ("title",)}


class _MediaViewLink:
    """A stored file as the admin's "Currently:" line shows it: its name, linked to the media
    view (which lets staff in), since the private storage's own URLs are served by nothing."""

    def __init__(self, stored):
        kind = {field: kind for kind, field in KINDS.items()}[stored.field.name]
        self.url = reverse("program:media", args=[stored.instance.pk, kind])
        self.name = stored.name

    def __str__(self) -> str:
        return self.name


class PrivateMediaFileWidget(AdminFileWidget):
    def format_value(self, value):
        if self.is_initial(value) and value.instance.pk:
            return _MediaViewLink(value)
        return super().format_value(value)


class VideoAdminForm(forms.ModelForm):
    class Meta:
        model = Video
        # The admin builds the field list from its own options; these are the ones staff edit.
        fields = ["title", "file", "poster", "captions", "audio", "duration_seconds"]

    def clean_captions(self):
        """A new captions upload is read now, so a cue the transcript cannot use is a message
        here, while the other fields are still as typed."""
        captions = self.cleaned_data.get("captions")
        if isinstance(captions, UploadedFile):
            raw = captions.read(CAPTIONS_MAX_BYTES)
            captions.seek(0)
            try:
                parse_vtt(raw.decode("utf-8-sig", errors="replace"), strict=True)
            except CaptionsError as error:
                raise forms.ValidationError(str(error), code="captions") from error
        return captions


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoAdminForm
    list_display = ["title", "duration_seconds", "size_bytes", "content_type", "streaming"]
    search_fields = ["title"]
    readonly_fields = ["size_bytes", "content_type", "streaming"]
    actions = ["make_streaming_versions"]
    formfield_overrides = {
        models.FileField: {"widget": PrivateMediaFileWidget},
        models.ImageField: {"widget": PrivateMediaFileWidget},
    }

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The files are in storage: record the size, the served type and the parsed captions.
        video_update_file_info(video=obj)
        if "file" in form.changed_data and obj.file:
            # The audio-only version is made in the background (ffmpeg, when installed).
            video_audio_schedule(video=obj)
            # So are the adaptive-streaming versions; the MP4 plays until they are ready.
            video_hls_schedule(video=obj)

    @admin.display(description="Streaming versions (HLS)")
    def streaming(self, obj):
        """Where the transcode stands: reload the page to follow the percent."""
        if not obj.pk:
            return "Made by the worker after the video is saved."
        status = obj.get_hls_status_display()
        if obj.hls_status == "running":
            return format_html(
                '{} <progress max="100" value="{}">{}%</progress> {}%',
                status,
                obj.hls_progress,
                obj.hls_progress,
                obj.hls_progress,
            )
        if obj.hls_status == "failed":
            return format_html(
                "{}: {} (the MP4 keeps playing; fix the file or run "
                "&ldquo;Make the streaming versions again&rdquo;)",
                status,
                obj.hls_error,
            )
        if obj.hls_ready:
            names = ", ".join(r["name"] for r in obj.hls_renditions if r.get("kind") == "video")
            return f"{status}: {names} and audio-only"
        return status

    @admin.action(description="Make the streaming versions again")
    def make_streaming_versions(self, request, queryset):
        count = 0
        for video in queryset.exclude(file=""):
            video_hls_schedule(video=video)
            count += 1
        self.message_user(request, f"{count} video(s) queued for transcoding.")


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "page", "published", "updated_at"]
    list_filter = ["published", "page"]
    search_fields = ["title", "body"]
    prepopulated_fields = {"slug": ("title",)}


class AccessEventInline(admin.TabularInline):
    model = AccessEvent
    fields = ["created_at", "action", "source", "actor", "actor_label", "reason"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Access)
class AccessAdmin(admin.ModelAdmin):
    """Read-only: access changes go through the grant/revoke services, which record why."""

    list_display = ["user", "program", "source", "granted_at", "revoked_at"]
    list_filter = ["program", "source"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    inlines = [AccessEventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
