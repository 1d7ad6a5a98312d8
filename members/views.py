"""Staff pages served inside the admin (MemberAdmin wraps them with admin_view and checks
permissions): a member's page with its actions, the CSV export and the dashboard."""

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.http import id_from
from core.money import money_format
from core.spreadsheet import csv_cell
from members import charts, forms, presenters, selectors, services

ACTIONS = ("note", "grant", "revoke", "receipt", "password")


def _forms(member, data=None, action=None):
    def bound(name):
        return data if action == name else None

    return {
        "note": forms.StaffNoteForm(bound("note"), prefix="note"),
        "grant": forms.GrantForm(bound("grant"), prefix="grant"),
        "revoke": forms.RevokeForm(bound("revoke"), prefix="revoke", member=member),
        "receipt": forms.ResendReceiptForm(bound("receipt"), prefix="receipt", member=member),
        "password": forms.PasswordResetForm(bound("password"), prefix="password"),
    }


def member_page(request, *, model_admin, member_id):
    member_id = id_from(member_id)
    record = selectors.member_page(member_id=member_id) if member_id is not None else None
    if record is None:
        raise Http404("No such member.")
    page = presenters.member_page(record)
    member = page.member
    can_change = model_admin.has_change_permission(request)
    can_note = request.user.has_perm("members.add_staffnote")
    action = request.POST.get("action") if request.method == "POST" else None
    form_set = _forms(member, request.POST if action else None, action)

    if action in ACTIONS:
        if (action == "note" and not can_note) or (action != "note" and not can_change):
            raise PermissionDenied
        form = form_set[action]
        if form.is_valid():
            try:
                message = _run_action(request, action, member, form.cleaned_data)
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, message)
                return HttpResponseRedirect(request.path)

    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Member: {member.email}",
        "page": page,
        "member": member,
        "status_label": selectors.Status.labels.get(page.status, page.status),
        "forms": form_set,
        "can_change": can_change,
        "can_note": can_note,
    }
    return TemplateResponse(request, "members/member_page.html", context)


def _run_action(request, action, member, data) -> str:
    staff = request.user
    if action == "note":
        services.staff_note_create(member=member, author=staff, text=data["text"])
        return "Your note was added."
    if action == "grant":
        result = services.member_access_grant(
            member=member, program=data["program"], reason=data["reason"], staff=staff
        )
        if not result.changed:
            return f"{member.email} already had access to {data['program']}; nothing changed."
        return f"Complimentary access to {data['program']} granted."
    if action == "revoke":
        result = services.member_access_revoke(
            member=member, program=data["program"], reason=data["reason"], staff=staff
        )
        if not result.changed:
            return f"{member.email} had no active access to {data['program']}; nothing changed."
        return f"Access to {data['program']} revoked."
    if action == "receipt":
        services.member_receipt_resend(member=member, purchase=data["purchase"], staff=staff)
        return f"The receipt is on its way to {member.email}."
    services.member_password_reset_send(
        member=member, staff=staff, absolute_url=request.build_absolute_uri
    )
    return f"A password-reset email was sent to {member.email}."


# --- CSV export -------------------------------------------------------------------------------
EXPORT_HEADER = [
    "email",
    "name",
    "status",
    "joined",
    "email verified",
    "paid at",
    "amount paid",
    "currency",
    "refunded amount",
    "complimentary",
    "last activity",
]


class _Echo:
    def write(self, value):
        return value


def _date(value, tz=None) -> str:
    return (
        f"{value.astimezone(tz or timezone.get_current_timezone()):%Y-%m-%d %H:%M}" if value else ""
    )


def export_rows(rows: Iterable) -> Iterator[list[str]]:
    tz = timezone.get_current_timezone()
    yield EXPORT_HEADER
    for (
        email,
        name,
        status,
        joined,
        verified,
        paid_at,
        paid_cents,
        currency,
        refunded_cents,
        complimentary,
        *activity,
    ) in rows:
        moments = [moment for moment in activity if moment is not None]
        yield [
            csv_cell(email),
            csv_cell(name),
            status,
            _date(joined, tz),
            "yes" if verified else "no",
            _date(paid_at, tz),
            money_format(paid_cents or 0, grouping=False),
            (currency or "").upper(),
            money_format(refunded_cents or 0, grouping=False),
            "yes" if complimentary else "no",
            _date(max(moments), tz) if moments else "",
        ]


def member_export(queryset) -> StreamingHttpResponse:
    """Streamed: rows are read from a server-side cursor in chunks and written one by one."""
    rows = selectors.member_export_rows(queryset)
    writer = csv.writer(_Echo())

    def stream():
        for row in export_rows(rows):
            yield writer.writerow(row)

    response = StreamingHttpResponse(stream(), content_type="text/csv")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="members-{stamp}.csv"'
    return response


# --- dashboard -------------------------------------------------------------------------------
def dashboard(request, *, model_admin):
    figures = presenters.dashboard(selectors.dashboard_figures())
    money = figures["money"]
    course = figures["course"]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": "Members dashboard",
        "figures": figures,
        "status_chart": charts.bar_chart(figures["by_status"], label="Members by status"),
        "sales_chart": charts.grouped_bar_chart(
            [row["month"].strftime("%b %Y") for row in money],
            [
                ("Sales", [row["sales"] for row in money]),
                ("Refunds", [row["refunds"] for row in money]),
            ],
            label="Sales and refunds per month",
        ),
        "course_chart": charts.grouped_bar_chart(
            [row["month"].strftime("%b %Y") for row in course],
            [
                ("Sign-ups", [row["signups"] for row in course]),
                ("Confirmed", [row["confirmed"] for row in course]),
                ("Bought later", [row["converted"] for row in course]),
            ],
            label="Email course per month",
        ),
        "lessons_chart": charts.bar_chart(figures["top_lessons"], label="Lessons most practised"),
    }
    return TemplateResponse(request, "members/dashboard.html", context)
