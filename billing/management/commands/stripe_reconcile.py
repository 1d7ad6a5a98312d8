"""Compare billing with Stripe now and repair what differs (the worker also runs it on a
schedule: billing.apps registers it). Safe to run at any time, any number of times."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from billing.reconcile import PROCESSING_GRACE, stripe_reconcile


class Command(BaseCommand):
    help = "Compare purchases, refunds, refund requests and disputes with Stripe; repair them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--grace-seconds",
            type=int,
            default=int(PROCESSING_GRACE.total_seconds()),
            help="Repair refund requests 'processing' for longer than this (default %(default)s).",
        )

    def handle(self, *args: Any, grace_seconds: int, **options: Any) -> None:
        report = stripe_reconcile(
            source_label="manage.py stripe_reconcile", grace=timedelta(seconds=grace_seconds)
        )
        for repair in report.repairs:
            self.stdout.write(f"Repaired {repair.what}: {repair.why}")
        for error in report.errors:
            self.stderr.write(f"Not checked: {error}")
        self.stdout.write(report.summary)
