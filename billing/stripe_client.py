"""The one place that builds the Stripe client. Nothing else imports Stripe's HTTP layer.

With STRIPE_API_BASE set (the local stand-in, or another compatible server) every call goes there;
otherwise to api.stripe.com. Site code has no branch for the stand-in: only settings differ.
"""

from functools import cache

import stripe
from django.conf import settings

# Pinned in code: every request says which API version it speaks, and a webhook event that was
# rendered for another version is flagged (WebhookEvent.api_version_mismatch).
STRIPE_API_VERSION = "2026-10-28.endive"
# Retries of a failed connection or a 5xx/409 answer (Stripe's idempotency keys make them safe);
# settings.STRIPE_MAX_NETWORK_RETRIES overrides it (the tests set 0: no waiting on a dead port).
MAX_NETWORK_RETRIES = 2
TIMEOUT_SECONDS = 20


@cache
def _client(api_key: str, api_base: str, max_network_retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        stripe_version=STRIPE_API_VERSION,
        base_addresses={"api": api_base} if api_base else None,
        max_network_retries=max_network_retries,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def stripe_client() -> stripe.StripeClient:
    """A client for the current settings (cached per key, base and retries, so tests can
    repoint it)."""
    retries = getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", MAX_NETWORK_RETRIES)
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE or "", retries)
