"""Counts the requests the test process is serving, so a browser test can wait for the live
server to go quiet before the database is wiped (a request still running then holds row locks
the wipe needs: "deadlock detected" on PostgreSQL, "database table is locked" on SQLite)."""

import threading

_in_flight = 0
_changed = threading.Condition()


class InFlightMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        global _in_flight
        with _changed:
            _in_flight += 1
        try:
            return self.get_response(request)
        finally:
            with _changed:
                _in_flight -= 1
                _changed.notify_all()


def wait_until_idle(timeout: float) -> bool:
    """True once no request is being served; False after timeout seconds."""
    with _changed:
        return _changed.wait_for(lambda: _in_flight == 0, timeout)
