"""Practice panels for the unit, lesson and program pages.

The pages belong to the program views; these inclusion tags add the member's practice data
with a fixed handful of queries, so the pages' views need not change.
"""

from django import template
from django.urls import reverse

from program.practice import selectors

register = template.Library()


def _here(context) -> str:
    request = context.get("request")
    return request.path if request is not None else ""


@register.inclusion_tag("program/practice/lesson_panel.html", takes_context=True)
def lesson_practice_panel(context):
    lesson = context["lesson"]
    user = context["user"]
    video = lesson.video
    signed_in = user.is_authenticated
    progress = selectors.lesson_progress(user=user, lesson=lesson) if signed_in else None
    return {
        "lesson": lesson,
        "unit": context.get("unit") or lesson.unit,
        "program": context.get("program") or lesson.unit.program,
        "user": user,
        "signed_in": signed_in,
        "video": video,
        "entry": selectors.latest_journal_entry(user=user) if signed_in else None,
        "progress": progress,
        "resume_position": progress.resume_position_seconds if progress else 0,
        "transcript": selectors.video_transcript(video=video),
        "position_url": reverse("program:lesson-position", args=[lesson.pk]) if signed_in else "",
        "lesson_url": _here(context),
    }


@register.inclusion_tag("program/practice/unit_panel.html", takes_context=True)
def unit_practice_panel(context):
    unit = context["unit"]
    user = context["user"]
    signed_in = user.is_authenticated
    return {
        "unit": unit,
        "program": context.get("program") or unit.program,
        "user": user,
        "signed_in": signed_in,
        "entry": selectors.latest_journal_entry(user=user) if signed_in else None,
        "unit_progress": selectors.unit_progress(user=user, unit=unit) if signed_in else None,
        "unit_url": _here(context),
    }


@register.inclusion_tag("program/practice/program_panel.html", takes_context=True)
def program_practice_panel(context):
    program = context["program"]
    user = context["user"]
    signed_in = user.is_authenticated
    return {
        "program": program,
        "user": user,
        "signed_in": signed_in,
        "overall": selectors.program_progress(user=user, program=program) if signed_in else None,
        "come_back": selectors.come_back_list(user=user, program=program) if signed_in else [],
    }


@register.filter
def clock(seconds) -> str:
    """12.5 -> '0:12'."""
    try:
        total = int(float(seconds))
    except (TypeError, ValueError):
        return ""
    minutes, secs = divmod(max(total, 0), 60)
    return f"{minutes}:{secs:02d}"
