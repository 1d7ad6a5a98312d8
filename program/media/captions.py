"""A video's WebVTT captions as transcript cues.

The cues are parsed once, when the video is saved (media.services.video_update_file_info), and
kept on Video.caption_cues, so the lesson page shows the transcript without opening the file.
"""

import logging
import re

from django.core.exceptions import SuspiciousFileOperation
from django.utils.html import strip_tags

logger = logging.getLogger(__name__)

# Captions are a few kilobytes; a bigger upload is not a transcript worth showing whole.
CAPTIONS_MAX_BYTES = 512 * 1024


# WebVTT's timestamp: optional hours, minutes, seconds with optional fraction ("01:02.500",
# "1:01:02,5" from SRT-minded tools). Digits only: float() would also read "inf", "nan", "1e308".
_TIMESTAMP = re.compile(r"(?:(\d{1,5}):)?(\d{1,2}):(\d{1,2}(?:[.,]\d{1,3})?)")
# Control characters (C0 but tab and newline, DEL, C1): nothing to show, and PostgreSQL's jsonb
# refuses a NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class CaptionsError(ValueError):
    """A captions file the transcript cannot be read from; the message is for staff."""


def _parse_timestamp(value: str) -> float | None:
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds.replace(",", "."))


def parse_vtt(text: str, *, strict: bool = False) -> list[dict]:
    """WebVTT cues as {"start_seconds", "start_label", "text"}; markup like <v Speaker> is
    dropped, the template escapes the rest. NOTE, STYLE and REGION blocks are skipped, and so are
    lines that are not cues. A cue whose start is not a time is skipped too, or, with strict (an
    upload staff can correct), raises CaptionsError."""
    cues: list[dict] = []
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = text.split("\n\n")
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing_index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_index is None:
            continue
        raw_start = lines[timing_index].split("-->")[0]
        start = _parse_timestamp(raw_start)
        if start is None:
            if strict:
                shown = raw_start.strip()[:40]
                raise CaptionsError(
                    f"The cue time “{shown}” is not a time: write it as 00:01.500 or "
                    "00:00:01.500 (hours, minutes, seconds)."
                )
            continue
        words = " ".join(strip_tags(line) for line in lines[timing_index + 1 :]).strip()
        if not words:
            continue
        minutes, seconds = divmod(int(start), 60)
        cues.append(
            {"start_seconds": start, "start_label": f"{minutes}:{seconds:02d}", "text": words}
        )
    return cues


def captions_cues(captions) -> list[dict]:
    """The cues of a stored captions file (a Video.captions field file); [] when there is none
    or it cannot be read."""
    if not captions:
        return []
    try:
        with captions.open("rb") as handle:
            raw = handle.read(CAPTIONS_MAX_BYTES)
    except (OSError, SuspiciousFileOperation, ValueError):
        logger.warning("captions file %s could not be read", captions.name)
        return []
    return parse_vtt(raw.decode("utf-8-sig", errors="replace"))
