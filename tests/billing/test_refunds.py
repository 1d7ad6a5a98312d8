"""Refunds the member asks for: request, staff queue, one Stripe refund (over real HTTP to the
stand-in), access revoked; decline with a note; failures, retry and closing outside Stripe."""

import http.client
import socketserver
import threading
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from billing import refund_services, services
from billing.models import Purchase, Refund, RefundRequest
from program.models import AccessEvent, Lesson, Video
from program.selectors import user_has_access
from tests import factories

pytestmark = pytest.mark.django_db


def stripe_refunds_of(server, purchase) -> list[dict]:
    """What the stand-in (Stripe) holds: the refunds of this payment."""
    with server.state.lock:
        return [
            obj
            for obj in server.state.objects.values()
            if obj["object"] == "refund"
            and obj["payment_intent"] == purchase.stripe_payment_intent_id
        ]


def ask(client, purchase, reason=""):
    client.force_login(purchase.user)
    return client.post(reverse("billing:refund-request", args=[purchase.pk]), {"reason": reason})


def admin_action(client, admin, action, requests, **extra):
    client.force_login(admin)
    return client.post(
        reverse("admin:billing_refundrequest_changelist"),
        {"action": action, "_selected_action": [r.pk for r in requests], **extra},
        follow=True,
    )


def test_request_approval_refund_revokes_access_but_keeps_unit_1(
    client, paid_purchase_factory, stripe_standin_server, admin_user, settings, program
):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    purchase = paid_purchase_factory()
    member = purchase.user
    paid_lesson = Lesson.objects.get(unit__program=program, unit__slug="unit-3", slug="lesson-1")
    paid_lesson.video = Video.objects.create(title="Paid", file="paid.mp4")
    paid_lesson.save(update_fields=["video"])
    mail.outbox.clear()

    response = ask(client, purchase, "It did not help my hip.")
    assert response.status_code == 302
    request = RefundRequest.objects.get()
    assert request.status == "requested" and request.reason == "It did not help my hip."
    assert [m.to for m in mail.outbox] == [[member.email], ["practitioner@example.com"]]
    assert "It did not help my hip." in mail.outbox[1].body
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Refund requested" in page and "Ask for a refund" not in page

    response = admin_action(client, admin_user, "approve", [request])
    assert "now refunded" in response.content.decode()
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "refunded" and request.decided_by == admin_user
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == purchase.amount_cents
    refund = Refund.objects.get()
    assert refund.status == "succeeded" and refund.source == "site"
    assert refund.stripe_refund_id == stripe_refunds_of(stripe_standin_server, purchase)[0]["id"]
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1
    assert [e.status for e in request.events.all()] == ["requested", "processing", "refunded"]
    assert list(refund.events.values_list("status", flat=True)) == ["pending", "succeeded"]

    assert not user_has_access(user=member, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    assert revoke.source == "refund" and revoke.actor == admin_user
    assert f"#{request.pk}" in revoke.reason
    member_mail = [m.subject for m in mail.outbox if m.to == [member.email]]
    assert member_mail[-1] == "Your refund is done"

    client.force_login(member)
    locked = client.get(reverse("program:lesson", args=[program.slug, "unit-3", "lesson-1"]))
    # The buy prompt (200, nothing paid on it), not the lesson.
    assert locked.status_code == 200
    assert "This lesson is part of the full program" in locked.content.decode()
    assert "<video" not in locked.content.decode()
    media = reverse("program:media", args=[paid_lesson.video_id, "video"])
    assert client.get(media).status_code == 404
    unit_1 = reverse("program:lesson", args=[program.slug, "unit-1", "lesson-1"])
    assert client.get(unit_1).status_code == 200
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Refunded" in page and "Ask for a refund" not in page


def test_asking_again_shows_the_open_request(client, paid_purchase_factory):
    purchase = paid_purchase_factory()
    ask(client, purchase, "first")
    response = ask(client, purchase, "second")
    assert response.status_code == 302
    assert RefundRequest.objects.get().reason == "first"
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "already asked" in page and "Refund requested" in page


def test_someone_elses_or_unpaid_purchase_cannot_be_refunded(client, program, standin):
    owner = factories.user_factory()
    purchase = factories.purchase_factory(user=owner, program=program, status="paid")
    client.force_login(factories.user_factory())
    assert client.post(reverse("billing:refund-request", args=[purchase.pk])).status_code == 404
    pending = factories.purchase_factory(user=owner, program=program)
    client.force_login(owner)
    response = client.post(reverse("billing:refund-request", args=[pending.pk]), follow=True)
    assert "no payment left to refund" in response.content.decode()
    assert not RefundRequest.objects.exists()
    response = client.get(reverse("billing:refund-request", args=[purchase.pk]))
    assert response.status_code == 302  # their own: back to the purchases page (no 405)


def test_an_over_long_reason_is_shown_back_with_a_message(client, paid_purchase_factory):
    purchase = paid_purchase_factory()
    response = ask(client, purchase, "x" * 2001 + "KEEP")
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 2000 characters" in html and "KEEP" in html
    assert not RefundRequest.objects.exists()


def test_a_pasted_20000_character_reason_is_refused_next_to_the_field_and_kept(
    client, paid_purchase_factory
):
    purchase = paid_purchase_factory()
    long_reason = "x" * 20000
    response = ask(client, purchase, long_reason)
    assert response.status_code == 400
    html = response.content.decode()
    field = html.split(f'<label for="id_reason_{purchase.pk}">')[1].split("</textarea>")[0]
    assert "Ensure this value has at most 2000 characters (it has 20000)." in field
    assert f'aria-describedby="reason-errors-{purchase.pk}"' in field
    assert long_reason in field  # nothing typed is lost
    assert not RefundRequest.objects.exists()

    response = ask(client, purchase, "y" * 2000)
    assert response.status_code == 302
    assert RefundRequest.objects.get().reason == "y" * 2000


def test_a_long_reason_wraps_in_the_staff_email(client, paid_purchase_factory, settings):
    settings.STAFF_NOTIFICATION_EMAILS = ["practitioner@example.com"]
    purchase = paid_purchase_factory()
    mail.outbox.clear()
    ask(client, purchase, "z" * 2000)
    (staff,) = [m for m in mail.outbox if m.to == ["practitioner@example.com"]]
    html = staff.alternatives[0].content
    assert '<td style="overflow-wrap:anywhere;word-break:break-word">' + "z" * 2000 in html


def test_decline_needs_a_note_and_the_member_sees_it(
    client, paid_purchase_factory, admin_user, program
):
    purchase = paid_purchase_factory()
    ask(client, purchase)
    request = RefundRequest.objects.get()

    page = admin_action(client, admin_user, "decline", [request])
    assert "Decline refund requests" in page.content.decode()
    page = admin_action(client, admin_user, "decline", [request], apply="1", note="  ")
    assert "A note is required." in page.content.decode()
    request.refresh_from_db()
    assert request.status == "requested"

    mail.outbox.clear()
    admin_action(
        client, admin_user, "decline", [request], apply="1", note="We already refunded you."
    )
    request.refresh_from_db()
    assert request.status == "declined" and request.staff_note == "We already refunded you."
    assert mail.outbox[0].to == [purchase.user.email]
    assert "We already refunded you." in mail.outbox[0].body
    assert user_has_access(user=purchase.user, program=program)
    client.force_login(purchase.user)
    page = client.get(reverse("billing:purchases")).content.decode()
    assert "Declined" in page and "We already refunded you." in page
    assert "Ask for a refund" in page  # they may ask again later


def test_a_double_click_issues_one_stripe_refund(
    paid_purchase_factory, stripe_standin_server, admin_user
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    first = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request
    second = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request
    assert first.status == second.status == "refunded"
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1
    assert Refund.objects.count() == 1
    assert AccessEvent.objects.filter(action="revoke").count() == 1


def test_acting_again_on_a_decided_request_says_nothing_was_done(
    client, paid_purchase_factory, stripe_standin_server, admin_user
):
    def messages_of(response) -> list[str]:
        return [str(m) for m in response.context["messages"]]

    refunded = paid_purchase_factory()
    ask(client, refunded, "It did not help.")
    declined = paid_purchase_factory()
    ask(client, declined)
    request, other = RefundRequest.objects.order_by("id")
    admin_action(client, admin_user, "approve", [request])
    admin_action(client, admin_user, "decline", [other], apply="1", note="Refunded by cheque.")
    request.refresh_from_db()
    other.refresh_from_db()
    assert (request.status, other.status) == ("refunded", "declined")
    history = [list(r.events.values_list("id", flat=True)) for r in (request, other)]
    mail.outbox.clear()

    response = admin_action(client, admin_user, "approve", [request])
    assert messages_of(response) == [
        f"Request #{request.pk} was already refunded. Nothing was done."
    ]
    assert "approved: now" not in response.content.decode()
    response = admin_action(client, admin_user, "approve", [other])
    assert messages_of(response) == [f"Request #{other.pk} was already declined. Nothing was done."]
    response = admin_action(client, admin_user, "decline", [other], apply="1", note="Again.")
    assert messages_of(response) == [f"Request #{other.pk} was already declined. Nothing was done."]
    response = admin_action(client, admin_user, "retry", [request])
    assert messages_of(response) == [
        f"Request #{request.pk} was already refunded. Nothing was done."
    ]

    assert len(stripe_refunds_of(stripe_standin_server, refunded)) == 1
    assert stripe_refunds_of(stripe_standin_server, declined) == []
    assert [list(r.events.values_list("id", flat=True)) for r in (request, other)] == history
    other.refresh_from_db()
    assert other.staff_note == "Refunded by cheque." and mail.outbox == []


def test_closing_a_closed_request_again_says_nothing_was_done(
    client, program, admin_user, settings
):
    # Paid outside Stripe: nothing to ask Stripe.
    purchase = factories.purchase_factory(
        user=factories.user_factory(), program=program, status="paid", stripe_payment_intent_id=None
    )
    ask(client, purchase)
    request = RefundRequest.objects.get()
    close_outside(client, admin_user, request, "Bank transfer 3 May.")
    request.refresh_from_db()
    assert request.status == "closed_outside"
    response = close_outside(client, admin_user, request, "Bank transfer again.")
    assert [str(m) for m in response.context["messages"]] == [
        f"Request #{request.pk} was already closed as refunded by other means. Nothing was done."
    ]
    assert Refund.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Concurrent approvals need PostgreSQL row locks; SQLite serialises whole writes.",
)
def test_two_staff_approving_at_once_issue_exactly_one_refund(
    paid_purchase_factory, stripe_standin_server, admin_user
):
    purchase = paid_purchase_factory()
    other_admin = factories.user_factory(is_staff=True, is_superuser=True)
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    barrier = threading.Barrier(4)
    errors = []

    def approve(actor):
        try:
            barrier.wait()
            refund_services.refund_request_approve(request_id=request.pk, actor=actor)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(a,)) for a in (admin_user, other_admin) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    request.refresh_from_db()
    assert request.status == "refunded"
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1
    assert Refund.objects.count() == 1
    assert request.events.filter(status="processing").count() == 1
    assert AccessEvent.objects.filter(action="revoke").count() == 1


def test_refund_stripe_refuses_then_retry_then_close_outside_stripe(
    client, paid_purchase_factory, standin, stripe_standin_server, admin_user, program
):
    purchase = paid_purchase_factory()
    standin.refund_too_old(payment_intent=purchase.stripe_payment_intent_id)
    ask(client, purchase)
    request = RefundRequest.objects.get()

    page = admin_action(client, admin_user, "approve", [request]).content.decode()
    assert "charge_expired_for_refund" in page
    request.refresh_from_db()
    assert request.status == "failed" and "charge_expired_for_refund" in request.failure_reason
    assert Refund.objects.get().status == "failed"
    assert user_has_access(user=purchase.user, program=program)
    queue = client.get(reverse("admin:billing_refundrequest_changelist") + "?status=failed")
    assert "charge_expired_for_refund" in queue.content.decode()
    client.force_login(purchase.user)
    assert "did not go through" in client.get(reverse("billing:purchases")).content.decode()

    admin_action(client, admin_user, "retry", [request])
    request.refresh_from_db()
    assert request.status == "failed" and request.attempts == 2
    assert list(Refund.objects.order_by("attempt").values_list("attempt", "status")) == [
        (1, "failed"),
        (2, "failed"),
    ]

    page = admin_action(client, admin_user, "close_outside", [request], apply="1", note="")
    assert "A note is required." in page.content.decode()
    admin_action(
        client, admin_user, "close_outside", [request], apply="1", note="Bank transfer 3 May."
    )
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "closed_outside" and request.staff_note == "Bank transfer 3 May."
    assert purchase.status == "refunded"
    outside = Refund.objects.get(source="outside_stripe")
    assert outside.status == "succeeded" and outside.amount_cents == purchase.amount_cents
    assert stripe_refunds_of(stripe_standin_server, purchase) == []
    assert not user_has_access(user=purchase.user, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    assert revoke.actor == admin_user and "Bank transfer" in revoke.reason


def test_retry_after_a_definite_failure_uses_a_new_attempt_and_refunds(
    paid_purchase_factory, standin, stripe_standin_server, admin_user, program
):
    purchase = paid_purchase_factory()
    pi = purchase.stripe_payment_intent_id
    standin.refund_failure(payment_intent=pi, **{"as": "api_error"})
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    assert (
        refund_services.refund_request_approve(
            request_id=request.pk, actor=admin_user
        ).request.status
        == "failed"
    )
    standin.refund_failure(payment_intent=pi, **{"as": "none"})
    done = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).request
    assert done.status == "refunded" and done.attempts == 2
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1
    assert not user_has_access(user=purchase.user, program=program)


def test_a_refund_that_fails_at_the_bank_shows_stripes_reason(
    paid_purchase_factory, standin, standin_events, deliver_event, admin_user, program
):
    purchase = paid_purchase_factory()
    standin.refund_failure(payment_intent=purchase.stripe_payment_intent_id, **{"as": "failed"})
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    result = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request
    assert result.status == "failed" and "expired_or_canceled_card" in result.failure_reason
    refund = Refund.objects.get()
    assert refund.status == "failed" and refund.failure_reason == "expired_or_canceled_card"
    # Stripe's refund.failed event later changes nothing more.
    (failed_event,) = standin_events(refund.stripe_refund_id, "refund.failed")
    assert deliver_event(failed_event["id"]).status_code == 200
    assert deliver_event(failed_event["id"]).status_code == 200
    assert refund.events.count() == 2 and request.events.filter(status="failed").count() == 1
    assert user_has_access(user=purchase.user, program=program)


def test_crash_after_stripe_answered_is_repaired_by_the_refund_webhook(
    paid_purchase_factory, standin, deliver_event, admin_user, program, monkeypatch
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    def crash(**kwargs):
        raise SystemExit("the server stopped")

    monkeypatch.setattr(refund_services, "refund_sync_from_stripe", crash)
    with pytest.raises(SystemExit):
        refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    monkeypatch.undo()
    refund = Refund.objects.get()
    assert refund.stripe_refund_id is None and refund.status == "pending"
    request.refresh_from_db()
    assert request.status == "processing"

    events = [
        info["event"]
        for info in standin.events()
        if info["event"]["type"].startswith(("refund.", "charge.refunded"))
        and info["event"]["data"]["object"].get("payment_intent")
        == purchase.stripe_payment_intent_id
    ]
    assert events
    for event in events:
        assert deliver_event(event["id"]).status_code == 200
    refund.refresh_from_db()
    request.refresh_from_db()
    assert refund.stripe_refund_id and refund.status == "succeeded"
    assert request.status == "refunded"
    assert not user_has_access(user=purchase.user, program=program)
    revoke = AccessEvent.objects.get(action="revoke")
    assert revoke.actor == admin_user and "Stripe event evt_" in revoke.actor_label


def test_member_may_buy_again_after_a_refund(paid_purchase_factory, admin_user, program):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    again = paid_purchase_factory(user=purchase.user)
    assert again.pk != purchase.pk
    assert user_has_access(user=purchase.user, program=program)
    restore = AccessEvent.objects.order_by("-id").first()
    assert restore.action == "restore" and restore.source == "purchase"
    assert services.Purchase.objects.get(pk=purchase.pk).status == "refunded"


def test_no_answer_from_stripe_keeps_the_attempt_and_retry_sends_the_same_key(
    paid_purchase_factory, stripe_standin_server, admin_user, settings, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: no answer at all
    result = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request
    assert result.status == "failed" and "retrying is safe" in result.failure_reason
    refund = Refund.objects.get()
    assert refund.status == "pending" and refund.attempt == 1
    assert user_has_access(user=purchase.user, program=program)

    settings.STRIPE_API_BASE = standin_base
    done = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).request
    assert done.status == "refunded" and done.attempts == 1
    assert Refund.objects.get().status == "succeeded"
    with stripe_standin_server.state.lock:
        keys = [k for _, k in stripe_standin_server.state.idempotency if k]
    prefix = request.idempotency_key(1).removesuffix("1")
    assert [k for k in keys if k.startswith(prefix)] == [request.idempotency_key(1)]
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1


# ------------------------------------------------------------------------------------------------
# Closing as refunded outside Stripe asks Stripe first (an attempt with no answer may have refunded)
# ------------------------------------------------------------------------------------------------
class _LoseTheAnswer(socketserver.BaseRequestHandler):
    """Pass one HTTP request on to the stand-in, then hang up without replying: Stripe did the
    work, and the site never heard back (a timeout or a dropped connection)."""

    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        first, *lines = head.decode("latin-1").split("\r\n")
        method, path, _ = first.split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines if ": " in line)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), 0))
        while len(body) < length:
            body += self.request.recv(65536)
        target = urlsplit(self.server.target)
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        upstream.request(method, path, body=body, headers=headers)
        upstream.getresponse().read()
        upstream.close()
        self.server.forwarded.append(f"{method} {urlsplit(path).path}")


@pytest.fixture
def answer_lost(stripe_standin_server):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _LoseTheAnswer)
    server.daemon_threads = True
    server.target = stripe_standin_server.state.public_url
    server.forwarded = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), daemon=True
    )  # quick shutdown
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def close_outside(client, admin, request, note, **extra):
    return admin_action(client, admin, "close_outside", [request], apply="1", note=note, **extra)


def test_answer_lost_then_close_outside_finds_the_refund_stripe_made(
    client, paid_purchase_factory, stripe_standin_server, admin_user, settings, program, answer_lost
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = answer_lost.url  # Stripe refunds, the answer never arrives
    result = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request
    assert result.status == "failed" and "retrying is safe" in result.failure_reason
    assert "POST /v1/refunds" in answer_lost.forwarded
    (at_stripe,) = stripe_refunds_of(stripe_standin_server, purchase)  # one, despite retries
    assert at_stripe["status"] == "succeeded"
    unknown = Refund.objects.get()
    assert unknown.status == "pending" and unknown.stripe_refund_id is None
    assert user_has_access(user=purchase.user, program=program)

    settings.STRIPE_API_BASE = standin_base
    page = close_outside(client, admin_user, request, "Bank transfer 3 May.").content.decode()
    assert "Not closed as refunded outside Stripe" in page
    assert f"Stripe has already refunded 97.00 USD (refund {at_stripe['id']})" in page
    assert "Do not refund the member by hand" in page
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "refunded" and request.staff_note == ""
    assert not Refund.objects.filter(source="outside_stripe").exists()
    (refund,) = Refund.objects.all()
    assert (refund.pk, refund.stripe_refund_id, refund.status) == (
        unknown.pk,
        at_stripe["id"],
        "succeeded",
    )
    assert f"Stripe's refunds of {purchase.stripe_payment_intent_id}" in (
        refund.events.last().source_label
    )
    assert purchase.status == "refunded" and purchase.amount_refunded_cents == 9700
    assert not user_has_access(user=purchase.user, program=program)
    assert AccessEvent.objects.get(action="revoke").actor == admin_user
    note = purchase.events.get(kind="note")
    assert note.data["stripe_check"] == "refund_found"
    assert note.data["checked_by"] == admin_user.pk
    assert note.data["stripe_refunds"] == [at_stripe["id"]]
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1


def test_retry_after_a_lost_answer_records_stripes_refund_instead_of_asking_again(
    paid_purchase_factory, stripe_standin_server, admin_user, settings, program, answer_lost
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = answer_lost.url
    refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    settings.STRIPE_API_BASE = standin_base
    with stripe_standin_server.state.lock:
        # A day later: Stripe keeps idempotency keys for 24 hours only, so sending the same key
        # again would not be recognised; asking Stripe first is what prevents a second refund.
        stripe_standin_server.state.idempotency.clear()

    done = refund_services.refund_request_retry(request_id=request.pk, actor=admin_user).request
    assert done.status == "refunded" and done.attempts == 1
    with stripe_standin_server.state.lock:
        assert stripe_standin_server.state.idempotency == {}  # nothing was sent again
    refund = Refund.objects.get()
    assert (
        refund.status == "succeeded" and "Stripe's refunds of" in refund.events.last().source_label
    )
    assert len(stripe_refunds_of(stripe_standin_server, purchase)) == 1
    assert not user_has_access(user=purchase.user, program=program)


def test_close_outside_when_stripe_has_no_refund_closes_and_records_the_check(
    client, paid_purchase_factory, stripe_standin_server, admin_user, settings, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin_base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # the attempt never reaches Stripe
    refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)
    settings.STRIPE_API_BASE = standin_base

    close_outside(client, admin_user, request, "Bank transfer 3 May.")
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "closed_outside" and request.staff_note == "Bank transfer 3 May."
    assert purchase.status == "refunded"
    outside = Refund.objects.get(source="outside_stripe")
    assert outside.status == "succeeded" and outside.amount_cents == 9700
    unknown = Refund.objects.get(source="site")
    assert unknown.status == "pending"  # what Stripe last told us: nothing
    assert "Stripe has no refund" in unknown.events.last().source_label
    note = purchase.events.get(kind="note")
    assert note.data["stripe_check"] == "no_refund_at_stripe"
    assert note.data["checked_by"] == admin_user.pk and "Closing refund request" in note.note
    assert stripe_refunds_of(stripe_standin_server, purchase) == []
    assert not user_has_access(user=purchase.user, program=program)


def test_close_outside_is_refused_when_stripe_cannot_be_asked_until_staff_confirm(
    client, paid_purchase_factory, admin_user, settings, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe is out of reach throughout
    refund_services.refund_request_approve(request_id=request.pk, actor=admin_user)

    page = close_outside(client, admin_user, request, "Bank transfer 3 May.").content.decode()
    assert "Not closed: we could not reach Stripe" in page
    assert purchase.stripe_payment_intent_id in page
    assert "I have checked the Stripe dashboard" in page and 'name="dashboard_checked"' in page
    assert "Bank transfer 3 May." in page  # the note is kept
    assert page.count("<h1") == 1
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "failed" and purchase.status == "paid"
    assert not Refund.objects.filter(source="outside_stripe").exists()
    assert not purchase.events.filter(kind="note").exists()
    assert user_has_access(user=purchase.user, program=program)
    with pytest.raises(refund_services.StripeUnreachable):
        refund_services.refund_request_close_outside(
            request_id=request.pk, actor=admin_user, note="Bank transfer 3 May."
        )

    close_outside(client, admin_user, request, "Bank transfer 3 May.", dashboard_checked="on")
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "closed_outside" and purchase.status == "refunded"
    assert Refund.objects.get(source="outside_stripe").amount_cents == 9700
    note = purchase.events.get(kind="note")
    assert note.data["stripe_check"] == "unreachable_dashboard_checked"
    assert note.data["checked_by"] == admin_user.pk and note.data["stripe_error"]
    assert f"staff {admin_user.email} confirmed they checked the Stripe dashboard" in note.note
    assert not user_has_access(user=purchase.user, program=program)


def test_close_outside_records_an_unknown_dashboard_refund_first_then_closes_the_rest(
    client, paid_purchase_factory, standin, admin_user, program
):
    purchase = paid_purchase_factory()
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    standin.refund(payment_intent=purchase.stripe_payment_intent_id, amount=2000, deliver="none")

    page = close_outside(client, admin_user, request, "Cash, 77 USD.").content.decode()
    assert "Stripe has already refunded 20.00 USD" in page
    assert "77.00 USD of the payment is still not refunded" in page
    purchase.refresh_from_db()
    request.refresh_from_db()
    assert purchase.status == "partially_refunded" and purchase.amount_refunded_cents == 2000
    assert request.status == "requested"
    assert Refund.objects.get().source == "dashboard"

    close_outside(client, admin_user, request, "Cash, 77 USD.")  # now known: closes the rest
    request.refresh_from_db()
    purchase.refresh_from_db()
    assert request.status == "closed_outside" and purchase.status == "refunded"
    assert Refund.objects.get(source="outside_stripe").amount_cents == 7700
    assert not user_has_access(user=purchase.user, program=program)


def test_the_queue_says_in_plain_words_why_the_bank_refused_a_refund(
    client, paid_purchase_factory, standin, admin_user
):
    purchase = paid_purchase_factory()
    standin.refund_failure(
        payment_intent=purchase.stripe_payment_intent_id,
        failure_reason="lost_or_stolen_card",
        **{"as": "failed"},
    )
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    admin_action(client, admin_user, "approve", [request])
    request.refresh_from_db()
    sentence = (
        "The card was reported lost or stolen, so the money cannot go back to it: refund the "
        "member another way (lost_or_stolen_card)"
    )
    assert request.failure_reason == sentence
    queue = client.get(reverse("admin:billing_refundrequest_changelist")).content.decode()
    assert sentence in queue and "Stripe: lost_or_stolen_card" not in queue
    # Stripe's own word stays on the refund row.
    assert Refund.objects.get().failure_reason == "lost_or_stolen_card"


def test_staff_see_stripes_own_reason_for_a_refusal_word_for_word(
    client, paid_purchase_factory, standin, admin_user
):
    purchase = paid_purchase_factory()
    stripe_words = "This charge cannot be refunded: it is too old (stand-in test wording)."
    standin.refund_failure(
        payment_intent=purchase.stripe_payment_intent_id,
        code="charge_not_refundable",
        message=stripe_words,
        **{"as": "api_error"},
    )
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)
    page = admin_action(client, admin_user, "approve", [request]).content.decode()
    assert f"Stripe said: {stripe_words} (charge_not_refundable)" in page
    request.refresh_from_db()
    assert request.failure_reason == f"{stripe_words} (charge_not_refundable)"
    assert request.events.last().note == request.failure_reason
    change = client.get(reverse("admin:billing_refundrequest_change", args=[request.pk]))
    assert stripe_words in change.content.decode()


def test_approval_refunds_what_stripe_captured_not_the_local_price(
    standin, stripe_standin_server, admin_user, program
):
    from billing.stripe_client import stripe_client
    from tests import factories

    session = stripe_client().v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": program.currency,
                        "unit_amount": program.price_cents,
                        "product_data": {"name": program.title},
                    },
                }
            ],
            "success_url": "https://example.com/ok",
        }
    )
    paid = standin.pay(session.id, deliver="none")["session"]
    intent = stripe_client().v1.payment_intents.retrieve(paid["payment_intent"])
    captured = program.price_cents
    # The local record says less than Stripe took (tax or a currency setting at Stripe).
    purchase = factories.purchase_factory(
        user=factories.user_factory(),
        program=program,
        status="paid",
        amount_cents=captured - 700,
        stripe_checkout_session_id=session.id,
        stripe_payment_intent_id=intent.id,
        stripe_charge_id=intent.latest_charge,
    )
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    result = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request

    assert result.status == "refunded"
    (at_stripe,) = stripe_refunds_of(stripe_standin_server, purchase)
    assert at_stripe["amount"] == captured
    assert Refund.objects.get().amount_cents == captured
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == captured


def test_approval_refunds_only_what_an_unseen_dashboard_refund_left(
    paid_purchase_factory, standin, standin_events, deliver_event, stripe_standin_server, admin_user
):
    purchase = paid_purchase_factory()
    dashboard = standin.refund(
        payment_intent=purchase.stripe_payment_intent_id, amount=2000, deliver="none"
    )
    request, _ = refund_services.refund_request_create(user=purchase.user, purchase_id=purchase.pk)

    result = refund_services.refund_request_approve(request_id=request.pk, actor=admin_user).request

    assert result.status == "refunded"
    amounts = sorted(r["amount"] for r in stripe_refunds_of(stripe_standin_server, purchase))
    assert amounts == sorted([2000, purchase.amount_cents - 2000])
    (created,) = standin_events(dashboard["id"], "refund.created")
    assert deliver_event(created["id"]).status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.REFUNDED
    assert purchase.amount_refunded_cents == purchase.amount_cents
    assert not user_has_access(user=purchase.user, program=purchase.program)
