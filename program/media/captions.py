"""A video's WebVTT captions as transcript cues.

The cues are parsed once, when the video is saved (media.services.video_update_file_info), and
kept on Video.caption_cues, so the lesson page shows the transcript without opening the file.
"""

import logging

from django.core.exceptions import SuspiciousFileOperation
from django.utils.html import strip_tags

logger = logging.getLogger(__name__)

# Captions are a few kilobytes; a bigger upload is not a transcript worth showing whole.
CAPTIONS_MAX_BYTES = 512 * 1024


def _parse_timestamp(value: str) -> float | None:
    parts = value.strip().replace(",", ".").split(":")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 2:
        numbers = [0.0, *numbers]
    if len(numbers) != 3:
        return None
    hours, minutes, seconds = numbers
    return hours * 3600 + minutes * 60 + seconds


def parse_vtt(text: str) -> list[dict]:
    """WebVTT cues as {"start_seconds", "start_label", "text"}; markup like <v Speaker> is
    dropped, the template escapes the rest. NOTE, STYLE and REGION blocks are skipped, and so are
    lines that are not cues."""
    cues: list[dict] = []
    blocks = text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
    for block in blocks:
        lines = [line for line in block.split("\n") if line.strip()]
        if not lines:
            continue
        if lines[0].startswith(("WEBVTT", "NOTE", "STYLE", "REGION")):
            continue
        timing_index = next((i for i, line in enumerate(lines) if "-->" in line), None)
        if timing_index is None:
            continue
        start = _parse_timestamp(lines[timing_index].split("-->")[0])
        if start is None:
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
