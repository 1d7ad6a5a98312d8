"""Members in the admin: the list (status from annotations, no full COUNT on large tables), a
member's page with one timeline and the staff actions, the CSV export and the dashboard."""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from members import privacy_views, selectors, views
from members.models import Member, StaffAction, StaffNote


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return selectors.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return selectors.member_filter_status(queryset, self.value())
        return queryset


class EmailVerifiedFilter(admin.SimpleListFilter):
    title = "email verified"
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [("yes", "Verified"), ("no", "Not verified")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return selectors.member_filter_verified(queryset, self.value() == "yes")
        return queryset


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["email", "name", "status_label", "date_joined", "paid_at", "last_activity"]
    list_display_links = ["email"]
    search_fields = ["email", "name"]
    list_filter = [StatusFilter, ("date_joined", admin.DateFieldListFilter), EmailVerifiedFilter]
    ordering = ["-date_joined", "-id"]
    list_per_page = 50
    paginator = selectors.MemberPaginator
    show_full_result_count = False  # no COUNT(*) of the whole table beside the filtered count
    change_list_template = "admin/members/member/change_list.html"

    def get_queryset(self, request):
        return selectors.member_list_queryset()

    def get_search_results(self, request, queryset, search_term):
        # A whole address is looked up through the case-insensitive unique index on email;
        # anything else (part of an address, a name) searches as usual.
        if selectors.looks_like_email(search_term):
            return selectors.member_filter_email(queryset, search_term), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False  # people sign up on the site

    def has_delete_permission(self, request, obj=None):
        return False  # deleting an account is the member's own, anonymising flow

    @admin.display(description="status", ordering="status")
    def status_label(self, obj):
        return selectors.Status.labels.get(obj.status, obj.status)

    @admin.display(description="paid at", ordering="paid_at")
    def paid_at(self, obj):
        return obj.paid_at

    @admin.display(description="last activity")
    def last_activity(self, obj):
        return selectors.last_activity(obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export.csv", wrap(self.export_view), name="members_member_export"),
            path("dashboard/", wrap(self.dashboard_view), name="members_dashboard"),
            path(
                "<path:object_id>/delete-account/",
                wrap(self.delete_account_view),
                name="members_member_delete_account",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return views.member_page(request, model_admin=self, member_id=object_id)

    def delete_account_view(self, request, object_id):
        return privacy_views.staff_account_delete(request, model_admin=self, member_id=object_id)

    def export_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        # The export link carries the list's filters and search; the page number is not a filter.
        request.GET = request.GET.copy()
        request.GET.pop("p", None)
        try:
            changelist = self.get_changelist_instance(request)
            queryset = changelist.get_queryset(request)
        except IncorrectLookupParameters:
            # A hand-edited filter (a date like 2020-13-45): the list says so instead of a 500.
            messages.error(request, "The export's filters are not valid: choose them again here.")
            return HttpResponseRedirect(reverse("admin:members_member_changelist"))
        return views.member_export(queryset)

    def dashboard_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return views.dashboard(request, model_admin=self)


class AppendOnlyAdmin(ReadOnlyAdmin):
    """Notes and actions are written from the member page and never changed afterwards."""

    @admin.display(description="member")
    def member_link(self, obj):
        url = reverse("admin:members_member_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member)


@admin.register(StaffNote)
class StaffNoteAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "member_link", "author", "text"]
    list_select_related = ["member", "author"]
    search_fields = ["member__email", "text"]


@admin.register(StaffAction)
class StaffActionAdmin(AppendOnlyAdmin):
    list_display = ["created_at", "member_link", "actor", "kind", "program", "reason", "changed"]
    list_filter = ["kind"]
    list_select_related = ["member", "actor", "program"]
    search_fields = ["member__email", "reason"]


from members import privacy_admin  # noqa: E402, F401  (registers the privacy records' admin)
