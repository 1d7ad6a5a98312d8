"""A local stand-in for the parts of Stripe's API the site uses. For local runs and tests only.

The official stripe library talks to it through STRIPE_API_BASE. It keeps everything in memory
(and, with a state file, saves it after every change and loads it at start), answers with
Stripe's object shapes and error format, rejects what Stripe rejects (checked against the
library's own parameter types), honours Idempotency-Key, serves a hosted checkout page with
"Pay" and "Cancel", and delivers events signed exactly as Stripe signs them
(Stripe-Signature: t=...,v1=HMAC-SHA256 of "{t}.{body}" with the webhook secret), retrying with
back-off until the site answers 2xx.

A small control API under /_standin/ lets tests (and people) pay, redeliver or emit events,
refund from "the dashboard" and open or close disputes. See billing/standin/README.md.

This module wires the parts together: state.py (objects, state file, idempotency, events),
api.py (/v1), checkout_page.py (the hosted page), control.py (/_standin).
"""

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from billing.standin import api, checkout_page, control
from billing.standin.params import ParamError
from billing.standin.state import (
    DEFAULT_RETRY_DELAYS,
    ApiError,
    StandinState,
    StateFileError,
    new_id,
    sign,
)

__all__ = [
    "DEFAULT_RETRY_DELAYS",
    "ApiError",
    "Handler",
    "StandinServer",
    "StandinState",
    "StateFileError",
    "make_server",
    "sign",
    "start_in_thread",
]

logger = logging.getLogger("billing.standin")

ROUTES = [*api.ROUTES, *checkout_page.ROUTES, *control.ROUTES]
COMPILED = [(method, re.compile(f"^{pattern}$"), name) for method, pattern, name in ROUTES]


class Handler(
    api.ApiRoutes, checkout_page.CheckoutPageRoutes, control.ControlRoutes, BaseHTTPRequestHandler
):
    server_version = "StripeStandin/1.0"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY a kept-alive client waits for
    # the delayed ACK (about 40 ms) on every answer.
    disable_nagle_algorithm = True

    @property
    def state(self) -> StandinState:
        return self.server.state

    def log_message(self, format, *args):  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _send(self, status: int, body: bytes, content_type: str, headers=None):
        if self.command == "POST":
            # Every POST may have changed something: saved before the answer goes out, so a
            # client that got its answer can stop the stand-in and find the change on disk.
            self.state.save()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", new_id("req"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers=None):
        self._send(status, json.dumps(data, indent=2).encode(), "application/json", headers)

    def _redirect(self, url: str):
        self._send(303, b"", "text/plain", {"Location": url})

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        found = next(
            (
                (route_name, match)
                for route_method, pattern, route_name in COMPILED
                if route_method == method and (match := pattern.match(url.path))
            ),
            None,
        )
        if found is None:
            self._read_body()
            if url.path.startswith("/v1/"):
                self._json(
                    404, ApiError(404, f"Unrecognized request URL ({method}: {url.path}).").body
                )
            else:
                self._send(404, b"Not found", "text/plain")
            return
        route_name, match = found
        try:
            getattr(self, route_name)(url, **match.groupdict())
        except ApiError as exc:
            self._json(exc.status, exc.body)
        except ParamError as exc:
            self._json(400, ApiError(400, exc.message, param=exc.param, code=exc.code).body)

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: StandinState):
        super().__init__(address, Handler)
        self.state = state
        self.state_note = ""  # what make_server did with the state file, for the command to print


def make_server(
    *,
    host: str,
    port: int,
    webhook_url: str,
    webhook_secret: str,
    api_version: str,
    delivery: str = "async",
    retry_delays=DEFAULT_RETRY_DELAYS,
    state_file=None,
) -> StandinServer:
    """Bind the stand-in (port 0 picks a free one); call serve_forever() to run it.

    With `state_file` (a path) the state is loaded from that JSON file when it exists and saved
    to it after every change; `server.state_note` says what was loaded (or why not)."""
    state = StandinState(
        public_url="",
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        api_version=api_version,
        delivery=delivery,
        retry_delays=retry_delays,
        state_file=state_file,
    )
    server = StandinServer((host, port), state)
    bound_host, bound_port = server.server_address[:2]
    state.public_url = f"http://{bound_host}:{bound_port}"
    server.state_note = state.load_state_file()
    return server


def start_in_thread(**kwargs) -> StandinServer:
    server = make_server(**kwargs)
    thread = threading.Thread(target=server.serve_forever, name="stripe-standin", daemon=True)
    thread.start()
    return server
