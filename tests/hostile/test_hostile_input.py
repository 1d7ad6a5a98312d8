"""Property test: every form endpoint and query-string filter (tests/hostile/endpoints.py) gets
hostile values as visitor, member and staff: very long text, NUL, invalid UTF-8 bytes, control
and right-to-left characters, HTML and JavaScript, numbers where text goes and text where numbers
go, fields missing and repeated. No answer is a 500 (the test client re-raises the exception),
and a refused request (anything but a redirect) writes nothing.

Bounded by MAX_EXAMPLES per endpoint so the whole module stays well under a minute; the case
counts per endpoint and role are printed in the run's summary (tests/hostile/conftest.py).
"""

from collections import Counter
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from program.practice.services import safety_acknowledge
from program.services import access_grant
from tests import factories
from tests.hostile.endpoints import ENDPOINTS, World

pytestmark = pytest.mark.django_db

MAX_EXAMPLES = 12
# Tried as every role on every endpoint before the random examples (explicit examples, so a run
# never misses them): a NUL byte (PostgreSQL refuses it in text: a 500 wherever it reached a
# filter) and "²" (str.isdigit() accepts it, int() does not).
KNOWN_TRAPS = ("\x00", "²")

HOSTILE_TEXT = [
    "",
    " ",
    "A" * 100_000,
    "\x00",
    "a\x00b",
    "\r\nBcc: victim@example.com",
    "line\nbreak",
    "\u202eevil\u202c",
    "\u200f\u200e",
    "\x1b[31m\x07\x08",
    "\ufeff",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "[x](javascript:alert(1))",
    "x",
    "home",
    "admin:index",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "../../etc/passwd",
    "%00",
    "1e999",
    "NaN",
    "inf",
    "-inf",
    "-1",
    "0",
    "99999999999999999999999999",
    "1.5",
    "[]",
    "{}",
    '{"position": "x"}',
    "null",
    "true",
    "on",
    "²",
    "٢",
    "𝟙",
    "ſ",
    "'; DROP TABLE accounts_user; --",
    "{{ 7|add:7 }}{% debug %}",
    "a@b",
    "x" * 300 + "@example.com",
    "notadate",
    "2020-13-45",
    "9999-12-31",
    "grant",
    "note",
    "delete_selected",
]
HOSTILE_BYTES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x80abc", b"a\xffb\xfe"]

hostile_value = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.sampled_from(HOSTILE_BYTES),
    st.text(max_size=40),
    st.integers().map(str),
    st.binary(max_size=16),
)

CASES: Counter = Counter()


def _valid(world: World) -> dict[str, list[str]]:
    """Values that pass, so a hostile value in one field reaches the code behind the others."""
    return {
        "name": ["Ann Walker"],
        "first_name": ["Ann"],
        "email": ["ann@example.com"],
        "login": ["member@example.com"],
        "password": [factories.PASSWORD],
        "password1": ["a-calm-long-password-42"],
        "password2": ["a-calm-long-password-42"],
        "pain_areas": ["si-left", "hip"],
        "how_started": ["After a fall."],
        "symptoms": ["A deep ache."],
        "goals": ["Walk the dog."],
        "contact_preference": ["email"],
        "consent": ["on"],
        "message": ["Help with Unit 3."],
        "program": [world.program.slug, str(world.program.pk)],
        "side": ["left", "right", "unsure"],
        "pain": ["3"],
        "body": ["What about prolotherapy?"],
        "reason": ["It did not help me."],
        "position": ["12.5"],
        "action": ["note", "grant", "revoke", "receipt", "password"],
        "note-text": ["Called her."],
        "grant-program": [str(world.program.pk)],
        "grant-reason": ["Gift."],
        "revoke-program": [str(world.program.pk)],
        "revoke-reason": ["Asked."],
        "_selected_action": [str(world.member.pk)],
        "next": ["/journal/"],
        "code": ["SPRING-20"],
        "kind": ["percent", "amount"],
        "percent_off": ["20"],
        "amount_off": ["10.00"],
        "currency": ["usd", "jpy"],
        "expires_at": ["2099-01-01T10:00"],
        "max_redemptions": ["5"],
    }


def _pairs(endpoint, world: World):
    valid = _valid(world)
    per_field = []
    for name in (*endpoint.fields, "unexpected"):
        value = hostile_value | st.sampled_from(valid[name]) if name in valid else hostile_value
        # No value: the field is missing; two or three: it is repeated.
        per_field.append(st.lists(value, max_size=3).map(lambda vs, n=name: [(n, v) for v in vs]))
    return st.tuples(*per_field).map(lambda lists: [pair for items in lists for pair in items])


def _counts(models) -> dict:
    return {model: model.objects.count() for model in models}


@pytest.fixture
def world(program) -> World:
    member = factories.user_factory(email="member@example.com")
    access_grant(user=member, program=program, source="purchase", reason="test")
    safety_acknowledge(user=member)
    article = factories.article_factory()
    question = factories.comment_factory(target=article)
    unit1, unit2 = program.units.order_by("position")[:2]
    return World(
        program=program,
        free_lesson=unit1.lessons.first(),
        paid_lesson=unit2.lessons.first(),
        article=article,
        question=question,
        member=member,
        entry=factories.journal_entry_factory(user=member, program=program),
        purchase=factories.purchase_factory(user=member, program=program, status="paid"),
    )


@pytest.fixture
def clients(world, sign_in) -> dict[str, Client]:
    staff = factories.user_factory(email="staff@example.com", is_staff=True, is_superuser=True)
    signed = {"visitor": Client(), "member": Client(), "staff": Client()}
    sign_in(signed["member"], world.member)
    sign_in(signed["staff"], staff)
    return signed


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_no_hostile_value_gets_a_500_or_writes_on_refusal(endpoint, world, clients):
    url = endpoint.url(world)

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(role=st.sampled_from(endpoint.roles), pairs=_pairs(endpoint, world))
    def attempt(role, pairs):
        cache.clear()  # rate limits would refuse everything after a few tries
        client = clients[role]
        encoded = urlencode(pairs)
        before = _counts(endpoint.writes)
        if endpoint.method == "get":
            response = client.get(f"{url}{'&' if '?' in url else '?'}{encoded}")
        else:
            response = client.generic(
                "POST",
                url,
                encoded,
                content_type="application/x-www-form-urlencoded",
                headers=endpoint.headers,
            )
        CASES[(endpoint.name, role)] += 1
        assert response.status_code < 500, (role, pairs)
        if response.status_code not in endpoint.accepted:
            assert _counts(endpoint.writes) == before, (role, response.status_code, pairs)

    # As the signed-in roles (a visitor meets the same code on public pages, and only the
    # sign-in redirect on the others; the random examples still send visitors everything).
    for role in [r for r in endpoint.roles if r != "visitor"] or endpoint.roles:
        for trap in KNOWN_TRAPS:
            attempt = example(role=role, pairs=[(name, trap) for name in endpoint.fields])(attempt)
    attempt()
