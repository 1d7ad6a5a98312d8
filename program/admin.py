from django.contrib import admin

from program.models import Access, AccessEvent, Article, Lesson, Program, Unit, Video


class UnitInline(admin.TabularInline):
    model = Unit
    fields = ["position", "title", "slug", "is_free"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


class LessonInline(admin.TabularInline):
    model = Lesson
    fields = ["position", "title", "slug", "video", "uses_working_side"]
    prepopulated_fields = {"slug": ("title",)}
    extra = 0
    show_change_link = True


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
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
    list_display = ["title", "unit", "position", "uses_working_side"]
    list_editable = ["position"]
    list_filter = ["unit__program", "unit"]
    list_select_related = ["unit"]
    search_fields = ["title"]
    prepopulated_fields = {"slug": ("title",)}


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["title", "duration_seconds", "size_bytes", "content_type"]
    search_fields = ["title"]
    readonly_fields = ["size_bytes"]


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


# ------------------------------------------------------------------------------
# Practice tools: members' journals and progress, read-only for staff (health data)
# ------------------------------------------------------------------------------
from program.models import (  # noqa: E402
    JournalEntry,
    LessonProgress,
    PracticeEvent,
    SafetyAcknowledgement,
)
from program.practice_services import video_audio_schedule  # noqa: E402


class ReadOnlyAdmin(admin.ModelAdmin):
    """Members write these through the site; staff may look, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["user", "program", "side", "pain", "created_at"]
    list_filter = ["side", "program"]
    search_fields = ["user__email"]
    list_select_related = ["user", "program"]
    date_hierarchy = "created_at"


@admin.register(LessonProgress)
class LessonProgressAdmin(ReadOnlyAdmin):
    list_display = ["user", "lesson", "state", "times_practised", "last_practised_at"]
    list_filter = ["state", "lesson__unit__program"]
    search_fields = ["user__email", "lesson__title"]
    list_select_related = ["user", "lesson"]


@admin.register(PracticeEvent)
class PracticeEventAdmin(ReadOnlyAdmin):
    list_display = ["user", "lesson", "created_at"]
    search_fields = ["user__email", "lesson__title"]
    list_select_related = ["user", "lesson"]
    date_hierarchy = "created_at"


@admin.register(SafetyAcknowledgement)
class SafetyAcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["user", "text_version", "acknowledged_at"]
    search_fields = ["user__email"]
    list_select_related = ["user"]


# Extend whichever Video admin is registered above (it may gain other behaviour) so a saved
# video file gets its audio-only version made in the background.
_VideoAdminBase = type(admin.site.get_model_admin(Video))
admin.site.unregister(Video)


@admin.register(Video)
class VideoAudioAdmin(_VideoAdminBase):
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "file" in form.changed_data and obj.file:
            video_audio_schedule(video=obj)
