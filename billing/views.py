import json
import logging
import re
from typing import cast
from urllib.parse import urlencode

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from billing import refund_services, selectors, services, webhooks
from billing.beneficiary import refund_askers_q
from billing.forms import RefundRequestForm
from billing.gift_selectors import gifts_received
from billing.models import Purchase

logger = logging.getLogger(__name__)

SESSION_ID_RE = re.compile(r"cs_[A-Za-z0-9_]{1,250}")


@require_POST
def checkout(request, program: str):
    """Buy: record a pending purchase, then send the member to Stripe's checkout page."""
    obj = selectors.program_for_checkout(slug=program)
    if obj is None:
        raise Http404("No such program.")
    program_url = reverse("program:detail", args=[obj.slug])
    if not request.user.is_authenticated:
        messages.info(
            request,
            "Please sign in or create an account first. You will come back here to buy.",
        )
        return redirect(f"{reverse('account_login')}?{urlencode({'next': program_url})}")
    try:
        purchase = services.purchase_start(user=request.user, program=obj)
    except services.PurchaseNotAllowed as exc:
        if exc.code == "unverified":
            messages.warning(
                request,
                "Please confirm your email address first: we sent you a link. "
                "You can send it again from this page.",
            )
            return redirect("account_email")
        if exc.code == "processing":
            messages.info(
                request,
                "Your payment is still being processed by your bank, so there is no need to pay "
                "again. The program opens, and we email your receipt, as soon as it arrives.",
            )
            return redirect("billing:purchases")
        messages.info(request, "You already have the full program. Welcome back!")
        return redirect(program_url)
    except stripe.StripeError:
        logger.exception("Could not start a Stripe checkout")
        messages.error(
            request,
            "We could not reach the payment service just now. Nothing was charged; "
            "please try again in a minute.",
        )
        return redirect(program_url)
    response = HttpResponseRedirect(purchase.checkout_url)
    response.status_code = 303
    return response


@never_cache
@require_GET
def checkout_success(request):
    """Back from Stripe: confirm the payment with Stripe and open the program."""
    session_id = request.GET.get("session_id", "")
    if not SESSION_ID_RE.fullmatch(session_id):
        raise Http404("No such payment.")
    stripe_unavailable = False
    try:
        purchase = services.purchase_check_session(session_id=session_id)
    except stripe.StripeError:
        logger.exception("Could not confirm checkout session %s", session_id)
        purchase = (
            Purchase.objects.select_related("program")
            .filter(stripe_checkout_session_id=session_id)
            .first()
        )
        stripe_unavailable = True
    if purchase is None:
        raise Http404("No such payment.")
    is_owner = request.user.is_authenticated and purchase.user_id == request.user.pk
    first_paid_unit = purchase.program.units.filter(is_free=False).first()
    return render(
        request,
        "billing/checkout_success.html",
        {
            "purchase": purchase,
            "program": purchase.program,
            "is_owner": is_owner,
            # A partial refund leaves the program open; the page reads as for a paid purchase.
            "is_paid": purchase.holds_payment,
            "first_paid_unit": first_paid_unit,
            "stripe_unavailable": stripe_unavailable,
        },
    )


@require_GET
def checkout_cancel(request: HttpRequest) -> HttpResponse:
    """The member left Stripe's page without paying."""
    program = selectors.program_for_checkout(slug=request.GET.get("program", "")[:50])
    return render(request, "billing/checkout_cancel.html", {"program": program})


@never_cache
@login_required
@require_GET
def purchases(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required
    items = selectors.purchases_for_user(user=user)
    received = gifts_received(user=user)
    return render(
        request, "billing/purchases.html", {"purchases": items, "gifts_received": received}
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def refund_request(request: HttpRequest, purchase: int) -> HttpResponse:
    """The member asks for a refund of one of their purchases (lifetime guarantee).

    Opened by address (a reload, a bookmark, a sign-in's `next`), it shows the owner their
    purchases page at that purchase's refund section; anyone else gets a 404 as for a POST."""
    user = cast(User, request.user)  # login_required
    if request.method != "POST":
        if not Purchase.objects.filter(refund_askers_q(user), pk=purchase).exists():
            raise Http404("We could not find that purchase.")
        return redirect(f"{reverse('billing:purchases')}#refund-{purchase}")
    form = RefundRequestForm(request.POST)
    if not form.is_valid():
        items = selectors.purchases_for_user(user=user)
        context = {
            "purchases": items,
            "gifts_received": gifts_received(user=user),
            "form": form,
            "form_purchase_id": purchase,
        }
        return render(request, "billing/purchases.html", context, status=400)
    try:
        _obj, created = refund_services.refund_request_create(
            user=user, purchase_id=purchase, reason=form.cleaned_data["reason"]
        )
    except refund_services.RefundNotAllowed as exc:
        if exc.code == "not_found":
            raise Http404(exc.message) from exc
        messages.info(request, exc.message)
        return redirect("billing:purchases")
    if created:
        messages.success(
            request,
            "Thank you: we received your refund request and sent you an email. "
            "We will write again when it is done.",
        )
    else:
        messages.info(request, "You have already asked for this refund; its status is below.")
    return redirect("billing:purchases")


def _bad_request(reason: str) -> HttpResponse:
    return HttpResponse(reason, status=400, content_type="text/plain")


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: verify the signature over the raw body, store, then handle once."""
    payload = request.body
    try:
        webhooks.webhook_signature_verify(
            payload=payload, header=request.headers.get("Stripe-Signature")
        )
        body = json.loads(payload)
    except stripe.SignatureVerificationError:
        return _bad_request("Bad or missing signature.")
    except ValueError:  # malformed JSON or not UTF-8 (UnicodeDecodeError is a ValueError)
        return _bad_request("Malformed JSON.")
    if (
        not isinstance(body, dict)
        or body.get("object") != "event"
        or not isinstance(body.get("id"), str)
        or not body["id"]
        or len(body["id"]) > 255
        or not isinstance(body.get("type"), str)
        or len(body["type"]) > 100
        or not isinstance(body.get("data"), dict)
        or not isinstance(body["data"].get("object"), dict)
    ):
        return _bad_request("Not a Stripe event.")
    event, _created = webhooks.webhook_event_record(body=body, headers=request.headers)
    if event.is_processed:
        return HttpResponse("Already processed.", content_type="text/plain")
    try:
        webhooks.webhook_event_process(event=event)
    except Exception:
        # Recorded on the event; Stripe delivers it again later.
        return HttpResponse("Handler failed.", status=500, content_type="text/plain")
    return HttpResponse("OK", content_type="text/plain")
