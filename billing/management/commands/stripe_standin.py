"""Run the local Stripe stand-in: `manage.py stripe_standin --host 127.0.0.1 --port 12111`."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from billing.standin import make_server
from billing.stripe_client import STRIPE_API_VERSION


class Command(BaseCommand):
    help = "Runs the local Stripe stand-in (Checkout, refunds, signed webhooks). DEBUG only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=12111)
        parser.add_argument(
            "--webhook-url",
            default="",
            help="Where events go (default: SITE_URL + the billing:stripe-webhook path).",
        )
        parser.add_argument(
            "--webhook-secret", default="", help="Signs events (default: STRIPE_WEBHOOK_SECRET)."
        )
        parser.add_argument(
            "--delivery",
            choices=["async", "before_redirect", "none"],
            default="async",
            help="async: in the background like Stripe; before_redirect: Pay waits for it.",
        )
        parser.add_argument(
            "--state-file",
            default="",
            metavar="PATH",
            help="Keep sessions, payments, refunds and events in this JSON file across restarts "
            "(loaded at start when it exists, saved after every change). Default: memory only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "The Stripe stand-in only runs with DEBUG on (DJANGO_DEBUG=1). "
                "In production the site talks to Stripe itself."
            )
        webhook_url = options["webhook_url"] or settings.SITE_URL + reverse(
            "billing:stripe-webhook"
        )
        secret = options["webhook_secret"] or settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise CommandError("Set STRIPE_WEBHOOK_SECRET or pass --webhook-secret.")
        server = make_server(
            host=options["host"],
            port=options["port"],
            webhook_url=webhook_url,
            webhook_secret=secret,
            api_version=STRIPE_API_VERSION,
            delivery=options["delivery"],
            state_file=options["state_file"] or None,
        )
        if server.state.state_file_damaged:
            self.stderr.write(self.style.WARNING(server.state_note))
        elif server.state_note:
            self.stdout.write(server.state_note)
        self.stdout.write(
            f"Stripe stand-in on {server.state.public_url} (API version {STRIPE_API_VERSION}); "
            f"events go to {webhook_url}. Ctrl-C stops it."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
