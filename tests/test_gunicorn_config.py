"""config/gunicorn.py: workers are not recycled by request count but by memory, gracefully."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest


def _config(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = Path(__file__).resolve().parent.parent / "config" / "gunicorn.py"
    spec = importlib.util.spec_from_file_location("gunicorn_settings_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Log:
    def __init__(self):
        self.lines = []

    def warning(self, message, *args):
        self.lines.append(message % args)


def _worker():
    return SimpleNamespace(alive=True, pid=4242, log=_Log())


def test_workers_are_not_recycled_by_request_count_unless_asked(monkeypatch):
    monkeypatch.delenv("GUNICORN_MAX_REQUESTS", raising=False)
    assert _config(monkeypatch).max_requests == 0
    asked = _config(monkeypatch, GUNICORN_MAX_REQUESTS="50000")
    assert (asked.max_requests, asked.max_requests_jitter) == (50000, 5000)


@pytest.mark.parametrize(("limit_mb", "exits"), [("1", True), ("100000", False), ("0", False)])
def test_a_worker_past_its_memory_limit_exits_after_its_request(monkeypatch, limit_mb, exits):
    config = _config(monkeypatch, GUNICORN_MAX_WORKER_MB=limit_mb)
    assert config.resident_mb() > 1  # this test process: tens of MB
    worker = _worker()
    config.post_request(worker, req=None, environ={}, resp=None)
    assert worker.alive is not exits
    assert bool(worker.log.lines) is exits
    if exits:
        assert "rss_mb=" in worker.log.lines[0] and f"limit_mb={limit_mb}" in worker.log.lines[0]
