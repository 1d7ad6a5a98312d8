"""Abandoned-checkout recovery over HTTP to the stand-in: a checkout that expires unpaid sends one
friendly e-mail, and none when the person bought since, got one this week, unsubscribed, did not
consent, or when the site itself closed the checkout for a newer one."""

import pytest
from django.test import Client
from django.urls import reverse

from billing import recovery, services
from billing.models import CheckoutRecoveryEmail, CheckoutRecoveryOptOut, Purchase
from billing.reconcile import stripe_reconcile
from billing.stripe_client import stripe_client
from tests import factories
from tests.billing.helpers import start_checkout

pytestmark = pytest.mark.django_db(transaction=True)


def recovery_mails(mailoutbox):
    return [m for m in mailoutbox if "is still here" in m.subject]


def test_an_expired_checkout_sends_one_recovery_email_with_a_link_back_and_unsubscribe(
    client, standin_live, program, mailoutbox
):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    standin_live.expire(purchase.stripe_checkout_session_id, deliver="sync")

    (mail,) = recovery_mails(mailoutbox)
    assert mail.to == [user.email]
    outline = reverse("program:detail", args=[program.slug])
    assert outline in mail.body
    unsubscribe = mail.extra_headers["List-Unsubscribe"].strip("<>")
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in mail.body
    row = CheckoutRecoveryEmail.objects.get(purchase=purchase)
    assert row.status == CheckoutRecoveryEmail.Status.SENT and row.sent_at

    # The event delivered again, the reconciliation, the task run again: nothing more.
    stripe_reconcile()
    assert recovery.checkout_recovery_send.call(purchase_id=purchase.pk) == "already decided"
    assert len(recovery_mails(mailoutbox)) == 1


def test_a_second_expiry_within_the_week_sends_nothing(client, standin_live, program, mailoutbox):
    user = factories.user_factory()
    first = start_checkout(client, user, program)
    standin_live.expire(first.stripe_checkout_session_id, deliver="sync")
    second = start_checkout(client, user, program)
    standin_live.expire(second.stripe_checkout_session_id, deliver="sync")

    assert len(recovery_mails(mailoutbox)) == 1
    skipped = CheckoutRecoveryEmail.objects.get(purchase=second)
    assert skipped.status == CheckoutRecoveryEmail.Status.SKIPPED
    assert "last 7 days" in skipped.reason


def test_no_recovery_email_to_someone_who_has_the_program_when_it_expires(
    client, standin_live, program, mailoutbox
):
    from program.services import access_grant

    user = factories.user_factory()
    first = start_checkout(client, user, program)
    access_grant(user=user, program=program, source="complimentary", reason="gift", actor_label="t")
    standin_live.expire(first.stripe_checkout_session_id, deliver="sync")

    assert recovery_mails(mailoutbox) == []
    assert CheckoutRecoveryEmail.objects.get(purchase=first).reason == "Bought since."


def test_no_recovery_email_after_a_later_purchase(
    standin, program, mailoutbox, paid_purchase_factory, settings
):
    """The check is made when the e-mail is about to go out, not when the task is queued."""
    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    standin.expire(purchase.stripe_checkout_session_id)
    settings.CHECKOUT_RECOVERY_EMAILS = False  # the expiry is seen with the hook off ...
    stripe_reconcile()
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.EXPIRED and mailoutbox == []
    settings.CHECKOUT_RECOVERY_EMAILS = True
    paid_purchase_factory(user=user)  # ... then they buy, then the queued task runs
    mailoutbox.clear()
    assert recovery.checkout_recovery_send.call(purchase_id=purchase.pk) == "skipped"
    assert recovery_mails(mailoutbox) == []


def test_a_checkout_superseded_by_a_newer_one_sends_nothing(standin, program, mailoutbox):
    user = factories.user_factory()
    first = services.purchase_start(user=user, program=program)
    program.price_cents += 1000  # a new price: the first checkout cannot be reused
    program.save(update_fields=["price_cents"])
    second = services.purchase_start(user=user, program=program)

    first.refresh_from_db()
    assert first.status == Purchase.Status.EXPIRED and second.status == Purchase.Status.PENDING
    assert not CheckoutRecoveryEmail.objects.filter(purchase=first).exists()
    assert recovery_mails(mailoutbox) == []
    # Even if a task for it ran (queued by an older release), the newer checkout wins.
    assert recovery.checkout_recovery_send.call(purchase_id=first.pk) == "skipped"
    assert CheckoutRecoveryEmail.objects.get(purchase=first).reason.startswith("A newer checkout")


def test_unsubscribed_people_get_no_recovery_email(client, standin_live, program, mailoutbox):
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    token = recovery.unsubscribe_token_make(user_id=user.pk)
    url = reverse("billing:recovery-unsubscribe", args=[token])
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(url)
    assert page.status_code == 200 and b"Stop these reminders" in page.content
    assert not CheckoutRecoveryOptOut.objects.exists()  # a GET (a mail scanner) changes nothing
    # RFC 8058 one-click: a POST with no session and no CSRF token.
    done = anonymous.post(url, data="List-Unsubscribe=One-Click", content_type="text/plain")
    assert done.status_code == 200 and b"unsubscribed" in done.content
    assert CheckoutRecoveryOptOut.objects.filter(user=user).exists()

    standin_live.expire(purchase.stripe_checkout_session_id, deliver="sync")
    assert recovery_mails(mailoutbox) == []
    assert CheckoutRecoveryEmail.objects.get(purchase=purchase).reason.startswith("Unsubscribed")


def test_a_bad_unsubscribe_link_answers_a_friendly_400(client):
    response = client.post(reverse("billing:recovery-unsubscribe", args=["1:forged"]))
    assert response.status_code == 400
    assert not CheckoutRecoveryOptOut.objects.exists()


@pytest.mark.parametrize(("answer", "sent"), [("opt_in", 1), ("opt_out", 0), (None, 0)])
def test_with_consent_collection_only_those_who_consented_get_it(
    client, standin_live, program, mailoutbox, settings, answer, sent
):
    settings.CHECKOUT_RECOVERY_CONSENT = True
    user = factories.user_factory()
    purchase = start_checkout(client, user, program)
    session = stripe_client().v1.checkout.sessions.retrieve(purchase.stripe_checkout_session_id)
    assert session.consent_collection.promotions == "auto"
    consent = {"promotions": answer} if answer else None
    standin_live.expire(purchase.stripe_checkout_session_id, deliver="sync", consent=consent)

    assert len(recovery_mails(mailoutbox)) == sent
    if not sent:
        assert "consent" in CheckoutRecoveryEmail.objects.get(purchase=purchase).reason


def test_the_task_run_twice_sends_one_email(standin, program, mailoutbox, settings):
    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    settings.CHECKOUT_RECOVERY_EMAILS = False
    standin.expire(purchase.stripe_checkout_session_id)
    stripe_reconcile()
    settings.CHECKOUT_RECOVERY_EMAILS = True

    results = [recovery.checkout_recovery_send.call(purchase_id=purchase.pk) for _ in range(2)]

    assert results == ["sent", "already decided"]
    assert len(recovery_mails(mailoutbox)) == 1
    assert CheckoutRecoveryEmail.objects.filter(purchase=purchase).count() == 1


def test_the_reconciliation_noticing_the_expiry_sends_the_email_once(standin, program, mailoutbox):
    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    standin.expire(purchase.stripe_checkout_session_id)  # the event never reaches us
    stripe_reconcile()
    stripe_reconcile()
    assert len(recovery_mails(mailoutbox)) == 1


def test_deleting_the_account_removes_its_recovery_records(standin, program, mailoutbox):
    from members.models import AccountDeletion
    from members.privacy import account_delete

    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    standin.expire(purchase.stripe_checkout_session_id)
    stripe_reconcile()
    recovery.checkout_recovery_opt_out(user_id=user.pk)
    assert CheckoutRecoveryEmail.objects.filter(user=user).exists()

    result = account_delete(user=user, comments=AccountDeletion.Comments.KEEP)

    assert result.removed["abandoned-checkout e-mails"] == 1
    assert not CheckoutRecoveryEmail.objects.filter(purchase=purchase).exists()
    assert not CheckoutRecoveryOptOut.objects.filter(user=user).exists()
