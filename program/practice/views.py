"""Member pages and endpoints of the practice tools: journal, progress, lesson state, resume
position, exports and the safety note. Everything here is the signed-in member's own data."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.http import safe_next_path
from program.practice import selectors, services
from program.practice.forms import JournalEntryForm, PositionForm
from program.selectors import lesson_urls

PARTIAL_HEADER = "X-Practice-Partial"


def _redirect_next(request, fallback: str) -> HttpResponseRedirect:
    # A URL, never a view name: redirect() would try reverse() on it first.
    return HttpResponseRedirect(safe_next_path(request, fallback))


def _safety_redirect(request, next_url: str):
    return redirect(f"{reverse('program:safety')}?{_query(next=next_url)}")


def _query(**params) -> str:
    return urlencode(params)


def _program_or_404(request):
    program = selectors.practice_program(slug=request.GET.get("program") or None)
    if program is None:
        raise Http404("No program.")
    return program


def _lesson_url(lesson) -> str:
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def journal(request):
    program = _program_or_404(request)
    here = f"{reverse('program:journal')}?{_query(program=program.slug)}"
    if not selectors.safety_acknowledged(user=request.user):
        return _safety_redirect(request, request.get_full_path())
    form = JournalEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _entry, created = services.journal_entry_create(
                user=request.user, program=program, **form.cleaned_data
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            messages.success(
                request,
                "Your self-assessment is saved."
                if created
                else "Your self-assessment for this session is updated.",
            )
            return _redirect_next(request, here)
    return render(
        request,
        "program/practice/journal.html",
        {
            "program": program,
            "form": form,
            "entries": selectors.journal_entries(user=request.user),
            "next": safe_next_path(request, ""),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
def progress(request):
    program = _program_or_404(request)
    user = request.user
    return render(
        request,
        "program/practice/progress.html",
        {
            "program": program,
            "overall": selectors.program_progress(user=user, program=program),
            "weeks": selectors.sessions_per_week(user=user),
            "come_back": selectors.come_back_list(user=user, program=program),
            "most_practised": selectors.lessons_most_practised(user=user, program=program),
            "chart": selectors.pain_chart(user=user),
        },
    )


def _lesson_or_404(request, lesson_id: int):
    lesson = selectors.lesson_for_practice(user=request.user, lesson_id=lesson_id)
    if lesson is None:
        raise Http404("No such lesson.")
    return lesson


def _state_response(request, lesson, progress, message: str):
    if request.headers.get(PARTIAL_HEADER) == "1":
        return render(
            request,
            "program/practice/lesson_panel.html#lesson-state",
            {
                "lesson": lesson,
                "lesson_urls": lesson_urls(lesson),
                "progress": progress,
                "status_message": message,
            },
        )
    messages.success(request, message)
    return _redirect_next(request, _lesson_url(lesson))


@login_required
@require_POST
def lesson_practised(request, lesson_id: int):
    lesson = _lesson_or_404(request, lesson_id)
    if not selectors.safety_acknowledged(user=request.user):
        return _safety_redirect(request, _lesson_url(lesson))
    progress_row = services.lesson_mark_practised(user=request.user, lesson=lesson)
    times = progress_row.times_practised
    return _state_response(
        request,
        lesson,
        progress_row,
        f"Marked practised ({times} time{'s' if times != 1 else ''}). Well done.",
    )


@login_required
@require_POST
def lesson_skip(request, lesson_id: int):
    lesson = _lesson_or_404(request, lesson_id)
    progress_row = services.lesson_skip(user=request.user, lesson=lesson)
    return _state_response(
        request, lesson, progress_row, "Skipped for now: it is on your come-back list."
    )


@login_required
@require_POST
def lesson_position(request, lesson_id: int):
    """The player reports where the member is (every few seconds and when they leave)."""
    lesson = _lesson_or_404(request, lesson_id)
    data = request.POST
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"error": 'Send JSON like {"position": 12.5}.'}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"error": 'Send JSON like {"position": 12.5}.'}, status=400)
    form = PositionForm({"position": data.get("position")})
    if not form.is_valid():
        return JsonResponse({"error": "That is not a position in seconds."}, status=400)
    try:
        row = services.lesson_position_save(
            user=request.user, lesson=lesson, position=form.cleaned_data["position"]
        )
    except ValidationError:
        return JsonResponse({"error": "That is not a position in this lesson's video."}, status=400)
    return JsonResponse({"position": row.resume_position_seconds})


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def journal_entry_delete(request, entry_id: int):
    """GET asks first (health data, and a link works without JavaScript); POST deletes."""
    program = selectors.practice_program(slug=request.GET.get("program") or None)
    back_url = reverse("program:journal")
    if program is not None:
        back_url = f"{back_url}?{_query(program=program.slug)}"
    if request.method == "POST":
        if not services.journal_entry_delete(user=request.user, entry_id=entry_id):
            raise Http404("No such entry.")
        messages.success(request, "The entry is deleted.")
        return _redirect_next(request, back_url)
    entry = selectors.journal_entry(user=request.user, entry_id=entry_id)
    if entry is None:
        raise Http404("No such entry.")
    return render(
        request,
        "program/practice/journal_entry_delete.html",
        {"entry": entry, "program": program, "back_url": back_url},
    )


def _download(content: str, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def journal_export_csv(request):
    return _download(
        services.journal_export_csv(user=request.user),
        content_type="text/csv; charset=utf-8",
        filename=f"practice-journal-{timezone.localdate():%Y-%m-%d}.csv",
    )


@login_required
def progress_export_csv(request):
    return _download(
        services.progress_export_csv(user=request.user),
        content_type="text/csv; charset=utf-8",
        filename=f"practice-progress-{timezone.localdate():%Y-%m-%d}.csv",
    )


@login_required
def journal_export_json(request):
    return _download(
        services.journal_export_json(user=request.user),
        content_type="application/json; charset=utf-8",
        filename=f"practice-journal-{timezone.localdate():%Y-%m-%d}.json",
    )


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def safety(request):
    next_url = safe_next_path(request, reverse("program:journal"))
    if request.method == "POST":
        services.safety_acknowledge(user=request.user)
        return HttpResponseRedirect(next_url)
    return render(
        request,
        "program/practice/safety.html",
        {
            "next": next_url,
            "acknowledged": selectors.safety_acknowledged(user=request.user),
        },
    )
