"""Adaptive streaming (HLS): the rendition ladder, the ffmpeg command, and the signed segment URLs.

Pure helpers (no database, no storage) shared by the transcode task and the playlist views.

The ladder: H.264 (Main) + AAC in fragmented MP4 segments of 2 seconds, one rendition per
rung up to the source's own height, each with the sound muxed in (a player switching rendition
never loses sound), plus an audio-only rendition. Key frames are forced every 2 seconds in every
rendition, so segment boundaries line up and the player can switch at any segment. Short segments
because the first one must arrive whole before the first frame shows: at 400 kbit/s a 2-second
segment of the smallest rung takes about 1.3 s, a 4-second one 2.6 s (too slow for the 3-second
start we aim at on a weak signal).

Segment URLs carry a token: an HMAC (key derived from SECRET_KEY) over the member's id, the video,
the transcode's random folder, the expiry and the member's session cookie. The master playlist
(access-checked) puts it into each rendition playlist's path, and the segments, named relative to
their playlist, inherit it. The segment view checks it with no database query; a token copied into
another browser (another session), edited, or older than HLS_TOKEN_SECONDS is refused.
"""

import hmac
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

SEGMENT_SECONDS = 2
AUDIO_BITRATE = 64_000
AUDIO_RENDITION = "audio"


@dataclass(frozen=True)
class Rung:
    height: int
    video_bitrate: int

    @property
    def name(self) -> str:
        return f"{self.height}p"


# Bitrates for calm footage of one person moving slowly: the smallest rung (about 270 kbit/s with
# sound) plays on a weak phone signal of 400 kbit/s.
LADDER = (Rung(240, 200_000), Rung(360, 500_000), Rung(540, 1_200_000), Rung(720, 2_500_000))


def ladder_for(source_height: int) -> list[Rung]:
    """The rungs up to the source's height (never upscaled); a tiny source gets one rung."""
    rungs = [rung for rung in LADDER if rung.height <= source_height]
    if not rungs:
        height = max(2, source_height - source_height % 2)
        rungs = [Rung(height, LADDER[0].video_bitrate)]
    return rungs


def ffmpeg_hls_command(
    *, ffmpeg: str, source: str, out_dir: str, rungs: list[Rung], has_audio: bool
) -> list[str]:
    """One ffmpeg run writing every rendition, their playlists and master.m3u8 into `out_dir`,
    reporting progress as key=value lines on stdout (`-progress pipe:1`)."""
    n = len(rungs)
    splits = "".join(f"[v{i}]" for i in range(n))
    graph = [f"[0:v]split={n}{splits}"] + [
        f"[v{i}]scale=-2:{rung.height}[o{i}]" for i, rung in enumerate(rungs)
    ]
    command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-nostats", "-y"]
    command += ["-progress", "pipe:1", "-i", source, "-filter_complex", ";".join(graph)]
    stream_map = []
    audio_index = 0
    for i, rung in enumerate(rungs):
        command += ["-map", f"[o{i}]"]
        entry = f"v:{i}"
        if has_audio:
            command += ["-map", "0:a:0"]
            entry += f",a:{audio_index}"
            audio_index += 1
        stream_map.append(f"{entry},name:{rung.name}")
        bitrate = rung.video_bitrate
        command += [f"-b:v:{i}", str(bitrate), f"-maxrate:v:{i}", str(bitrate * 11 // 10)]
        command += [f"-bufsize:v:{i}", str(bitrate * 2)]
    if has_audio:
        command += ["-map", "0:a:0"]
        stream_map.append(f"a:{audio_index},name:{AUDIO_RENDITION}")
        command += ["-c:a", "aac", "-b:a", str(AUDIO_BITRATE)]
    command += ["-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main"]
    command += ["-pix_fmt", "yuv420p", "-sc_threshold", "0"]
    command += ["-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})"]
    command += ["-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod"]
    command += ["-hls_segment_type", "fmp4", "-hls_flags", "independent_segments"]
    command += ["-hls_segment_filename", f"{out_dir}/%v/seg%03d.m4s"]
    command += ["-master_pl_name", "master.m3u8", "-var_stream_map", " ".join(stream_map)]
    command += [f"{out_dir}/%v/index.m3u8"]
    return command


def progress_seconds(line: str) -> float | None:
    """The media time ffmpeg has written, from one `-progress` line (`out_time_us=8010884`)."""
    key, _, value = line.strip().partition("=")
    if key != "out_time_us":
        return None
    try:
        return max(int(value), 0) / 1_000_000
    except ValueError:
        return None  # "N/A" before the first frame


_ATTRIBUTE = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')


def parse_master(text: str) -> list[dict]:
    """The variants of ffmpeg's master playlist: name (the folder), bandwidth, resolution, codecs."""
    variants = []
    attributes = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXT-X-STREAM-INF:"):
            attributes = dict(_ATTRIBUTE.findall(line.partition(":")[2]))
        elif line and not line.startswith("#") and attributes is not None:
            variants.append(
                {
                    "name": line.split("/")[0],
                    "bandwidth": int(attributes.get("BANDWIDTH", "0")),
                    "resolution": attributes.get("RESOLUTION", ""),
                    "codecs": attributes.get("CODECS", "").strip('"'),
                }
            )
            attributes = None
    return variants


def render_master(renditions: list[dict], playlist_url) -> str:
    """The master playlist: one variant per rendition, smallest video first (players start
    there before they have measured anything), the audio-only one last."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rendition in renditions:
        if rendition.get("kind") not in ("video", "audio"):
            continue
        info = f"BANDWIDTH={rendition['bandwidth']}"
        if rendition.get("resolution"):
            info += f",RESOLUTION={rendition['resolution']}"
        if rendition.get("codecs"):
            info += f',CODECS="{rendition["codecs"]}"'
        lines += [f"#EXT-X-STREAM-INF:{info}", playlist_url(rendition["name"])]
    return "\n".join(lines) + "\n"


_MAP_URI = re.compile(r'URI="([^"]+)"')
SEGMENT_FILE = re.compile(r"(init_[0-9]{1,2}\.mp4|seg[0-9]{3,6}\.m4s)")


def rewrite_media_playlist(text: str, segment_url) -> str:
    """The rendition's playlist with every segment (and the init segment) at `segment_url(name)`.

    Only names ffmpeg writes are kept; anything else in a stored playlist is dropped, so a
    playlist can never point the player elsewhere."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#EXT-X-MAP:"):
            match = _MAP_URI.search(line)
            if not match or not SEGMENT_FILE.fullmatch(match.group(1)):
                continue
            line = line.replace(match.group(0), f'URI="{segment_url(match.group(1))}"')
        elif not line.startswith("#"):
            if not SEGMENT_FILE.fullmatch(line):
                continue
            line = segment_url(line)
        out.append(line)
    return "\n".join(out) + "\n"


# --- signed segment tokens ------------------------------------------------------------------

_SALT = "program.media.hls.segment"


def _signature(*, user_id: int, video_id: int, folder: str, expires: int, session: str) -> str:
    value = f"{user_id}:{video_id}:{folder}:{expires}:{session}"
    return salted_hmac(_SALT, value, algorithm="sha256").hexdigest()[:40]


def segment_token(
    *, user_id: int, video_id: int, folder: str, session: str, now: float | None = None
) -> str:
    """`<user id>.<expiry>.<signature>` for the segments of one transcode, valid for
    HLS_TOKEN_SECONDS. `session` is the requester's session cookie ("" for a visitor without
    one), so the token works only in the browser it was issued to."""
    expires = int(now if now is not None else time.time()) + settings.HLS_TOKEN_SECONDS
    sig = _signature(
        user_id=user_id, video_id=video_id, folder=folder, expires=expires, session=session
    )
    return f"{user_id}.{expires}.{sig}"


def segment_token_is_valid(
    token: str, *, video_id: int, folder: str, session: str, now: float | None = None
) -> bool:
    """Whether `token` was issued for this video's transcode, to this session, and is unexpired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return False
    user_id, expires, sig = int(parts[0]), int(parts[1]), parts[2]
    if expires < (now if now is not None else time.time()):
        return False
    expected = _signature(
        user_id=user_id, video_id=video_id, folder=folder, expires=expires, session=session
    )
    return hmac.compare_digest(expected, sig)
