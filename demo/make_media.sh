#!/usr/bin/env bash
# Makes the demo sample media committed under demo/media/ (kept for reference: seed_demo
# only copies the committed files, so it works on a machine without ffmpeg).
#
# For each sample: a short H.264 (Main) / AAC MP4 with the moov box first (+faststart, so a browser
# can start playing and seek with range requests before the whole file arrives), a keyframe every
# 2 seconds (quick seeking), a JPEG poster, a WebVTT captions file and an AAC audio-only .m4a.
# Run from anywhere: bash demo/make_media.sh
# The samples' .vtt files here are generic; each demo lesson's own transcript is a hand-written
# file in demo/captions/<lesson slug>.vtt (seed_demo uses it instead of the sample's).
set -euo pipefail
OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/media"
mkdir -p "$OUT"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
SECONDS_LONG=8

# name | tone (Hz) | title on screen (no colons or quotes: drawtext would need escaping)
SAMPLES=(
  "welcome|220|Welcome and how to practise"
  "pelvic-rock|262|Gentle pelvic rock"
  "knee-sway|294|Knee sway and rest"
  "self-check|330|Self-check"
)

for sample in "${SAMPLES[@]}"; do
  IFS='|' read -r name tone title <<<"$sample"
  filter="null"
  if [ -f "$FONT" ]; then
    filter="drawtext=fontfile=${FONT}:text='${title}':fontcolor=white:fontsize=34:box=1:boxcolor=black@0.6:boxborderw=12:x=(w-text_w)/2:y=h-text_h-40"
  fi
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i "testsrc2=size=640x360:rate=25" \
    -f lavfi -i "sine=frequency=${tone}:sample_rate=44100" \
    -t "$SECONDS_LONG" -vf "$filter" \
    -c:v libx264 -preset slow -crf 30 -pix_fmt yuv420p -profile:v main -level 3.0 -g 50 \
    -c:a aac -b:a 64k -ac 1 \
    -movflags +faststart -map_metadata -1 -metadata title="$title" \
    "$OUT/$name.mp4"
  ffmpeg -hide_banner -loglevel error -y -ss 1 -i "$OUT/$name.mp4" -frames:v 1 -q:v 5 \
    "$OUT/$name.jpg"
  ffmpeg -hide_banner -loglevel error -y -i "$OUT/$name.mp4" -vn -c:a copy \
    -movflags +faststart -map_metadata -1 "$OUT/$name.m4a"
  cat >"$OUT/$name.vtt" <<VTT
WEBVTT

00:00:00.000 --> 00:00:03.000
${title}.

00:00:03.000 --> 00:00:06.000
Move slowly, only as far as is comfortable, and breathe out as you let go.

00:00:06.000 --> 00:00:08.000
Rest and notice how your back feels.
VTT
done
ls -l "$OUT"
du -sh "$OUT"
