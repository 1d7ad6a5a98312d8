"""manage.py seed_demo [--password P]: demo program, pages, sample videos and demo accounts."""

import os

from django.core.management.base import BaseCommand, CommandError

from demo.content import ACCOUNTS
from demo.purchase import demo_purchase_make
from demo.seed import demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo program 'Comforting Your S-I Joints' (Unit 1 free), its pages, sample "
        "videos and the accounts admin@, member@ and free@example.com. Safe to run again: only "
        "what is missing is created."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=None,
            help="Password for the demo accounts (default: the DEMO_PASSWORD environment variable).",
        )

    def handle(self, *args, password=None, **options):
        password = password or os.environ.get("DEMO_PASSWORD", "")
        if not password:
            raise CommandError(
                "Give the demo accounts a password: --password SOMETHING or DEMO_PASSWORD=SOMETHING."
            )
        report = demo_seed(password=password, buy=demo_purchase_make)
        if report.created:
            for line in report.created:
                self.stdout.write(f"created {line}")
        else:
            self.stdout.write("demo content already present; nothing changed")
        for line in report.notes:
            self.stdout.write(self.style.WARNING(f"note: {line}"))
        logins = ", ".join(account["email"] for account in ACCOUNTS)
        self.stdout.write(self.style.SUCCESS(f"demo logins: {logins}"))
