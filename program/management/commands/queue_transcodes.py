"""Queue the HLS transcode of every video whose streaming versions are not made or waiting.

Safe to run again: ready ladders of the current file and transcodes already waiting are left
alone. `./scripts/run.sh` runs it after `seed_demo`, so the local worker makes the demo's ladders;
after a deploy that adds HLS, run it once to transcode the existing videos.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from program.media.tasks import video_hls_schedule
from program.models import HlsStatus, Video


class Command(BaseCommand):
    help = "Queue HLS transcodes for videos without a ready or waiting ladder."

    def handle(self, *args, **options):
        queued = 0
        for video in Video.objects.exclude(file="").order_by("pk"):
            waiting = video.hls_status == HlsStatus.QUEUED and video.hls_source == video.file.name
            if video.hls_ready or waiting:
                continue
            with transaction.atomic():
                video_hls_schedule(video=video)
            queued += 1
        self.stdout.write(f"Queued {queued} transcode(s).")
