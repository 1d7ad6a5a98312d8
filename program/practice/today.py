"""Today: the member's home after sign-in (self-check, today's lesson, the practitioner's safety
check), their practice settings, and the pages a reminder e-mail links to.

The reminder pages work without signing in: the link carries a signed token. A GET only shows a
button (mail scanners fetch links), the POST records once.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.http import id_from, safe_next_path
from program.models import DailyCheckIn
from program.practice import calendar, selectors, services, tokens
from program.practice.forms import PracticePreferenceForm, SafetyCheckForm, TodayForm

COMFORT_SESSION_KEY = "comfort"
COMFORT_COOKIE = "comfort"
COMFORT_COOKIE_MAX_AGE = 365 * 24 * 3600


def _program_or_404():
    program = selectors.practice_program()
    if program is None:
        raise Http404("No program.")
    return program


def _lesson_url(lesson) -> str:
    return reverse("program:lesson", args=[lesson.unit.program.slug, lesson.unit.slug, lesson.slug])


def _with_lesson(name: str, lesson) -> str:
    return f"{reverse(name)}?{urlencode({'lesson': lesson.pk})}"


def _lesson_param(request) -> int | None:
    return id_from(request.GET.get("lesson") or request.POST.get("lesson_id") or "")


def _after_safety(*, user, program, lesson, pain):
    """Where to go once the warning signs (if asked) are answered no: the gentler lessons
    when pain is high and staff marked some, else the lesson itself."""
    if lesson is None:
        return redirect("program:today")
    threshold = selectors.safety_settings(program=program).pain_threshold
    if (
        pain is not None
        and pain >= threshold
        and selectors.gentle_lessons(user=user, program=program)
    ):
        return redirect(_with_lesson("program:today-gentle", lesson))
    return redirect(_lesson_url(lesson))


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def today(request):
    program = _program_or_404()
    user = request.user
    if not selectors.safety_acknowledged(user=user):
        return redirect(
            f"{reverse('program:safety')}?{urlencode({'next': reverse('program:today')})}"
        )
    plan = selectors.today_plan(user=user, program=program)
    pref = selectors.practice_preference(user=user)
    form = TodayForm(
        request.POST or None,
        initial={"check_safety": bool(pref and pref.always_check_safety), "lesson": "next"},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.journal_entry_create(
                user=user, program=program, side=data["side"], pain=data["pain"]
            )
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            lesson = plan.lesson_for(data.get("lesson") or "next")
            if lesson is None:
                messages.success(request, "Your self-check is saved.")
                return redirect("program:today")
            safety = selectors.safety_settings(program=program)
            ask = data["check_safety"] or data["pain"] >= safety.pain_threshold
            if ask and safety.signs:
                return redirect(_with_lesson("program:today-check", lesson))
            return _after_safety(user=user, program=program, lesson=lesson, pain=data["pain"])
    return render(
        request,
        "program/practice/today.html",
        {"program": program, "plan": plan, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def today_check(request):
    """The practitioner's warning signs. Any yes: the stop page, recorded for staff."""
    program = _program_or_404()
    user = request.user
    lesson = selectors.lesson_in_program(
        user=user, program=program, lesson_id=_lesson_param(request)
    )
    safety = selectors.safety_settings(program=program)
    entry = selectors.latest_journal_entry(user=user)
    pain = entry.pain if entry else None
    if not safety.signs:
        return _after_safety(user=user, program=program, lesson=lesson, pain=pain)
    form = SafetyCheckForm(request.POST if request.method == "POST" else None, signs=safety.signs)
    if request.method == "POST" and form.is_valid():
        result = services.safety_check_answer(
            user=user, program=program, sign_ids=form.cleaned_data["signs"], pain=pain
        )
        if result.stop:
            return redirect("program:today-stop")
        return _after_safety(user=user, program=program, lesson=lesson, pain=pain)
    return render(
        request,
        "program/practice/today_check.html",
        {"form": form, "lesson": lesson, "program": program},
        status=400 if form.is_bound and form.errors else 200,
    )


@never_cache
@login_required
@require_safe
def today_stop(request):
    return render(request, "program/practice/today_stop.html")


@never_cache
@login_required
@require_safe
def today_gentle(request):
    program = _program_or_404()
    user = request.user
    lesson = selectors.lesson_in_program(
        user=user, program=program, lesson_id=_lesson_param(request)
    )
    return render(
        request,
        "program/practice/today_gentle.html",
        {"lesson": lesson, "gentle": selectors.gentle_lessons(user=user, program=program)},
    )


# ------------------------------------------------------------------------------
# Settings: safety check, reminders, calendar feed
# ------------------------------------------------------------------------------


def _calendar_url(request, token: str | None) -> str:
    if not token:
        return ""
    return request.build_absolute_uri(reverse("program:calendar-feed", args=[token]))


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def practice_settings(request):
    user = request.user
    pref = selectors.practice_preference(user=user)
    initial = {"time_zone": "UTC"}
    if pref:
        initial = {
            "always_check_safety": pref.always_check_safety,
            "reminders_on": pref.reminders_on,
            "reminder_days": pref.reminder_days,
            "reminder_time": pref.reminder_time,
            "time_zone": pref.time_zone,
        }
    form = PracticePreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.practice_preference_update(user=user, **form.cleaned_data)
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
        else:
            messages.success(request, "Your practice settings are saved.")
            return redirect("program:practice-settings")
    return render(
        request,
        "program/practice/settings.html",
        {
            "form": form,
            "calendar_url": _calendar_url(request, pref.calendar_token if pref else None),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def calendar_regenerate(request):
    services.calendar_token_regenerate(user=request.user)
    messages.success(request, "Your calendar address is ready. Any older address stops working.")
    return redirect(f"{reverse('program:practice-settings')}#calendar")


@login_required
@require_POST
def calendar_revoke(request):
    services.calendar_token_revoke(user=request.user)
    messages.success(request, "Your calendar address is turned off.")
    return redirect(f"{reverse('program:practice-settings')}#calendar")


@require_safe
def calendar_feed(request, token: str):
    pref = selectors.preference_by_calendar_token(token=token)
    if pref is None or not pref.user.is_active:
        raise Http404("No such calendar.")
    response = HttpResponse(
        calendar.practice_calendar(pref=pref, site_name=settings.SITE_NAME),
        content_type="text/calendar; charset=utf-8",
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="practice.ics"'
    return response


# ------------------------------------------------------------------------------
# Reminder links: check-in and one-click unsubscribe (no sign-in)
# ------------------------------------------------------------------------------

ANSWERS = {
    DailyCheckIn.Answer.PRACTISED: "I practised today",
    DailyCheckIn.Answer.SKIPPED: "Skip today",
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def check_in(request, answer: str, token: str):
    if answer not in ANSWERS:
        raise Http404("No such answer.")
    check = tokens.check_in_token_check(token)
    if check.state != "valid":
        return render(
            request, "program/practice/check_in_invalid.html", {"state": check.state}, status=400
        )
    context = {"answer": answer, "button": ANSWERS[answer], "day": check.local_date}
    if request.method != "POST":
        return render(request, "program/practice/check_in.html", context)
    result = services.daily_check_in_record(
        user_id=check.user_id, local_date=check.local_date, answer=answer
    )
    return render(
        request,
        "program/practice/check_in_done.html",
        {**context, "result": result},
        status=200 if result.recorded else 409,
    )


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail program POSTs without a session or CSRF token.
@require_http_methods(["GET", "HEAD", "POST"])
def reminders_unsubscribe(request, token: str):
    user_id = tokens.unsubscribe_token_check(token)
    if user_id is None:
        return render(
            request, "program/practice/check_in_invalid.html", {"state": "bad"}, status=400
        )
    if request.method != "POST":
        return render(request, "program/practice/unsubscribe.html", {"done": False})
    services.reminders_stop(user_id=user_id)
    return render(request, "program/practice/unsubscribe.html", {"done": True})


# ------------------------------------------------------------------------------
# Comfort: larger text and higher contrast, for members (remembered) and visitors (a cookie)
# ------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def comfort(request):
    current = comfort_on(request)
    if request.method != "POST":
        return render(request, "program/practice/comfort.html", {"comfort_on": current})
    wanted = request.POST.get("comfort") == "on"
    response = HttpResponseRedirect(safe_next_path(request, reverse("program:comfort")))
    if request.user.is_authenticated:
        services.comfort_set(user=request.user, comfort=wanted)
        request.session[COMFORT_SESSION_KEY] = wanted
    response.set_cookie(
        COMFORT_COOKIE,
        "1" if wanted else "0",
        max_age=COMFORT_COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=True,
    )
    messages.success(
        request, "Larger text and higher contrast are on." if wanted else "Standard text is back."
    )
    return response


def comfort_on(request) -> bool:
    """The member's remembered choice (copied into the session at sign-in), else the cookie."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and COMFORT_SESSION_KEY in request.session:
        return bool(request.session[COMFORT_SESSION_KEY])
    return request.COOKIES.get(COMFORT_COOKIE) == "1"


def comfort_context(request) -> dict:
    """Template context processor: `comfort` for base.html's body class."""
    return {"comfort": comfort_on(request)}
