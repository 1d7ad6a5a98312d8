import signal
import time
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.schedule import registered, schedule_enqueue_due


class Command(BaseCommand):
    help = (
        "Put recurring jobs (Stripe reconciliation, reminders, retention) on the task queue when "
        "they are due; db_worker runs them. Runs until stopped, or once with --once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Check once and exit.")
        parser.add_argument(
            "--interval", type=float, default=15.0, help="Seconds between checks (default 15)."
        )

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        names = ", ".join(job.name for job in registered()) or "none"
        self.stdout.write(f"Recurring jobs: {names}")
        while not stopping:
            for item in schedule_enqueue_due():
                self.stdout.write(f"Enqueued {item.name} (task {item.task_id})")
            if once:
                break
            slept = 0.0
            while slept < interval and not stopping:
                time.sleep(0.5)
                slept += 0.5
