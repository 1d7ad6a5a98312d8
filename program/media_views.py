"""Private media: every request checks access; files are never reachable by path."""

from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from program import selectors
from program.models import Video

KINDS = {"video": "file", "poster": "poster", "captions": "captions", "audio": "audio"}


@require_safe
def serve_media(request, video_id: int, kind: str):
    if kind not in KINDS:
        raise Http404
    video = Video.objects.filter(pk=video_id).first()
    if video is None or not selectors.can_view_video(user=request.user, video=video):
        raise Http404
    field = getattr(video, KINDS[kind])
    if not field:
        raise Http404
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "private, max-age=3600"
    return response
