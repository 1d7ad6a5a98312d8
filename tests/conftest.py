import pytest

from tests import factories


@pytest.fixture
def user_factory(db):
    return factories.user_factory


@pytest.fixture
def program_factory(db):
    return factories.program_factory


@pytest.fixture
def article_factory(db):
    return factories.article_factory


@pytest.fixture
def member(db):
    return factories.user_factory(email="member@example.com")


@pytest.fixture
def staff_user(db):
    return factories.user_factory(email="staff@example.com", is_staff=True)


@pytest.fixture
def program(db):
    return factories.program_factory()


# --- billing: the local Stripe stand-in, on a free loopback port for the whole test session ---
@pytest.fixture(scope="session")
def stripe_standin_server():
    from billing.standin import start_in_thread
    from billing.stripe_client import STRIPE_API_VERSION

    server = start_in_thread(
        host="127.0.0.1",
        port=0,
        webhook_url="http://127.0.0.1:9/no-webhook-yet/",
        webhook_secret="whsec_test_standin",
        api_version=STRIPE_API_VERSION,
        delivery="none",
        retry_delays=(0.2, 0.5, 1.0),
    )
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def standin(stripe_standin_server, settings):
    """The stand-in, with settings pointing the site at it. Events go nowhere unless a test
    delivers them (see `standin_live`) or posts them itself. Returns a StandinControl."""
    from billing.standin.control import StandinControl

    state = stripe_standin_server.state
    settings.STRIPE_SECRET_KEY = "sk_test_standin"
    settings.STRIPE_WEBHOOK_SECRET = state.webhook_secret
    settings.STRIPE_API_BASE = state.public_url
    settings.SECURE_CSP = {
        **settings.SECURE_CSP,
        "form-action": [*settings.SECURE_CSP["form-action"], state.public_url],
    }
    control = StandinControl(state.public_url)
    control.config(delivery="none", webhook_url="http://127.0.0.1:9/no-webhook-yet/")
    return control


@pytest.fixture
def standin_live(standin, live_server, settings):
    """The stand-in delivering events to the live server's webhook, and SITE_URL at the live
    server (so Stripe's success and cancel URLs lead back to it)."""
    settings.SITE_URL = live_server.url
    standin.config(webhook_url=f"{live_server.url}/billing/stripe/webhook/")
    return standin
