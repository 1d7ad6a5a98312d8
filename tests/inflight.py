"""Counts the requests the test process is serving, so a browser test can wait for the live
server to go quiet before the database is wiped (a request still running then holds row locks
the wipe needs: "deadlock detected" on PostgreSQL, "database table is locked" on SQLite)."""

import threading

_in_flight = 0
_started = 0  # requests ever started: a new one breaks a quiet moment
_changed = threading.Condition()


class InFlightMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _in_flight, _started
        with _changed:
            _in_flight += 1
            _started += 1
            _changed.notify_all()
        try:
            return self.get_response(request)
        finally:
            with _changed:
                _in_flight -= 1
                _changed.notify_all()


def wait_until_idle(timeout: float, settle: float = 0.2) -> bool:
    """True once no request has been served for `settle` seconds; False after timeout seconds.

    Quiet for a moment, not only at one instant: a request the browser sent just before its
    context closed may have been accepted by the server and not yet reached this middleware (a
    COMMIT of it then raced the wipe's TRUNCATE: "deadlock detected" on PostgreSQL, seen once)."""
    import time

    deadline = time.monotonic() + timeout
    with _changed:
        while True:
            if not _changed.wait_for(lambda: _in_flight == 0, deadline - time.monotonic()):
                return False
            seen = _started
            _changed.wait_for(lambda seen=seen: _started != seen, settle)
            if _started == seen and _in_flight == 0:
                return True
