"""The Stripe client's retries come from settings: none in tests, so a test that meets an
unreachable or failing Stripe does not wait for the client's backoff."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from billing.stripe_client import stripe_client


@pytest.fixture
def busy_stripe():
    """A server that answers every request 503 and asks to be retried; counts the requests."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b'{"error": {"type": "api_error", "message": "busy"}}'
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Stripe-Should-Retry", "true")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), daemon=True
    )  # quick shutdown
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


def test_the_test_settings_make_one_attempt_per_call(busy_stripe, settings):
    url, hits = busy_stripe
    settings.STRIPE_SECRET_KEY = "sk_test_busy"
    settings.STRIPE_API_BASE = url
    with pytest.raises(stripe.APIError):
        stripe_client().v1.charges.retrieve("ch_busy")
    assert len(hits) == 1


def test_the_retry_setting_reaches_the_client(busy_stripe, settings):
    url, hits = busy_stripe
    settings.STRIPE_SECRET_KEY = "sk_test_busy"
    settings.STRIPE_API_BASE = url
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    with pytest.raises(stripe.APIError):
        stripe_client().v1.charges.retrieve("ch_busy")
    assert hits == ["/v1/charges/ch_busy"] * 2
