"""Reads of the offline practice pack: what a member may save, and may keep."""

from django.urls import reverse

from program import access
from program.models import Lesson, Unit


def lessons_to_keep(*, user, lesson_ids: list[int]) -> list[int]:
    """Of the lessons a browser holds offline, those `user` may still open (one query). A
    signed-out visitor keeps nothing: offline copies are for members' own devices."""
    if user is None or not user.is_authenticated or not lesson_ids:
        return []
    return sorted(
        Lesson.objects.filter(access.open_lessons_q(user=user), pk__in=lesson_ids).values_list(
            "pk", flat=True
        )
    )


def _size(stored) -> int:
    try:
        return stored.storage.size(stored.name) if stored else 0
    except OSError:
        return 0


def unit_pack(*, unit: Unit) -> dict:
    """Everything a browser stores to practise `unit` offline: each lesson's page, its captions
    and poster, and its media in the two choices (audio only, or the smallest video as one
    MP4), with their sizes so the member sees what a choice costs before saving."""
    program = unit.program
    lessons = []
    for lesson in unit.lessons.select_related("video").order_by("position", "id"):
        video = lesson.video
        item = {
            "id": lesson.pk,
            "title": lesson.title,
            "page": reverse("program:lesson", args=[program.slug, unit.slug, lesson.slug]),
            "files": [],
            "video": None,
            "audio": None,
        }
        if video is not None:
            if video.captions:
                item["files"].append(reverse("program:media", args=[video.pk, "captions"]))
            if video.poster:
                item["files"].append(reverse("program:media", args=[video.pk, "poster"]))
            offline = next((r for r in video.hls_renditions if r.get("kind") == "offline"), None)
            if video.hls_ready and offline:
                item["video"] = {
                    "url": reverse("program:media", args=[video.pk, "offline"]),
                    "bytes": offline["bytes"],
                }
            elif video.file:
                item["video"] = {
                    "url": reverse("program:media", args=[video.pk, "video"]),
                    "bytes": video.size_bytes,
                }
            if video.audio:
                item["audio"] = {
                    "url": reverse("program:media", args=[video.pk, "audio"]),
                    "bytes": _size(video.audio),
                }
            item["media_of"] = reverse("program:media", args=[video.pk, "video"])
        lessons.append(item)
    return {
        "unit": unit.pk,
        "title": unit.title,
        "page": reverse("program:unit", args=[program.slug, unit.slug]),
        "journal": f"{reverse('program:journal')}?program={program.slug}",
        "lessons": lessons,
    }
