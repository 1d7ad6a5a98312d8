"""Time the staff member list, search, a status filter and the CSV export (a script, not a test).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/si_members \
        .venv/bin/python manage.py seed_members --count 100000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/si_members .venv/bin/python scripts/bench_members.py

Each request goes through the whole Django stack (middleware, admin, templates) with the test
client, signed in as a superuser made for the run (and removed afterwards). Each case is run
`--repeat` times after one warm-up; the table shows the median and its ratio to the first page.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--email", default="seed51234@example.org", help="Searched address.")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from accounts.models import User

    setup_test_environment()  # the test client's host and template signals
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.DEBUG = False  # no query log: measure what production does

    total = User.objects.count()
    boss = User.objects.create_superuser(email=f"bench-{time.time_ns()}@example.invalid")
    client = Client()
    client.force_login(boss)
    base = reverse("admin:members_member_changelist")
    export = reverse("admin:members_member_export")
    cases = [
        ("member list, first page", base, False),
        ("member list, page 1000", base + "?p=1000", False),
        (f"search by email ({args.email})", base + f"?q={args.email}", False),
        ("search by part of an email (seed5123)", base + "?q=seed5123", False),
        ("status filter: paid", base + "?status=paid", False),
        ("status filter: refunded, page 10", base + "?status=refunded&p=10", False),
        ("member page", reverse("admin:members_member_change", args=[boss.pk]), False),
        ("dashboard", reverse("admin:members_dashboard"), False),
        ("CSV export, status paid (streamed)", export + "?status=paid", True),
        ("CSV export, all members (streamed)", export, True),
    ]
    results = {}
    jit = _setting(connection, "jit")
    passes = [("server default" + (f" (jit={jit})" if jit else ""), None)]
    if jit == "on":
        # PostgreSQL's JIT compiles large plans for seconds; OLTP sites usually turn it off
        # (DATABASE_URL=...?options=-c%20jit%3Doff). Measured both ways in this one run.
        passes.append(("jit=off", "SET jit = off"))
    try:
        for pass_label, statement in passes:
            if statement:
                with connection.cursor() as cursor:
                    cursor.execute(statement)
            results[pass_label] = _run(client, cases, args.repeat, reset_queries)
    finally:
        boss.delete()

    print(f"\nMembers in the database: {total:,} ({connection.vendor}); median of {args.repeat}")
    header = f"{'case':<44}"
    for pass_label in results:
        header += f" | {pass_label[:22]:>22} {'ratio':>6}"
    print(header + f" | {'bytes':>10}")
    print("-" * len(header + " | bytes     "))
    first_pass = next(iter(results.values()))
    for index, (label, _, _) in enumerate(cases):
        line = f"{label:<44}"
        for rows in results.values():
            seconds, first = rows[index][1], rows[0][1]
            line += f" | {seconds * 1000:>19.1f} ms {seconds / first:>6.2f}"
        print(line + f" | {first_pass[index][2]:>10,}")
    return 0


def _setting(connection, name: str) -> str | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def _run(client, cases, repeat, reset_queries) -> list:
    results = []
    for label, url, streamed in cases:
        times, size = [], 0
        for attempt in range(repeat + 1):
            reset_queries()
            started = time.perf_counter()
            response = client.get(url)
            if streamed:
                size = sum(len(chunk) for chunk in response.streaming_content)
            else:
                size = len(response.content)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"{label}: HTTP {response.status_code} for {url}")
            if attempt:  # the first run warms caches
                times.append(elapsed)
        results.append((label, statistics.median(times), size))
    return results


if __name__ == "__main__":
    raise SystemExit(main())
