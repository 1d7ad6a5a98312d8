"""Many members at once (bulk_create in batches), for the benchmark and query-count tests.

The mix, by position n: every 3rd member paid (purchase + access), every 20th of those later
refunded (purchase refunded with a Refund row, access revoked), a few with an open dispute,
every 50th complimentary, 70% verified; the rest free. Dates spread over the last two years. Passwords are unusable (nobody logs in as them).
"""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from billing.models import Dispute, Purchase, Refund
from program.models import Access, Program


def member_kind(n: int) -> str:
    if n % 50 == 0:
        return "complimentary"
    if n % 3 == 0:
        if n % 60 == 0:
            return "refunded"
        return "disputed" if n % 333 == 0 else "paid"
    return "free"


def members_seed(
    *, count: int, program: Program, prefix: str = "seed", batch_size: int = 5000, now=None
) -> int:
    """Create `count` members named {prefix}{n}@example.org; returns how many were created."""
    now = now or timezone.now()
    password = make_password(None)
    span = timedelta(days=730)
    created = 0
    for start in range(0, count, batch_size):
        numbers = range(start + 1, min(count, start + batch_size) + 1)
        with transaction.atomic():
            users = User.objects.bulk_create(
                [
                    User(
                        email=f"{prefix}{n}@example.org",
                        name=f"Seed Member {n}",
                        password=password,
                        date_joined=now - span + span * n / (count + 1),
                    )
                    for n in numbers
                ]
            )
            EmailAddress.objects.bulk_create(
                [
                    EmailAddress(user=user, email=user.email, primary=True, verified=n % 10 < 7)
                    for n, user in zip(numbers, users, strict=True)
                ]
            )
            purchases, accesses = [], []
            for n, user in zip(numbers, users, strict=True):
                kind = member_kind(n)
                if kind in ("paid", "refunded", "disputed"):
                    paid_at = user.date_joined + timedelta(days=n % 30)
                    purchases.append(
                        Purchase(
                            user=user,
                            program=program,
                            amount_cents=program.price_cents,
                            currency=program.currency,
                            status="refunded" if kind == "refunded" else "paid",
                            paid_at=paid_at,
                            stripe_checkout_session_id=f"cs_{prefix}_{n}",
                            stripe_payment_intent_id=f"pi_{prefix}_{n}",
                        )
                    )
                    accesses.append(
                        Access(
                            user=user,
                            program=program,
                            source=Access.Source.PURCHASE,
                            granted_at=paid_at,
                            revoked_at=paid_at + timedelta(days=20) if kind == "refunded" else None,
                        )
                    )
                elif kind == "complimentary":
                    accesses.append(
                        Access(
                            user=user,
                            program=program,
                            source=Access.Source.COMPLIMENTARY,
                            granted_at=user.date_joined,
                        )
                    )
            Purchase.objects.bulk_create(purchases)
            Access.objects.bulk_create(accesses)
            Refund.objects.bulk_create(
                [
                    Refund(
                        purchase=purchase,
                        stripe_refund_id=f"re_{purchase.stripe_checkout_session_id[3:]}",
                        amount_cents=purchase.amount_cents,
                        currency=purchase.currency,
                        status=Refund.Status.SUCCEEDED,
                        source=Refund.Source.SITE,
                    )
                    for purchase in purchases
                    if purchase.status == "refunded"
                ]
            )
            Dispute.objects.bulk_create(
                [
                    Dispute(
                        purchase=purchase,
                        stripe_dispute_id=f"dp_{purchase.stripe_checkout_session_id[3:]}",
                        status="needs_response",
                        amount_cents=purchase.amount_cents,
                        currency=purchase.currency,
                    )
                    for n, purchase in (
                        (int(p.stripe_checkout_session_id.rsplit("_", 1)[1]), p) for p in purchases
                    )
                    if member_kind(n) == "disputed"
                ]
            )
        created += len(users)
    return created
