"""The progress report for a clinician: the member's report page (choose a period and notes),
its print page and PDF (the same HTML), the member's shared links, and the clinician's view of a
shared link. Health data throughout: config/caching.py answers all of these `private, no-store`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from program.practice import report_selectors, report_services, selectors
from program.practice.forms import ReportForm, ShareForm
from program.practice.pdf import html_to_pdf

DOCUMENT = "program/practice/report_document.html"
NEW_LINK_SESSION_KEY = "report_share_new_link"


def _program_or_404(data):
    program = selectors.practice_program(slug=data.get("program") or None)
    if program is None:
        raise Http404("No program.")
    return program


def _report_query(program, period, note_ids) -> str:
    return urlencode(
        {
            "program": program.slug,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "note": list(note_ids),
        },
        doseq=True,
    )


def _chosen_report(request, program):
    """(form, report or None): the default period until the member chooses one."""
    if "start" not in request.GET and "end" not in request.GET:
        period = report_selectors.default_period()
        form = ReportForm(initial={"start": period.start, "end": period.end})
        return form, report_selectors.progress_report(
            user=request.user, program=program, period=period
        )
    form = ReportForm(request.GET)
    if not form.is_valid():
        return form, None
    period = report_selectors.ReportPeriod(
        start=form.cleaned_data["start"], end=form.cleaned_data["end"]
    )
    report = report_selectors.progress_report(
        user=request.user, program=program, period=period, note_ids=form.cleaned_data["note"]
    )
    if problem := report_selectors.notes_error(entry.note for entry in report.notes):
        form.add_error("note", problem)
    return form, report


def _no_store(response: HttpResponse, *, shared: bool = False) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    if shared:
        # A clinician's link: kept out of search engines, and its address (the secret) is
        # never sent on to another site.
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
    return response


def _pdf_response(html: str, filename: str) -> HttpResponse:
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def progress_report(request):
    program = _program_or_404(request.GET)
    form, report = _chosen_report(request, program)
    usable = report is not None and not form.errors
    query = _report_query(program, report.period, [n.pk for n in report.notes]) if usable else ""
    return _no_store(
        render(
            request,
            "program/practice/report.html",
            {
                "program": program,
                "form": form,
                "report": report,
                "usable": usable,
                "query": query,
                "share_form": ShareForm(initial={"expires_in_days": 7}),
            },
            status=400 if form.is_bound and form.errors else 200,
        )
    )


def _document_or_redirect(request):
    program = _program_or_404(request.GET)
    form, report = _chosen_report(request, program)
    if report is None or form.errors:
        # The report page shows what is wrong, next to the field, with what was typed.
        return None, redirect(f"{reverse('program:progress-report')}?{request.GET.urlencode()}")
    return report, None


@login_required
@require_GET
def progress_report_print(request):
    report, redirect_response = _document_or_redirect(request)
    if redirect_response:
        return redirect_response
    query = _report_query(report.program, report.period, [n.pk for n in report.notes])
    return _no_store(
        render(request, DOCUMENT, {"report": report, "member_view": True, "query": query})
    )


@login_required
@require_GET
def progress_report_pdf(request):
    report, redirect_response = _document_or_redirect(request)
    if redirect_response:
        return redirect_response
    html = render_to_string(DOCUMENT, {"report": report, "for_pdf": True}, request=request)
    return _no_store(_pdf_response(html, f"progress-report-{report.made_on:%Y-%m-%d}.pdf"))


@login_required
@require_GET
def report_shares(request):
    return _no_store(
        render(
            request,
            "program/practice/report_shares.html",
            {
                "links": report_selectors.member_shares(user=request.user),
                "new_link": request.session.pop(NEW_LINK_SESSION_KEY, None),
                "program": selectors.practice_program(slug=request.GET.get("program") or None),
            },
        )
    )


@login_required
@require_POST
def report_share_create(request):
    program = _program_or_404(request.POST)
    form = ShareForm(request.POST)
    if form.is_valid():
        period = report_selectors.ReportPeriod(
            start=form.cleaned_data["start"], end=form.cleaned_data["end"]
        )
        try:
            new = report_services.report_share_create(
                user=request.user,
                program=program,
                period=period,
                note_ids=form.cleaned_data["note"],
                expires_in_days=form.cleaned_data["expires_in_days"],
            )
        except ValidationError as error:
            for problems in error.message_dict.values():
                for problem in problems:
                    messages.error(request, problem)
        else:
            # The secret exists only in this answer and the member's session, until the shared
            # links page shows it once.
            request.session[NEW_LINK_SESSION_KEY] = {
                "id": new.share.pk,
                "url": request.build_absolute_uri(
                    reverse("program:shared-report", args=[new.token])
                ),
            }
            return redirect("program:report-shares")
    else:
        for problems in form.errors.values():
            for problem in problems:
                messages.error(request, problem)
    back = {k: v for k, v in request.POST.lists() if k in ("program", "start", "end", "note")}
    return redirect(f"{reverse('program:progress-report')}?{urlencode(back, doseq=True)}")


@login_required
@require_POST
def report_share_revoke(request, share_id: int):
    if not report_services.report_share_revoke(user=request.user, share_id=share_id):
        raise Http404("No such link.")
    messages.success(request, "The link is withdrawn: it no longer opens the report.")
    return redirect("program:report-shares")


def _shared(request, token: str, *, as_pdf: bool):
    share = report_services.report_share_open(token=token, as_pdf=as_pdf)
    if share is None:
        # Unknown, withdrawn or expired all look the same: there is nothing here.
        return None, _no_store(render(request, "404.html", status=404), shared=True)
    report = report_selectors.progress_report(
        user=share.user,
        program=share.program,
        period=report_selectors.ReportPeriod(start=share.period_start, end=share.period_end),
        note_ids=share.note_ids,
    )
    return (share, report), None


@require_GET
def shared_report(request, token: str):
    found, missing = _shared(request, token, as_pdf=False)
    if missing:
        return missing
    share, report = found
    return _no_store(
        render(
            request,
            DOCUMENT,
            {
                "report": report,
                "shared_until": timezone.localtime(share.expires_at),
                "pdf_url": reverse("program:shared-report-pdf", args=[token]),
            },
        ),
        shared=True,
    )


@require_GET
def shared_report_pdf(request, token: str):
    found, missing = _shared(request, token, as_pdf=True)
    if missing:
        return missing
    _share, report = found
    html = render_to_string(DOCUMENT, {"report": report, "for_pdf": True}, request=request)
    return _no_store(
        _pdf_response(html, f"progress-report-{report.made_on:%Y-%m-%d}.pdf"), shared=True
    )
