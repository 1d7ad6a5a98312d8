"""Benchmark: the site under gunicorn on PostgreSQL (and Redis), driven by wrk from a second
process, its rows interleaved over several rounds so a noisy machine skews no row.

    ./scripts/bench.sh [--rounds 8] [--duration 3] [--threads 2] [--connections 8] [--workers N]
                       [--only home,outline,public,lesson]

Not a test. BENCH_DB names the database (default si_bench), so two checkouts can be measured back
to back without sharing one; BENCH_PORT the port gunicorn listens on (default: a free one). It
1. creates (if missing) and migrates the PostgreSQL database, seeds the demo content
   (seed_demo runs with DJANGO_DEBUG=1, as it requires), stores a 5 MB video on a member lesson,
   and opens a member's session directly in the database (its cookie goes to wrk);
2. collects static files (WhiteNoise's hashed, compressed manifest needs them when DEBUG is off);
3. starts gunicorn with config/gunicorn.py and production settings (DEBUG off, a throwaway secret
   key, ALLOWED_HOSTS for loopback, HTTPS assumed behind a proxy: every request carries
   `X-Forwarded-Proto: https`, as the load balancer would add). The cache is Redis, as production
   with more than one host runs it (BENCH_REDIS_URL, default redis://127.0.0.1:6379/13, under a key
   prefix of this run's own; the database cache table when no Redis answers);
4. warms every row up once, then runs the rows one after another (healthz first), and that again
   for --rounds rounds: A B C A B C ... Each row's throughput is divided by healthz's from the
   same round, so a neighbour's load during one round moves both; the table shows the median of
   those ratios and their min-max over the rounds;
5. reads the server's own timing of every measured request from gunicorn's access log
   (duration_us, config/gunicorn.py) and prints each row's p50 and p95, and its p95 as a multiple
   of healthz's; wrk's latency includes the wait in the listen queue, the server's does not.
The load average (1 minute) is printed per round and at the end: figures from a machine whose load
is above its CPU count are the ratios, not the absolute numbers.

The webhook row posts one signed Stripe event body again and again: the first delivery records
and handles it, every later one is a verified duplicate (signature checked, event found, answered
"Already processed"), which is what Stripe's retries look like. Its signature is made just before
each run, well inside the 5-minute tolerance.
"""

import argparse
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB", "si_bench")
PG_SERVER = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
VIDEO_BYTES = 5 * 1024 * 1024
WEBHOOK_SECRET = "whsec_bench_" + "0" * 24
# The rows of the table, in order, as --only names them (see endpoints()).
ENDPOINT_KEYS = ["healthz", "home", "outline", "public", "lesson", "video", "segment", "webhook"]
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
# The port gunicorn listens on (a free one when unset), for a machine whose ports are shared out.
PORT = int(os.environ.get("BENCH_PORT", "0"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def site_env(workdir: Path, secret_key: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "STRIPE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secret_key,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        DATABASE_URL=f"{PG_SERVER}/{DB_NAME}",
        PRIVATE_MEDIA_ROOT=str(ROOT / "var" / "bench-media"),
        SITE_URL="https://127.0.0.1",
        EMAIL_URL="smtp://127.0.0.1:25",  # nothing is sent during the benchmark
        STRIPE_SECRET_KEY="sk_test_bench_never_used",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_in_django() -> None:
    """Runs inside Django (a subprocess): the 5 MB video, a member session, the URLs to hit."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.files.base import ContentFile
    from django.urls import reverse

    from accounts.models import User
    from program.media import hls
    from program.media.services import video_update_file_info
    from program.media.tasks import transcode_hls
    from program.models import Lesson, Program, Video

    program = Program.objects.filter(published=True).order_by("pk").first()
    free_unit = program.units.filter(is_free=True).order_by("position").first()
    public_lesson = free_unit.lessons.order_by("position").first()
    paid_unit = program.units.filter(is_free=False).order_by("position").first()
    lesson = paid_unit.lessons.order_by("position").first()
    video = Video.objects.filter(title="Benchmark 5 MB").first()
    if video is None or not video.file:
        video = video or Video(title="Benchmark 5 MB", duration_seconds=60)
        video.file.save("bench-5mb.mp4", ContentFile(os.urandom(VIDEO_BYTES)), save=True)
        video = video_update_file_info(video=video)
    Lesson.objects.get_or_create(
        unit=paid_unit,
        slug="benchmark-video",
        defaults={"title": "Benchmark video", "position": 999, "video": video},
    )
    member = User.objects.get(email="member@example.com")
    session = SessionStore()
    session[SESSION_KEY] = str(member.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = member.get_session_auth_hash()
    session.create()
    # The segment row: a demo video's HLS ladder (ffmpeg, once) and one 240p segment's signed URL,
    # valid for HLS_TOKEN_SECONDS from now and for this session only, as the player gets it.
    demo_video = Lesson.objects.filter(video__isnull=False).exclude(video=video).first().video
    if not demo_video.hls_ready:
        transcode_hls.call(demo_video.pk)
        demo_video.refresh_from_db()
    token = hls.segment_token(
        user_id=member.pk,
        video_id=demo_video.pk,
        folder=demo_video.hls_folder,
        session=session.session_key,
    )
    segment = reverse(
        "program:hls-segment",
        args=[demo_video.pk, demo_video.hls_folder, token, "240p", "seg000.m4s"],
    )
    print(
        json.dumps(
            {
                "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                "outline": reverse("program:detail", args=[program.slug]),
                "public": reverse(
                    "program:lesson", args=[program.slug, free_unit.slug, public_lesson.slug]
                ),
                "lesson": reverse(
                    "program:lesson", args=[program.slug, paid_unit.slug, lesson.slug]
                ),
                "video": reverse("program:media", args=[video.pk, "video"]),
                "segment": segment,
                "webhook": reverse("billing:stripe-webhook"),
            }
        )
    )


def wait_until_up(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited; see its log above")
        try:
            request = urllib.request.Request(
                base + "/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(request, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    sys.exit("gunicorn did not answer /healthz in time")


def lua_script(*, method: str, headers: dict[str, str], body: str | None) -> str:
    lines = [f"wrk.method = {json.dumps(method)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    lines.append(
        """
local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\":%d,\\"duration_us\\":%d,\\"p50_us\\":%d,\\"p95_us\\":%d," ..
    "\\"bad_status\\":%d,\\"socket_errors\\":%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""
    )
    return "\n".join(lines)


def check_once(url: str, *, method: str, headers: dict[str, str], body: str | None) -> int:
    request = urllib.request.Request(
        url, method=method, headers=headers, data=body.encode() if body is not None else None
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as answer:
            answer.read()
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def run_wrk(url: str, script: Path, *, duration: float, threads: int, connections: int) -> dict:
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if line is None:
        sys.exit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    data = json.loads(line[6:])
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


def stripe_body_and_signature() -> tuple[str, str]:
    body = json.dumps(
        {
            "id": "evt_bench_0001",
            "object": "event",
            "type": "customer.created",
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": {"id": "cus_bench", "object": "customer"}},
        }
    )
    t = int(time.time())
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return body, f"t={t},v1={mac}"


def prepare_site(secret_key: str) -> tuple[dict, dict[str, str]]:
    """Database, demo content, video, member session, static files; returns the URLs to hit
    and the production environment for gunicorn."""
    ensure_database()
    debug_env = site_env(ROOT, secret_key, DJANGO_DEBUG="1")
    print(f"Preparing {DB_NAME}: migrate, seed_demo, 5 MB video, member session, collectstatic ...")
    manage("migrate", "--noinput", env=debug_env)
    manage("seed_demo", "--password", secrets.token_urlsafe(12), env=debug_env)
    prepared = subprocess.run(
        [sys.executable, __file__, "--prepare"],
        cwd=ROOT,
        env=debug_env,
        capture_output=True,
        text=True,
    )
    if prepared.returncode != 0:
        sys.exit(f"preparing failed:\n{prepared.stdout}\n{prepared.stderr}")
    urls = json.loads(prepared.stdout.strip().splitlines()[-1])
    prod_env = site_env(ROOT, secret_key, **redis_env())
    manage("createcachetable", env=prod_env)
    manage("collectstatic", "--noinput", env=prod_env)
    manage("check", "--deploy", "--fail-level", "WARNING", env=prod_env)
    return urls, prod_env


def redis_env() -> dict[str, str]:
    """REDIS_URL and a key prefix of this run's own when Redis answers; else nothing (the site
    then keeps its cache in a database table)."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as error:  # noqa: BLE001 (no Redis, or no redis package: say so, go on)
        print(f"No Redis at {REDIS_URL} ({error}): the cache is a database table.")
        return {}
    return {"REDIS_URL": REDIS_URL, "CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}"}


def start_gunicorn(
    tree: Path, prod_env: dict[str, str], *, workers: int | None, log
) -> tuple[subprocess.Popen, str]:
    """gunicorn serving the checkout in `tree` on a free loopback port, once it answers."""
    port = PORT or free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn_env = dict(prod_env, GUNICORN_BIND=f"127.0.0.1:{port}")
    if workers:
        gunicorn_env["GUNICORN_WORKERS"] = str(workers)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=tree,
        env=gunicorn_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(base, server)
    except BaseException:
        stop_gunicorn(server)
        raise
    return server, base


def stop_gunicorn(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def endpoints(urls: dict) -> list[tuple]:
    """The rows of the table: (key for --only, name, path, method, headers, body, status)."""
    proxy = {"X-Forwarded-Proto": "https"}
    member = {**proxy, "Cookie": urls["cookie"]}
    video = {**member, "Range": "bytes=0-1048575"}
    return [
        ("healthz", "healthz", "/healthz", "GET", proxy, None, 200),
        ("home", "home article (visitor)", "/", "GET", proxy, None, 200),
        ("outline", "outline (visitor)", urls["outline"], "GET", proxy, None, 200),
        ("public", "public lesson, Unit 1 (visitor)", urls["public"], "GET", proxy, None, 200),
        ("lesson", "lesson page (member)", urls["lesson"], "GET", member, None, 200),
        ("video", "1 MB video range (member)", urls["video"], "GET", video, None, 206),
        ("segment", "HLS segment, 2 s at 240p (member)", urls["segment"], "GET", member, None, 200),
        ("webhook", "verified webhook", urls["webhook"], "POST", proxy, "WEBHOOK", 200),
    ]


def measure(
    base: str,
    path: str,
    method: str,
    headers: dict[str, str],
    body: str | None,
    expected: int,
    *,
    script: Path,
    duration: float,
    warmup: float,
    threads: int,
    connections: int,
) -> dict:
    """Check the endpoint answers as expected once, warm it up, then drive it with wrk."""
    headers = dict(headers)
    if body == "WEBHOOK":
        body, signature = stripe_body_and_signature()
        headers.update({"Stripe-Signature": signature, "Content-Type": "application/json"})
    status = check_once(base + path, method=method, headers=headers, body=body)
    if status != expected:
        sys.exit(f"{method} {path} answered {status}, expected {expected}")
    script.write_text(lua_script(method=method, headers=headers, body=body))
    if warmup:
        run_wrk(base + path, script, duration=warmup, threads=1, connections=2)
    print(f"  {method} {path}: {duration:g} s ...", flush=True)
    return run_wrk(base + path, script, duration=duration, threads=threads, connections=connections)


def load_average() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def server_durations(log_path: Path, start: int, path: str) -> tuple[list[float], int]:
    """Durations in ms of the access-log lines for `path` written since byte `start`, and the
    new end of the log."""
    with log_path.open("rb") as log:
        log.seek(start)
        chunk = log.read()
    found = []
    marker = f'path="{path}"'.encode()
    for line in chunk.splitlines():
        if marker in line and b"duration_us=" in line:
            found.append(int(line.rsplit(b"duration_us=", 1)[1].split()[0]) / 1000)
    return found, start + len(chunk)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds of every row")
    parser.add_argument("--duration", type=float, default=3, help="seconds per row and round")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per row, once")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated rows to run (healthz always runs first, as the base of the ratios): "
        + ", ".join(ENDPOINT_KEYS[1:]),
    )
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = set(filter(None, args.only.split(","))) - set(ENDPOINT_KEYS)
    if unknown:
        parser.error(f"--only: unknown row(s) {', '.join(sorted(unknown))}")
    if args.prepare:
        prepare_in_django()
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk")

    secret_key = secrets.token_urlsafe(50)
    urls, prod_env = prepare_site(secret_key)
    chosen = set(filter(None, args.only.split(",")))
    rows = [row for row in endpoints(urls) if row[0] == "healthz" or not chosen or row[0] in chosen]
    workdir = Path(tempfile.mkdtemp(prefix="si-bench-"))
    log_path = workdir / "gunicorn.log"
    log = log_path.open("w")
    server, base = start_gunicorn(ROOT, prod_env, workers=args.workers, log=log)
    rps: dict[str, list[float]] = {row[0]: [] for row in rows}
    wrk_p95: dict[str, list[float]] = {row[0]: [] for row in rows}
    errors: dict[str, int] = {row[0]: 0 for row in rows}
    durations: dict[str, list[float]] = {row[0]: [] for row in rows}
    loads = [load_average()]
    options = {"threads": args.threads, "connections": args.connections}
    try:
        print(f"Warming up every row for {args.warmup:g} s ...", flush=True)
        for key, _name, *endpoint in rows:
            if args.warmup:
                measure(
                    base,
                    *endpoint,
                    script=workdir / f"{key}.lua",
                    duration=args.warmup,
                    warmup=0,
                    **options,
                )
        for round_ in range(args.rounds):
            for key, _name, *endpoint in rows:
                start = log_path.stat().st_size
                result = measure(
                    base,
                    *endpoint,
                    script=workdir / f"{key}.lua",
                    duration=args.duration,
                    warmup=0,
                    **options,
                )
                found, _end = server_durations(log_path, start, endpoint[0])
                durations[key] += found
                rps[key].append(result["rps"])
                wrk_p95[key].append(result["p95_us"] / 1000)
                errors[key] += result["bad_status"] + result["socket_errors"]
            loads.append(load_average())
            print(
                f"round {round_ + 1}/{args.rounds}: "
                + ", ".join(f"{k} {v[-1]:,.0f}/s" for k, v in rps.items())
                + f"; load {loads[-1]}",
                flush=True,
            )
    finally:
        stop_gunicorn(server)
        log.close()

    workers = args.workers or f"{os.cpu_count() * 2 + 1} (default)"
    cache = "Redis" if "REDIS_URL" in prod_env else "database cache"
    base_p95 = percentile(durations["healthz"], 95)
    print()
    print(
        f"gunicorn gthread, {workers} workers x 4 threads; PostgreSQL; {cache}; wrk -t{args.threads}"
        f" -c{args.connections}, {args.rounds} rounds x {args.duration:g} s per row, interleaved;"
        f" loopback; {os.cpu_count()} CPUs; load average (1 min) {min(loads, key=float)}-"
        f"{max(loads, key=float)},"
        f" median {statistics.median(float(v) for v in loads):.2f}"
    )
    print()
    print(
        "| Endpoint | Requests/s (median) | vs healthz: median (min-max) | server p50 ms "
        "| server p95 ms | server p95 vs healthz's | wrk p95 ms (median) | Errors |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key, name, *_ in rows:
        ratios = [r / h for r, h in zip(rps[key], rps["healthz"], strict=True)]
        p95 = percentile(durations[key], 95)
        print(
            f"| {name} | {statistics.median(rps[key]):,.0f} "
            f"| {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) "
            f"| {percentile(durations[key], 50):.1f} | {p95:.1f} | {p95 / base_p95:.1f}x "
            f"| {statistics.median(wrk_p95[key]):.1f} | {errors[key]} |"
        )
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
