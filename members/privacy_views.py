"""The member's data pages (linked from the account pages): "Download my data" and "Delete my
account", plus staff's "Delete this account" on the member page (served inside the admin)."""

from __future__ import annotations

import time

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from core.http import id_from
from members import privacy, privacy_selectors
from members.models import DataExport
from members.privacy_forms import AccountDeleteForm, StaffAccountDeleteForm

BUSY = (DataExport.Status.QUEUED, DataExport.Status.BUILDING)


def _export_context(user) -> dict:
    export = privacy_selectors.latest_export(user=user)
    return {
        "export": export,
        "busy": export is not None and export.status in BUSY,
        "days": settings.DATA_EXPORT_DAYS,
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def my_data(request):
    """Shows the latest archive's state; a POST asks for a new one (one at a time)."""
    if request.method == "POST":
        result = privacy.data_export_request(user=request.user)
        latest = privacy_selectors.latest_export(user=request.user)
        if latest is not None and latest.status == DataExport.Status.READY:
            messages.success(request, "Your data is ready to download.")
        elif result.created:
            messages.success(
                request,
                "We are preparing your data. This page shows how far it has got, and we will "
                "e-mail you when it is ready.",
            )
        else:
            messages.info(request, "Your data is already being prepared.")
        return redirect("members:my-data")
    return render(request, "members/privacy/my_data.html", _export_context(request.user))


@never_cache
@login_required
@require_GET
def my_data_status(request):
    """The latest archive's state for the page's progress line (polled while it is built)."""
    context = _export_context(request.user)
    export = context["export"]
    return JsonResponse(
        {
            "status": export.status if export else "",
            "label": export.get_status_display() if export else "",
            "progress": export.progress if export else 0,
            "busy": context["busy"],
        }
    )


@never_cache
@login_required
@require_GET
def my_data_download(request, export: int):
    """The archive, to its member only, until it expires; anything else is a 404."""
    found = privacy_selectors.export_for_download(user=request.user, export_id=export)
    if found is None:
        raise Http404("No such download, or it has expired.")
    return FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=f"my-data-{found.finished_at:%Y-%m-%d}.zip",
        content_type="application/zip",
    )


def _signed_in_recently(request) -> bool:
    """For an account without a password (it signs in with a code by e-mail), allauth has no
    way to re-authenticate; a sign-in within the re-authentication timeout stands in for it."""
    last = request.user.last_login
    return last is not None and time.time() - last.timestamp() < (
        settings.ACCOUNT_REAUTHENTICATION_TIMEOUT
    )


@never_cache
@login_required
@reauthentication_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    """Says what goes and what stays, then deletes the member's own account."""
    user = request.user
    if not user.has_usable_password() and not _signed_in_recently(request):
        logout(request)
        messages.info(request, "For your safety, sign in again (with a code) to continue.")
        return redirect_to_login(request.get_full_path(), reverse("account_request_login_code"))
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            privacy.account_delete(user=user, comments=form.cleaned_data["comments"])
        except privacy.AccountDeletionRefused as error:
            form.add_error(None, error.messages)
        else:
            logout(request)
            return redirect("members:account-deleted")
    context = {
        "form": form,
        "refundable": privacy_selectors.refundable_purchases(user=user),
        "is_staff": user.is_staff or user.is_superuser,
        **_export_context(user),
    }
    return render(
        request,
        "members/privacy/account_delete.html",
        context,
        status=400 if form.errors else 200,
    )


@require_GET
def account_deleted(request):
    return render(request, "members/privacy/account_deleted.html")


# --- staff, inside the admin (MemberAdmin wraps it with admin_view) -----------------------------
def staff_account_delete(request, *, model_admin, member_id):
    pk = id_from(member_id)
    member = User.objects.filter(pk=pk).first() if pk is not None else None
    if member is None:
        raise Http404("No such member.")
    if not model_admin.has_change_permission(request, member):
        raise PermissionDenied
    form = StaffAccountDeleteForm(request.POST or None)
    if request.method == "POST" and member.deleted_at is None and form.is_valid():
        try:
            privacy.account_delete(
                user=member,
                comments=form.cleaned_data["comments"],
                staff=request.user,
                reason=form.cleaned_data["reason"],
            )
        except privacy.AccountDeletionRefused as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, f"Account #{member.pk} was deleted; its money records stay.")
            return HttpResponseRedirect(reverse("admin:members_member_change", args=[member.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Delete the account of {member.email}",
        "member": member,
        "form": form,
        "refundable": privacy_selectors.refundable_purchases(user=member),
    }
    return TemplateResponse(request, "members/privacy/staff_account_delete.html", context)
