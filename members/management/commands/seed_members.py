import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from members.seeding import members_seed
from program.models import Program


class Command(BaseCommand):
    help = (
        "Create many members with purchases (bulk inserts in batches), for benchmarks: "
        "seed{n}@example.org, a third paid, some refunded or complimentary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--prefix", default="seed", help="Email prefix (must be new).")
        parser.add_argument("--program", help="Program slug (default: the first program).")

    def handle(self, *args, count, batch_size, prefix, program, **options):
        programs = Program.objects.order_by("id")
        chosen = programs.filter(slug=program).first() if program else programs.first()
        if chosen is None:
            if program:
                raise CommandError(f"No program with the slug {program!r}.")
            chosen = Program.objects.create(
                title="Seed program", slug="seed-program", price_cents=9700, currency="usd"
            )
        if User.objects.filter(email=f"{prefix}1@example.org").exists():
            raise CommandError(f"Members with the prefix {prefix!r} exist; use another --prefix.")
        started = time.perf_counter()
        created = members_seed(count=count, program=chosen, prefix=prefix, batch_size=batch_size)
        elapsed = time.perf_counter() - started
        self.stdout.write(f"Created {created} members for {chosen} in {elapsed:.1f} s.")
