"""Plain factory functions for tests (no factory library), wrapped by fixtures in conftest.py."""

import itertools

from allauth.account.models import EmailAddress

from accounts.models import User
from program.models import Article, Lesson, Program, Unit

_seq = itertools.count(1)
PASSWORD = "a-long-test-password-9"


def user_factory(*, email: str | None = None, email_verified: bool = True, **extra) -> User:
    email = email or f"person{next(_seq)}@example.com"
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user


def program_factory(*, units: int = 4, lessons_per_unit: int = 2, **extra) -> Program:
    n = next(_seq)
    defaults = {
        "title": f"Program {n}",
        "slug": f"program-{n}",
        "price_cents": 9700,
        "currency": "usd",
        "published": True,
    }
    defaults.update(extra)
    program = Program.objects.create(**defaults)
    for u in range(1, units + 1):
        unit = Unit.objects.create(
            program=program,
            position=u,
            title=f"Unit {u}",
            slug=f"unit-{u}",
            summary=f"What unit {u} is about.",
            expected_result=f"Result of unit {u}.",
            is_free=(u == 1),
        )
        for p in range(1, lessons_per_unit + 1):
            Lesson.objects.create(
                unit=unit,
                position=p,
                title=f"Lesson {u}.{p}",
                slug=f"lesson-{p}",
                instructions=f"Do movement {u}.{p} **slowly**.",
            )
    return program


def article_factory(**extra) -> Article:
    n = next(_seq)
    defaults = {
        "title": f"Article {n}",
        "slug": f"article-{n}",
        "body": "Some **text**.",
        "published": True,
    }
    defaults.update(extra)
    return Article.objects.create(**defaults)


def purchase_factory(*, user, program, status: str = "pending", **extra):
    """A purchase row as billing.services would leave it (tests of pages and admin)."""
    from django.utils import timezone

    from billing.models import Purchase

    n = next(_seq)
    defaults = {
        "amount_cents": program.price_cents,
        "currency": program.currency,
        "status": status,
        "stripe_checkout_session_id": f"cs_test_factory{n}",
    }
    if status == "paid":
        defaults.update(paid_at=timezone.now(), stripe_payment_intent_id=f"pi_factory{n}")
    defaults.update(extra)
    return Purchase.objects.create(user=user, program=program, **defaults)
