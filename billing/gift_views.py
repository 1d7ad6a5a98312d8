"""Gift pages: buy the program for someone else, the claim link, and the buyer's resend."""

import logging
from typing import cast
from urllib.parse import urlencode

import stripe
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from billing import gifts, selectors, services
from billing.gift_forms import GiftForm
from billing.models import Gift

logger = logging.getLogger(__name__)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def gift_buy(request: HttpRequest, program: str) -> HttpResponse:
    """The gift form; a valid one records a pending gift purchase and goes to Stripe."""
    user = cast(User, request.user)  # login_required
    obj = selectors.program_for_checkout(slug=program)
    if obj is None:
        raise Http404("No such program.")
    if request.method != "POST":
        form = GiftForm(buyer=user)
        return render(request, "billing/gifts/buy.html", {"program": obj, "form": form})
    form = GiftForm(request.POST, buyer=user)
    if not form.is_valid():
        return render(request, "billing/gifts/buy.html", {"program": obj, "form": form}, status=400)
    try:
        purchase = services.purchase_start(user=user, program=obj, gift=form.details())
    except services.PurchaseNotAllowed as exc:
        if exc.code == "unverified":
            messages.warning(
                request,
                "Please confirm your email address first: we sent you a link. "
                "You can send it again from this page.",
            )
            return redirect("account_email")
        raise  # a gift refuses nothing else
    except stripe.StripeError:
        logger.exception("Could not start a Stripe checkout for a gift")
        form.add_error(
            None,
            "We could not reach the payment service just now. Nothing was charged; "
            "please try again in a minute.",
        )
        return render(request, "billing/gifts/buy.html", {"program": obj, "form": form}, status=503)
    response = HttpResponseRedirect(purchase.checkout_url)
    response.status_code = 303
    return response


def _claim_page(
    request: HttpRequest, token: str, outcome: str, gift: Gift | None, status: int = 200
) -> HttpResponse:
    response = render(
        request,
        "billing/gifts/claim.html",
        {
            "outcome": outcome,
            # Only a working link shows what the gift is and who gave it.
            "gift": gift if outcome in ("claimed", "has_access", "own_gift", "yours") else None,
            "token": token,
            "login_url": f"{reverse('account_login')}?{urlencode({'next': request.path})}",
            "signup_url": f"{reverse('account_signup')}?{urlencode({'next': request.path})}",
        },
        status=status,
    )
    # The link is the secret: never sent to another site (same-origin, not no-referrer, so the
    # Accept form still carries an Origin that Django's CSRF check can compare).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def gift_claim(request: HttpRequest, token: str) -> HttpResponse:
    """The recipient's link. GET shows the gift and a Claim button (opening the link changes
    nothing, so a mail scanner cannot claim it); POST claims it for the signed-in person. A
    forged, used, replaced or expired link gets a friendly page, never an error."""
    if request.method != "POST":
        gift = gifts.gift_for_token(token)
        outcome = gifts.gift_claim_state(gift=gift, user=request.user)
        return _claim_page(
            request, token, outcome, gift, status=404 if outcome == "invalid" else 200
        )
    if not request.user.is_authenticated:
        return redirect(f"{reverse('account_login')}?{urlencode({'next': request.path})}")
    result = gifts.gift_claim(token=token, user=request.user)
    if result.outcome != "claimed" or result.gift is None:
        status = 404 if result.outcome == "invalid" else 200
        return _claim_page(request, token, result.outcome, result.gift, status=status)
    messages.success(
        request, "The gift is yours: every unit of the program is open to you now, for life."
    )
    return redirect("program:detail", result.gift.purchase.program.slug)


@login_required
@require_POST
def gift_resend(request: HttpRequest, gift: int) -> HttpResponse:
    """The buyer sends the claim e-mail again (a fresh link)."""
    result = gifts.gift_resend(gift_id=gift, user=cast(User, request.user))
    if result.outcome == "not_found":
        raise Http404("We could not find that gift.")
    text = {
        "sent": "We sent the gift e-mail again, with a new link (the earlier link no longer works).",
        "too_soon": "We sent it a few minutes ago. Please wait a little before sending it again.",
        "rate_limited": "You have sent gift e-mails several times in a short while. "
        "Please wait an hour and try again.",
        "not_sendable": "This gift cannot be sent again: it is not waiting to be claimed.",
    }[result.outcome]
    (messages.success if result.outcome == "sent" else messages.info)(request, text)
    return redirect(f"{reverse('billing:purchases')}#gift-{gift}")
