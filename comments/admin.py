"""Moderation queue: pending comments first; approve / reject / spam / remove through the
services; staff answer a question from its page ("Answer as the practitioner")."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from comments import services
from comments.forms import ReplyForm
from comments.models import Comment

Status = Comment.Status


class TargetTypeFilter(admin.SimpleListFilter):
    title = "under"
    parameter_name = "target"

    def lookups(self, request, model_admin):
        return [("article", "Articles"), ("lesson", "Lessons")]

    def queryset(self, request, queryset):
        if self.value() == "article":
            return queryset.filter(article__isnull=False)
        if self.value() == "lesson":
            return queryset.filter(lesson__isnull=False)
        return queryset


class ReplyInline(admin.TabularInline):
    model = Comment
    fk_name = "parent"
    verbose_name = "reply"
    verbose_name_plural = "replies"
    fields = ["created_at", "author", "body", "status", "is_practitioner_answer"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


def _moderation_action(service, done: str):
    def action(modeladmin, request, queryset):
        for comment in queryset:
            service(comment=comment, actor=request.user)
        modeladmin.message_user(request, f"{queryset.count()} comment(s) {done}.", messages.SUCCESS)

    return action


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    change_form_template = "comments/admin/change_form.html"
    list_display = [
        "short_body",
        "author",
        "under",
        "status",
        "is_practitioner_answer",
        "created_at",
    ]
    list_display_links = ["short_body"]
    list_filter = ["status", TargetTypeFilter, "is_practitioner_answer"]
    list_select_related = ["author", "article", "lesson"]
    search_fields = ["body", "author__email", "author__name"]
    date_hierarchy = "created_at"
    actions = ["approve", "reject", "mark_spam", "remove"]
    readonly_fields = [
        "author",
        "article",
        "lesson",
        "parent",
        "body",
        "status",
        "is_practitioner_answer",
        "notify_on_reply",
        "approved_at",
        "approved_by",
        "moderated_at",
        "created_at",
        "updated_at",
        "answer_link",
    ]
    fields = readonly_fields
    inlines = [ReplyInline]

    def get_queryset(self, request):
        # Annotate before ordering: the default get_queryset orders first.
        queryset = Comment.objects.annotate(
            queue_order=Case(
                When(status=Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["queue_order", "-created_at"]

    def has_add_permission(self, request):
        return False

    @staticmethod
    def can_answer(request) -> bool:
        """Answering as the practitioner writes content: staff with comments.add_comment (the
        practitioner, superusers), not everyone who moderates (the Support group)."""
        return request.user.is_staff and request.user.has_perm("comments.add_comment")

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if self.can_answer(request) else [f for f in fields if f != "answer_link"]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_answer": self.can_answer(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def view_on_site(self, obj):
        # Only shown comments have a public page; the rest would be a 404 there.
        return obj.get_absolute_url() if obj.status == Status.APPROVED else None

    @admin.display(description="comment")
    def short_body(self, obj):
        return str(obj)

    @admin.display(description="under")
    def under(self, obj):
        return obj.target

    @admin.display(description="answer")
    def answer_link(self, obj):
        if obj.parent_id is not None:
            return "This is a reply."
        return format_html(
            '<a class="button" href="{}">Answer as the practitioner</a>',
            reverse("admin:comments_comment_reply", args=[obj.pk]),
        )

    approve = admin.action(description="Approve (show on the site)", permissions=["change"])(
        _moderation_action(services.comment_approve, "approved")
    )
    reject = admin.action(description="Reject", permissions=["change"])(
        _moderation_action(services.comment_reject, "rejected")
    )
    mark_spam = admin.action(description="Mark as spam", permissions=["change"])(
        _moderation_action(services.comment_mark_spam, "marked as spam")
    )
    remove = admin.action(description="Remove from the site", permissions=["change"])(
        _moderation_action(services.comment_remove, "removed")
    )

    def changelist_view(self, request, extra_context=None):
        waiting = Comment.objects.filter(status=Status.PENDING).count()
        if waiting and request.method == "GET":
            self.message_user(
                request, f"{waiting} comment(s) waiting for review are listed first.", messages.INFO
            )
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/reply/",
                self.admin_site.admin_view(self.reply_view),
                name="comments_comment_reply",
            ),
            *super().get_urls(),
        ]

    def reply_view(self, request, object_id: int):
        parent = get_object_or_404(
            Comment.objects.select_related("author"), pk=object_id, parent__isnull=True
        )
        if not self.has_change_permission(request, parent) or not self.can_answer(request):
            raise PermissionDenied
        form = ReplyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.reply_post(
                    parent=parent, author=request.user, body=form.cleaned_data["body"]
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, "Your answer is posted.", messages.SUCCESS)
                return redirect("admin:comments_comment_change", parent.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Answer as the practitioner",
            "parent": parent,
            "form": form,
        }
        return TemplateResponse(request, "comments/admin/reply.html", context)
