"""Gift purchases over real HTTP to the Stripe stand-in: bought, sent on their day, claimed,
refunded (claimed or not), disputed; forged and replayed links; the buyer's page and resend."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from billing import gifts, services
from billing.models import Gift, GiftEvent, Purchase, Refund, RefundRequest
from program.models import Access, AccessEvent
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The resend limit counts per buyer id in the cache; ids are reused between tests."""
    from django.core.cache import cache

    cache.clear()


CLAIM_RE = re.compile(r"/billing/gifts/claim/([A-Za-z0-9_\-]+)/")


def gift_form(**overrides):
    data = {
        "recipient_email": "friend@example.com",
        "recipient_name": "Robin",
        "message": "For your back. Love, Sam",
        "deliver_on": timezone.localdate().isoformat(),
    }
    data.update(overrides)
    return data


def buy_gift(client, buyer, program, **overrides) -> Purchase:
    """Fill in the gift form as `buyer` (the real view, a real Checkout Session at the
    stand-in) and return the pending purchase."""
    client.force_login(buyer)
    response = client.post(reverse("billing:gift-buy", args=[program.slug]), gift_form(**overrides))
    assert response.status_code == 303, response.content.decode()[:2000]
    return Purchase.objects.get(checkout_url=response["Location"])


def pay(standin, standin_events, deliver_event, purchase, *, times: int = 1) -> None:
    """Pay at the stand-in and deliver Stripe's checkout.session.completed to the webhook."""
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    (event,) = standin_events(purchase.stripe_checkout_session_id, "checkout.session.completed")
    for _ in range(times):
        assert deliver_event(event["id"]).status_code == 200


def session_of(session_id: str) -> dict:
    """The Checkout Session as Stripe (the stand-in) holds it."""
    from billing.stripe_client import stripe_client
    from billing.stripe_objects import as_dict

    return as_dict(stripe_client().v1.checkout.sessions.retrieve(session_id))


def claim_links(to: str) -> list[str]:
    return [
        CLAIM_RE.search(m.body).group(0)
        for m in mail.outbox
        if m.to == [to] and CLAIM_RE.search(m.body)
    ]


def paid_gift(client, standin, standin_events, deliver_event, program, buyer=None, **form):
    buyer = buyer or factories.user_factory(name="Sam Giver")
    purchase = buy_gift(client, buyer, program, **form)
    pay(standin, standin_events, deliver_event, purchase)
    purchase.refresh_from_db()
    return purchase


def claim(client, user, link):
    client.force_login(user)
    return client.post(link)


def test_a_gift_bought_today_is_sent_claimed_and_recorded_as_a_gift_from_the_buyer(
    client, standin, standin_events, deliver_event, program
):
    buyer = factories.user_factory(name="Sam Giver")
    purchase = buy_gift(client, buyer, program)
    gift = Gift.objects.get(purchase=purchase)
    assert gift.status == "pending" and gift.message == "For your back. Love, Sam"
    session = session_of(purchase.stripe_checkout_session_id)
    assert session["metadata"]["gift_id"] == str(gift.pk)
    assert session["customer_email"] == buyer.email
    mail.outbox.clear()

    pay(standin, standin_events, deliver_event, purchase, times=2)  # delivered twice
    purchase.refresh_from_db()
    gift.refresh_from_db()
    assert purchase.status == "paid" and purchase.user == buyer
    assert gift.status == "sent" and gift.send_count == 1
    assert not user_has_access(user=buyer, program=program), "a gift gives the buyer nothing"
    assert not Access.objects.exists()
    receipts = [m for m in mail.outbox if m.to == [buyer.email]]
    assert len(receipts) == 1 and "Thank you for giving" in receipts[0].body
    (link,) = claim_links("friend@example.com")
    claim_mail = next(m for m in mail.outbox if m.to == ["friend@example.com"])
    assert "Sam Giver" in claim_mail.subject and "For your back. Love, Sam" in claim_mail.body
    assert gift.claim_token_hash and link.split("/")[-2] not in gift.claim_token_hash
    assert [e.status_after for e in gift.events.all()] == ["pending", "scheduled", "sent"]

    # Opening the link changes nothing (a mail scanner); the page asks to sign in.
    client.logout()
    page = client.get(link)
    assert page.status_code == 200 and "Create an account" in page.content.decode()
    assert page["Referrer-Policy"] == "same-origin"
    gift.refresh_from_db()
    assert gift.status == "sent"

    recipient = factories.user_factory(email="robin@example.org")
    mail.outbox.clear()
    response = claim(client, recipient, link)
    assert response.status_code == 302
    assert response["Location"] == reverse("program:detail", args=[program.slug])
    gift.refresh_from_db()
    assert gift.status == "claimed" and gift.recipient == recipient and gift.claimed_at
    access = Access.objects.get(user=recipient, program=program)
    assert access.source == "gift" and access.is_active
    grant = AccessEvent.objects.get(access=access)
    assert grant.source == "gift" and f"Gift #{gift.pk}" in grant.reason
    assert f"member {buyer.pk}" in grant.reason and f"purchase #{purchase.pk}" in grant.reason
    assert not user_has_access(user=buyer, program=program)
    assert [m.subject for m in mail.outbox if m.to == [buyer.email]] == ["Your gift was claimed"]

    # Replayed: by the recipient (a reload) and by anyone else: nothing changes.
    again = claim(client, recipient, link)
    assert again.status_code == 200 and "This gift is yours" in again.content.decode()
    other = factories.user_factory()
    used = claim(client, other, link)
    assert used.status_code == 200 and "already been accepted" in used.content.decode()
    assert not user_has_access(user=other, program=program)
    assert AccessEvent.objects.count() == 1
    assert gift.events.count() == 4


def days_pass(move_task_clock, gift, days: int) -> None:
    """Time moves on: the queue's clock, and the gift's dates as seen from the new today."""
    move_task_clock(days=days)
    Gift.objects.filter(pk=gift.pk).update(
        deliver_on=gift.deliver_on - timedelta(days=days),
        created_at=gift.created_at - timedelta(days=days),
    )
    gift.refresh_from_db()


def test_a_gift_for_a_later_day_is_sent_on_that_day_not_before_and_once(
    client,
    standin,
    standin_events,
    deliver_event,
    program,
    run_db_worker,
    move_task_clock,
    monkeypatch,
):
    monkeypatch.setattr(gifts, "GIFT_DELIVERY_HOUR", 0)  # at midnight: whenever the test runs
    later = timezone.localdate() + timedelta(days=3)
    purchase = paid_gift(
        client, standin, standin_events, deliver_event, program, deliver_on=later.isoformat()
    )
    gift = purchase.gift
    run_db_worker()
    gift.refresh_from_db()
    assert gift.status == "scheduled" and claim_links("friend@example.com") == []
    assert gifts.gifts_deliver_due() == 0, "the catch-up job does not send early either"

    days_pass(move_task_clock, gift, 2)
    run_db_worker()
    gift.refresh_from_db()
    assert gift.status == "scheduled" and claim_links("friend@example.com") == []

    days_pass(move_task_clock, gift, 1)
    run_db_worker()
    gift.refresh_from_db()
    assert gift.status == "sent" and len(claim_links("friend@example.com")) == 1
    # The task again, the scheduled job, a worker restarted: nothing more is sent.
    assert gifts.gift_deliver(gift_id=gift.pk) is False
    assert gifts.gifts_deliver_due(now=timezone.now() + timedelta(days=5)) == 0
    run_db_worker()
    gift.refresh_from_db()
    assert len(claim_links("friend@example.com")) == 1 and gift.send_count == 1


def test_the_scheduled_job_sends_a_due_gift_whose_task_was_lost(
    client, standin, standin_events, deliver_event, program, db_task_backend
):
    later = timezone.localdate() + timedelta(days=1)
    purchase = paid_gift(
        client, standin, standin_events, deliver_event, program, deliver_on=later.isoformat()
    )
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(task_path__endswith="gift_deliver_task").delete()  # lost
    assert gifts.gifts_deliver_due() == 0
    assert gifts.gifts_deliver_due(now=timezone.now() + timedelta(days=1, hours=9)) == 1
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "sent" and len(claim_links("friend@example.com")) == 1


def test_a_buyer_who_owns_the_program_can_still_give_it(
    client, standin, standin_events, deliver_event, program, paid_purchase_factory
):
    own = paid_purchase_factory()
    buyer = own.user
    purchase = paid_gift(client, standin, standin_events, deliver_event, program, buyer=buyer)
    assert purchase.status == "paid" and purchase.gift.status == "sent"
    own.refresh_from_db()
    assert own.status == "paid" and not Refund.objects.exists(), "neither is a second payment"
    assert user_has_access(user=buyer, program=program)
    assert AccessEvent.objects.filter(access__user=buyer).count() == 1
    # A second gift while the first waits: a new checkout, nothing reused or expired.
    second = buy_gift(client, buyer, program, recipient_email="other@example.com")
    assert second.pk != purchase.pk and second.status == "pending"


def test_a_recipient_who_already_has_the_program_leaves_the_gift_unclaimed(
    client, standin, standin_events, deliver_event, program, paid_purchase_factory
):
    member = paid_purchase_factory().user
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    (link,) = claim_links("friend@example.com")
    client.force_login(member)
    page = client.get(link).content.decode()
    assert "You already have the program" in page and "Accept the gift" not in page
    response = claim(client, member, link)
    assert response.status_code == 200 and "stays unclaimed" in response.content.decode()
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "sent" and purchase.gift.recipient is None
    assert Access.objects.get(user=member).source == "purchase"
    # The buyer's own link does not claim it either.
    buyer_page = claim(client, purchase.user, link).content.decode()
    assert "This is a gift you gave" in buyer_page
    assert not user_has_access(user=purchase.user, program=program)


@pytest.mark.parametrize("kind", ["forged", "empty-ish", "expired", "replaced", "refunded"])
def test_a_forged_replayed_or_expired_link_shows_a_friendly_page_and_changes_nothing(
    client, standin, standin_events, deliver_event, program, kind
):
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    gift = purchase.gift
    (link,) = claim_links("friend@example.com")
    expected = {
        "forged": "We could not find this gift",
        "empty-ish": "We could not find this gift",
        "expired": "This gift link has expired",
        "replaced": "We could not find this gift",
        "refunded": "no longer available",
    }[kind]
    if kind == "forged":
        link = link[:-5] + "AAAA/"
    elif kind == "empty-ish":
        link = reverse("billing:gift-claim", args=["x" * 300])
    elif kind == "expired":
        Gift.objects.filter(pk=gift.pk).update(claim_expires_at=timezone.now() - timedelta(1))
    elif kind == "replaced":
        gift.sent_at = timezone.now() - timedelta(hours=1)
        Gift.objects.filter(pk=gift.pk).update(sent_at=gift.sent_at)
        assert gifts.gift_resend(gift_id=gift.pk, user=purchase.user).outcome == "sent"
    elif kind == "refunded":
        gifts.gift_transition(gift_id=gift.pk, to="refunded", actor_label="test")
    recipient = factories.user_factory()
    client.force_login(recipient)
    shown = client.get(link)
    response = client.post(link)
    for answer in (shown, response):
        assert answer.status_code in (200, 404)
        assert expected in answer.content.decode()
        assert "For your back" not in answer.content.decode()
    assert not Access.objects.exists()
    gift.refresh_from_db()
    assert gift.recipient is None and gift.status != "claimed"


def test_an_unclaimed_gift_is_refunded_to_the_buyer_through_the_queue(
    client, standin, standin_events, deliver_event, program, admin_user
):
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    buyer = purchase.user
    (link,) = claim_links("friend@example.com")
    mail.outbox.clear()
    client.force_login(buyer)
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Nobody has claimed this gift yet" in page
    response = client.post(reverse("billing:refund-request", args=[purchase.pk]), {"reason": "x"})
    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert request.user == buyer

    client.force_login(admin_user)
    client.post(
        reverse("admin:billing_refundrequest_changelist"),
        {"action": "approve", "_selected_action": [request.pk]},
        follow=True,
    )
    purchase.refresh_from_db()
    refund = Refund.objects.get()
    assert refund.status == "succeeded" and refund.amount_cents == purchase.amount_cents == 9700
    assert purchase.status == "refunded" and purchase.amount_refunded_cents == 9700
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "refunded"
    assert not AccessEvent.objects.exists() and not Access.objects.exists()
    assert [m.subject for m in mail.outbox if m.to == [buyer.email]] == [
        "We received your refund request",
        "Your refund is done",
    ]
    assert "your card" in mail.outbox[-1].body
    assert not [m for m in mail.outbox if m.to == ["friend@example.com"]]
    # The link stops working.
    late = factories.user_factory()
    client.force_login(late)
    assert "no longer available" in client.post(link).content.decode()
    assert not Access.objects.exists()


def test_a_claimed_gift_is_refunded_by_the_recipients_request(
    client, standin, standin_events, deliver_event, program, admin_user
):
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    buyer = purchase.user
    (link,) = claim_links("friend@example.com")
    recipient = factories.user_factory(email="robin@example.org")
    claim(client, recipient, link)

    # The buyer cannot take back a claimed gift; the recipient has the guarantee.
    client.force_login(buyer)
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "lifetime guarantee is now the recipient's" in page
    assert client.post(reverse("billing:refund-request", args=[purchase.pk])).status_code == 404
    client.force_login(recipient)
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Gifts you received" in page and "a gift from Sam Giver" in page
    mail.outbox.clear()
    response = client.post(
        reverse("billing:refund-request", args=[purchase.pk]), {"reason": "Not for me"}
    )
    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert request.user == recipient and request.purchase == purchase

    client.force_login(admin_user)
    client.post(
        reverse("admin:billing_refundrequest_changelist"),
        {"action": "approve", "_selected_action": [request.pk]},
        follow=True,
    )
    purchase.refresh_from_db()
    assert purchase.status == "refunded" and purchase.amount_refunded_cents == 9700
    (refund,) = standin_refunds = list(Refund.objects.all())
    assert refund.amount_cents == 9700 and standin_refunds
    assert refund.purchase.stripe_payment_intent_id == purchase.stripe_payment_intent_id
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "refunded"
    assert not user_has_access(user=recipient, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    assert revoke.access.user == recipient and revoke.source == "refund"
    assert f"gift #{purchase.gift.pk}" in revoke.reason and revoke.actor == admin_user
    recipient_mail = [m for m in mail.outbox if m.to == [recipient.email]]
    assert [m.subject for m in recipient_mail] == [
        "We received your refund request",
        "Your refund is done",
    ]
    assert "the person who gave it to you" in recipient_mail[-1].body
    buyer_mail = [m for m in mail.outbox if m.to == [buyer.email]]
    assert [m.subject for m in buyer_mail] == ["Your gift was refunded"]
    assert "9,700" in buyer_mail[0].body or "97.00" in buyer_mail[0].body


def test_a_lost_dispute_on_a_gift_ends_the_recipients_access(
    client, standin_live, standin_events, deliver_event, program, paid_purchase_factory
):
    own = paid_purchase_factory()  # the buyer owns the program too: that access stays
    purchase = paid_gift(
        client, standin_live, standin_events, deliver_event, program, buyer=own.user
    )
    (link,) = claim_links("friend@example.com")
    recipient = factories.user_factory()
    claim(client, recipient, link)
    mail.outbox.clear()

    dispute = standin_live.dispute(payment_intent=purchase.stripe_payment_intent_id, deliver="sync")
    assert user_has_access(user=recipient, program=program), "open dispute: access stays"
    standin_live.dispute_close(dispute["id"], outcome="lost", deliver="sync")
    purchase.refresh_from_db()
    assert purchase.status == "charged_back"
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "charged_back"
    assert not user_has_access(user=recipient, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    assert revoke.access.user == recipient and revoke.source == "dispute_lost"
    assert user_has_access(user=own.user, program=program)
    assert {m.subject for m in mail.outbox} == {
        "Your gift's payment was returned by your bank",
        "The gift's payment was returned",
    }


def test_the_buyer_resends_the_claim_email_rate_limited(
    client, standin, standin_events, deliver_event, program
):
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    gift = purchase.gift
    buyer = purchase.user
    client.force_login(buyer)
    url = reverse("billing:gift-resend", args=[gift.pk])
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Send the gift e-mail again" in page and 'data-gift-status="sent"' in page

    too_soon = client.post(url, follow=True).content.decode()
    assert "a few minutes ago" in too_soon and len(claim_links("friend@example.com")) == 1

    Gift.objects.filter(pk=gift.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    client.post(url)
    first, second = claim_links("friend@example.com")
    assert first != second
    gift.refresh_from_db()
    assert gift.send_count == 2
    assert GiftEvent.objects.filter(gift=gift, note__startswith="Claim e-mail sent again").exists()
    client.force_login(factories.user_factory())
    assert client.post(second).status_code == 302  # the new link works
    client.force_login(factories.user_factory())
    assert "We could not find this gift" in client.post(first).content.decode()

    # Someone else cannot resend it; a claimed gift is not resent.
    assert client.post(url).status_code == 404
    client.force_login(buyer)
    Gift.objects.filter(pk=gift.pk).update(sent_at=timezone.now() - timedelta(hours=1))
    assert "cannot be sent again" in client.post(url, follow=True).content.decode()


def test_the_resend_is_limited_per_buyer(client, standin, standin_events, deliver_event, program):
    buyer = factories.user_factory()
    purchases = [
        paid_gift(
            client,
            standin,
            standin_events,
            deliver_event,
            program,
            buyer=buyer,
            recipient_email=f"f{n}@example.com",
        )
        for n in range(gifts.RESEND_PER_HOUR + 1)
    ]
    Gift.objects.update(sent_at=timezone.now() - timedelta(hours=1))
    outcomes = [gifts.gift_resend(gift_id=p.gift.pk, user=buyer).outcome for p in purchases]
    assert outcomes == ["sent"] * gifts.RESEND_PER_HOUR + ["rate_limited"]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"recipient_email": "not-an-address"}, "Enter a valid email address."),
        ({"recipient_email": ""}, "Please enter the e-mail address"),
        ({"deliver_on": "2001-01-01"}, "Please choose today or a later day."),
        ({"deliver_on": "3001-01-01"}, "within the next year"),
        ({"deliver_on": "someday"}, "Please enter a date such as"),
        ({"message": "x" * 1001}, "at most 1000 characters"),
    ],
)
def test_bad_gift_form_input_is_shown_next_to_the_field_and_kept(
    client, standin, program, overrides, message
):
    buyer = factories.user_factory()
    client.force_login(buyer)
    data = gift_form(**overrides)
    response = client.post(reverse("billing:gift-buy", args=[program.slug]), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and 'aria-invalid="true"' in page
    assert "Robin" in page, "what was typed stays"
    assert not Purchase.objects.exists() and not Gift.objects.exists()


def test_a_gift_to_ones_own_address_is_refused(client, standin, program):
    buyer = factories.user_factory()
    client.force_login(buyer)
    response = client.post(
        reverse("billing:gift-buy", args=[program.slug]),
        gift_form(recipient_email=buyer.email.upper()),
    )
    assert response.status_code == 400 and "That is your own address" in response.content.decode()


def test_an_unverified_buyer_is_asked_to_confirm_first(client, standin, program):
    buyer = factories.user_factory(email_verified=False)
    client.force_login(buyer)
    response = client.post(reverse("billing:gift-buy", args=[program.slug]), gift_form())
    assert response.status_code == 302 and response["Location"] == reverse("account_email")
    assert not Gift.objects.exists()


def test_the_gift_form_needs_a_sign_in(client, program):
    response = client.get(reverse("billing:gift-buy", args=[program.slug]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_a_new_sign_up_claims_the_gift(client, standin, standin_events, deliver_event, program):
    paid_gift(client, standin, standin_events, deliver_event, program)
    (link,) = claim_links("friend@example.com")
    client.logout()
    response = client.post(
        reverse("account_signup") + f"?next={link}",
        {
            "email": "friend@example.com",
            "password1": "a-long-Password-1",
            "password2": "a-long-Password-1",
            "next": link,
        },
    )
    assert response.status_code == 302
    from allauth.account.models import EmailAddress

    EmailAddress.objects.filter(email="friend@example.com").update(verified=True)
    newcomer = EmailAddress.objects.get(email="friend@example.com").user
    response = claim(client, newcomer, link)
    assert response.status_code == 302
    assert Access.objects.get(user=newcomer).source == "gift"


def test_success_page_after_paying_for_a_gift_speaks_of_the_gift(client, standin, program):
    buyer = factories.user_factory()
    purchase = buy_gift(client, buyer, program)
    standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    page = client.get(
        reverse("billing:checkout-success") + f"?session_id={purchase.stripe_checkout_session_id}"
    ).content.decode()
    assert "your gift is paid" in page and "friend@example.com" in page
    assert not user_has_access(user=buyer, program=program)


def test_services_refuse_nothing_to_a_gift_but_keep_the_buyers_own_checkout(
    client, standin, program
):
    """A pending checkout of the buyer's own is neither reused nor expired by a gift, and an own
    Buy does not expire a pending gift checkout."""
    buyer = factories.user_factory()
    own = services.purchase_start(user=buyer, program=program)
    gift_purchase = buy_gift(client, buyer, program)
    assert gift_purchase.pk != own.pk
    assert session_of(own.stripe_checkout_session_id)["status"] == "open"
    again = services.purchase_start(user=buyer, program=program)
    assert again.pk == own.pk
    assert session_of(gift_purchase.stripe_checkout_session_id)["status"] == "open"


@pytest.mark.parametrize("count", [1, 5])
def test_purchases_page_query_count_does_not_grow_with_gifts(
    client, program, count, django_assert_num_queries
):
    buyer = factories.user_factory()
    for n in range(count):
        purchase = factories.purchase_factory(user=buyer, program=program, status="paid")
        gift = Gift.objects.create(
            purchase=purchase,
            recipient_email=f"f{n}@example.com",
            deliver_on=timezone.localdate(),
            status="sent",
            sent_at=timezone.now(),
        )
        if n % 2:
            recipient = factories.user_factory()
            Gift.objects.filter(pk=gift.pk).update(
                status="claimed", recipient=recipient, claimed_at=timezone.now()
            )
    client.force_login(buyer)
    # user (the session is read from the cache), purchases with their gifts, their refund
    # requests, gifts received: the same however many gifts.
    with django_assert_num_queries(4):
        response = client.get(reverse("billing:purchases"))
    assert response.content.decode().count("data-gift-state=") == count


def test_a_gift_refund_that_fails_later_gives_the_recipient_the_gift_back(
    client, standin, standin_events, deliver_event, program
):
    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    (link,) = claim_links("friend@example.com")
    recipient = factories.user_factory()
    claim(client, recipient, link)
    refund = standin.refund(payment_intent=purchase.stripe_payment_intent_id, deliver="none")
    (created,) = standin_events(refund["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    purchase.gift.refresh_from_db()
    assert purchase.gift.status == "refunded"
    assert not user_has_access(user=recipient, program=program)

    standin.refund_fail_later(refund["id"], failure_reason="expired_or_canceled_card")
    (failed,) = standin_events(refund["id"], "refund.failed")
    for _ in range(2):  # delivered twice: one restore
        assert deliver_event(failed["id"]).status_code == 200
    purchase.refresh_from_db()
    purchase.gift.refresh_from_db()
    assert purchase.status == "paid" and purchase.gift.status == "claimed"
    assert user_has_access(user=recipient, program=program)
    restore = AccessEvent.objects.get(action="restore")
    assert restore.access.user == recipient and f"gift #{purchase.gift.pk}" in restore.reason
    assert not user_has_access(user=purchase.user, program=program)


def test_a_gift_whose_checkout_expires_unpaid_says_so_and_a_late_payment_still_schedules_it(
    client, standin, standin_events, deliver_event, program, mailoutbox
):
    """An abandoned gift checkout does not wait for a payment forever: the gift becomes "not
    paid" (nothing charged, nothing sent, no recovery e-mail offering the program to the buyer);
    if Stripe reports it paid after all, the gift is scheduled like any other."""
    buyer = factories.user_factory()
    purchase = buy_gift(client, buyer, program)
    standin.expire(purchase.stripe_checkout_session_id)
    (expired,) = standin_events(purchase.stripe_checkout_session_id, "checkout.session.expired")
    assert deliver_event(expired["id"]).status_code == 200

    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED
    assert purchase.gift.status == "not_paid"
    assert list(purchase.gift.events.values_list("status_before", "status_after")) == [
        ("", "pending"),
        ("pending", "not_paid"),
    ]
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Nothing was charged." in page and "data-gift-state=" not in page
    assert claim_links("friend@example.com") == []

    # Should a payment be reported after all (Purchase allows expired -> paid), the gift is
    # scheduled as any other: the money is never taken for a gift that cannot be sent.
    from billing import gifts

    with transaction.atomic():
        moved = gifts.gift_purchase_paid(
            purchase=purchase, gift=purchase.gift, source_label="a late payment"
        )
    assert moved.moved and moved.status == "scheduled"


def test_the_claim_email_has_an_html_part_that_shows_the_message_as_text(
    client, standin, standin_events, deliver_event, program
):
    """The recipient's e-mail reads well in a mail program (an HTML part with a button), and the
    buyer's message is shown as they typed it, never as markup."""
    message = "Get well <b>soon</b> & <script>alert(1)</script>"
    paid_gift(client, standin, standin_events, deliver_event, program, message=message)
    (email,) = [m for m in mail.outbox if m.to == ["friend@example.com"]]
    (html, mimetype), *_ = email.alternatives
    assert mimetype == "text/html"
    (link,) = claim_links("friend@example.com")
    assert f'{link}"' in html and "Receive your gift" in html
    assert "Get well &lt;b&gt;soon&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert "<script>" not in html and message in email.body


def test_download_my_data_shows_a_gift_to_its_buyer_and_to_its_recipient(
    client, standin, standin_events, deliver_event, program
):
    from members import privacy_selectors

    purchase = paid_gift(client, standin, standin_events, deliver_event, program)
    (link,) = claim_links("friend@example.com")
    recipient = factories.user_factory(email="friend@example.com")
    claim(client, recipient, link)

    (given,) = privacy_selectors.gifts(purchase.user)
    (received,) = privacy_selectors.gifts(recipient)
    assert given["role"] == "given" and received["role"] == "received"
    assert given["purchase"] == received["purchase"] == purchase.pk
    assert received["message"] == "For your back. Love, Sam" and received["status"] == "Claimed"
