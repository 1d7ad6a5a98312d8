"""gunicorn settings for production: `gunicorn -c config/gunicorn.py config.wsgi`.

Workers are not recycled after a number of requests (under load, max_requests restarted a worker
every few seconds, and the requests queued behind a restarting worker waited). Instead each worker
checks its memory after every request (`post_request`): one that has grown past
GUNICORN_MAX_WORKER_MB finishes the requests it holds and exits, and the master starts a fresh
one while the others keep serving. GUNICORN_MAX_REQUESTS (0, off) brings the count back, with a
jitter of a tenth so workers never restart together.

The access log line carries the request's duration in microseconds (duration_us, gunicorn's %(D)s),
which scripts/bench.py reads for the server-side p50/p95.
"""

import multiprocessing
import os
import resource

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Threads keep a worker useful while it streams a video byte range to a slow phone.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
MAX_WORKER_MB = int(os.environ.get("GUNICORN_MAX_WORKER_MB", "512"))
accesslog = "-"
errorlog = "-"
access_log_format = 'level=INFO logger=gunicorn.access remote=%(h)s method=%(m)s path="%(U)s" status=%(s)s bytes=%(B)s duration_us=%(D)s'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def resident_mb() -> float:
    """This process's resident memory now (Linux /proc), else its peak (getrusage)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def post_request(worker, req, environ, resp):
    """A worker past the memory limit stops taking requests and exits once the ones it holds
    are answered (gunicorn's graceful exit); the master replaces it."""
    if MAX_WORKER_MB and worker.alive and resident_mb() > MAX_WORKER_MB:
        worker.log.warning(
            "level=WARNING logger=gunicorn.memory worker=%s rss_mb=%.0f limit_mb=%s: restarting",
            worker.pid,
            resident_mb(),
            MAX_WORKER_MB,
        )
        worker.alive = False
