"""The installable web app and the offline practice pack: manifest, service worker, offline page,
what a unit's offline copy holds, which copies a member may keep, and actions made offline."""

import json
import uuid
from datetime import UTC, datetime

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from core.http import id_from
from program import access
from program.models import Lesson, OfflineAction, Program, Unit
from program.offline import selectors, services
from program.practice import selectors as practice_selectors

MAX_SYNC_BODY = 10_000


@require_safe
def manifest(request):
    data = {
        "name": "Comforting Your S-I Joints",
        "short_name": "S-I Joints",
        "description": "Gentle movement lessons for sacroiliac joint pain, also offline.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#1d5e7a",
        "icons": [
            {"src": static("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static("img/icon-512-maskable.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def service_worker(request):
    """Served from the site root so its scope is the whole site; never cached by HTTP, so a new
    release's worker is found at the next visit."""
    response = render(
        request,
        "program/offline/sw.js",
        {"offline_url": "/offline/"},
        content_type="text/javascript; charset=utf-8",
    )
    response["Cache-Control"] = "no-cache"
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline_page(request):
    """What the app shows with no network and a page that was not saved. It is the same for
    everyone (the service worker keeps one copy), so it is rendered as for a visitor whoever
    asks: no name, no CSRF token, and no "who is signed in" for offline.js (offline_shell), which
    then reads the member from the device's own record instead."""
    request.user = AnonymousUser()
    response = render(request, "program/offline/offline.html", {"offline_shell": True})
    response["Cache-Control"] = "public, max-age=600"
    return response


@never_cache
@login_required
@require_safe
def unit_pack(request, unit_id: int):
    unit = get_object_or_404(Unit.objects.select_related("program"), pk=unit_id)
    if not access.unit_is_open(user=request.user, unit=unit):
        raise Http404
    return JsonResponse({"user": request.user.pk, **selectors.unit_pack(unit=unit)})


@never_cache
@require_safe
def keep_check(request):
    """Which saved lessons this browser may keep: `?lessons=1,2,3` -> {"user", "keep": [...]}.
    Asked at every online visit; what is not listed is deleted from the device."""
    raw = request.GET.get("lessons", "")[:2000]
    ids = [n for part in raw.split(",") if (n := id_from(part.strip())) is not None][:500]
    user = request.user if request.user.is_authenticated else None
    return JsonResponse(
        {
            "user": user.pk if user else None,
            "keep": selectors.lessons_to_keep(user=user, lesson_ids=ids),
        }
    )


def _bad(message: str) -> JsonResponse:
    return JsonResponse({"status": "invalid", "error": message}, status=400)


@never_cache
@login_required
@require_POST
def sync(request):
    """One action queued offline: {"client_id", "kind", "lesson" | "program", "side", "pain",
    "note", "done_at"}. Answers "recorded", or "duplicate" when that client id was seen before
    (both mean: remove it from the queue); 400 when it can never be recorded."""
    if len(request.body) > MAX_SYNC_BODY:
        return _bad("Too long.")
    try:
        data = json.loads(request.body)
        client_id = uuid.UUID(str(data.get("client_id", "")))
    except (ValueError, TypeError, AttributeError):
        return _bad("Not a queued action.")
    kind = data.get("kind")
    if kind not in OfflineAction.Kind.values:
        return _bad("Unknown action.")
    if not practice_selectors.safety_acknowledged(user=request.user):
        return _bad("Please read the safety note before practising.")
    lesson = program = None
    if kind == OfflineAction.Kind.JOURNAL:
        program = Program.objects.published().filter(slug=str(data.get("program", ""))).first()
        if program is None:
            return _bad("Unknown program.")
    else:
        lesson = (
            Lesson.objects.select_related("unit__program")
            .filter(pk=data.get("lesson") if str(data.get("lesson", "")).isdigit() else None)
            .first()
        )
        if lesson is None or not access.lesson_is_open(user=request.user, lesson=lesson):
            return _bad("This lesson is not open to you.")
    pain = data.get("pain")
    if pain in ("", None):
        pain = None
    elif not str(pain).isdigit():
        return _bad("Pain is a number from 0 to 10.")
    done_at = None
    if isinstance(data.get("done_at"), int | float):
        try:
            done_at = datetime.fromtimestamp(data["done_at"] / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            done_at = None
    try:
        result = services.offline_action_record(
            user=request.user,
            client_id=client_id,
            kind=kind,
            lesson=lesson,
            program=program,
            side=str(data.get("side", ""))[:10],
            pain=int(pain) if pain is not None else None,
            note=str(data.get("note", ""))[:2000],
            done_at=done_at,
        )
    except ValidationError as error:
        return _bad(" ".join(error.messages))
    return JsonResponse({"status": "recorded" if result.recorded else "duplicate"})
