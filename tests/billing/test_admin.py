"""Money records in the admin: visible, read-only, never deleted; events can be processed again."""

import pytest
from django.urls import reverse

from billing.models import Purchase, WebhookEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(client):
    admin = factories.user_factory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_purchase_admin_shows_history_and_allows_no_change_or_delete(admin_client_, program):
    user = factories.user_factory()
    purchase = factories.purchase_factory(user=user, program=program, status="paid")
    purchase.events.create(
        kind="paid", status_before="pending", status_after="paid", source_label="test"
    )
    change = reverse("admin:billing_purchase_change", args=[purchase.pk])
    response = admin_client_.get(change)
    assert response.status_code == 200
    assert "test" in response.content.decode()
    assert admin_client_.post(change, {"status": "refunded"}).status_code == 403
    delete = reverse("admin:billing_purchase_delete", args=[purchase.pk])
    assert admin_client_.post(delete, {"post": "yes"}).status_code == 403
    assert Purchase.objects.get().status == "paid"
    assert admin_client_.get(reverse("admin:billing_purchase_changelist")).status_code == 200


def test_webhook_admin_process_again_reruns_a_failed_event(admin_client_, standin, program):
    from billing import services

    user = factories.user_factory()
    purchase = services.purchase_start(user=user, program=program)
    paid = standin.pay(purchase.stripe_checkout_session_id, deliver="none")
    event = WebhookEvent.objects.create(
        stripe_event_id=paid["event"]["event"]["id"],
        type="checkout.session.completed",
        body=paid["event"]["event"],
        error="Boom",
        processing_attempts=1,
    )
    changelist = reverse("admin:billing_webhookevent_changelist")
    assert admin_client_.get(changelist).status_code == 200
    response = admin_client_.post(
        changelist, {"action": "process_again", "_selected_action": [event.pk]}, follow=True
    )
    assert "Processed 1 event" in response.content.decode()
    event.refresh_from_db()
    assert event.is_processed and event.error == "" and event.processing_attempts == 2
    purchase.refresh_from_db()
    assert purchase.status == "paid"
    assert (
        admin_client_.get(reverse("admin:billing_webhookevent_delete", args=[event.pk])).status_code
        == 403
    )
