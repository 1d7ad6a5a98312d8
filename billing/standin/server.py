"""A local stand-in for the parts of Stripe's API the site uses. For local runs and tests only.

The official stripe library talks to it through STRIPE_API_BASE. It keeps everything in memory
(and, with a state file, saves it after every change and loads it at start), answers with
Stripe's object shapes and error format, rejects unknown parameters (checked against
the library's own parameter types), honours Idempotency-Key, serves a hosted checkout page with
"Pay" and "Cancel", and delivers events signed exactly as Stripe signs them
(Stripe-Signature: t=...,v1=HMAC-SHA256 of "{t}.{body}" with the webhook secret), retrying with
back-off until the site answers 2xx.

A small control API under /_standin/ lets tests (and people) pay, redeliver or emit events,
refund from "the dashboard" and open or close disputes. See billing/standin/README.md.
"""

import contextlib
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.request
from copy import deepcopy
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from stripe.params import RefundCreateParams, RefundListParams, RefundRetrieveParams
from stripe.params._payment_intent_retrieve_params import PaymentIntentRetrieveParams
from stripe.params.checkout import (
    SessionCreateParams,
    SessionExpireParams,
    SessionListLineItemsParams,
    SessionRetrieveParams,
)

from billing.standin.params import ParamError, decode_form, validate
from core.money import money_format

logger = logging.getLogger("billing.standin")

DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
STATE_FILE_VERSION = 1


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, *, type_="invalid_request_error", param=None, code=None
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message}}
        if param:
            self.body["error"]["param"] = param
        if code:
            self.body["error"]["code"] = code


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'A').replace('_', 'B')}"


def _now() -> int:
    return int(time.time())


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with a webhook."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _api_key_hash(key: str) -> str:
    """Idempotency keys are scoped per API key like Stripe's; the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class StateFileError(Exception):
    pass


class StandinState:
    """Everything the stand-in knows, in memory, behind one lock.

    With `state_file`, `load_state_file()` reads it at start and `save()` writes it (to a temporary
    file, then os.replace, so a crash never leaves half a file) after every change."""

    def __init__(
        self,
        *,
        public_url,
        webhook_url,
        webhook_secret,
        api_version,
        delivery="async",
        retry_delays=DEFAULT_RETRY_DELAYS,
        state_file=None,
    ):
        self.lock = threading.RLock()
        # Webhook requests on the wire right now, so a caller can wait until none is (tests do,
        # before the database under the site is wiped).
        self._in_flight = 0
        self._in_flight_changed = threading.Condition()
        self.state_file = Path(state_file) if state_file else None
        self.state_file_damaged = False  # set by load_state_file() when it had to move it aside
        self.public_url = public_url.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_version = api_version
        # "async": a background thread delivers (like Stripe); "before_redirect": the Pay button
        # delivers and waits before sending the browser back; "none": only when told.
        self.delivery = delivery
        self.retry_delays = tuple(retry_delays)
        self.reset()

    def reset(self):
        with self.lock:
            self.objects: dict[str, dict] = {}
            self.line_items: dict[str, list] = {}
            self.private: dict[str, dict] = {}  # per-object data Stripe would not show
            self.idempotency: dict[tuple, tuple] = {}
            self.event_bodies: dict[str, str] = {}
            self.event_order: list[str] = []
            self.deliveries: dict[str, list] = {}
            self.requests: list[dict] = []

    # -- the state file ------------------------------------------------------------------------
    # Tuple keys do not survive JSON: idempotency entries are stored as lists.
    _PLAIN = ("objects", "line_items", "private", "event_bodies", "event_order", "deliveries")

    def snapshot(self) -> dict:
        with self.lock:
            data = {"version": STATE_FILE_VERSION, "saved_at": time.time()}
            data.update({name: getattr(self, name) for name in self._PLAIN})
            data["idempotency"] = [[*key, *value] for key, value in self.idempotency.items()]
            data["requests"] = self.requests
            return data

    def restore(self, data) -> None:
        """Take over a snapshot; StateFileError when it is not one (nothing is changed then)."""
        types = {
            "objects": dict,
            "line_items": dict,
            "private": dict,
            "event_bodies": dict,
            "event_order": list,
            "deliveries": dict,
            "idempotency": list,
            "requests": list,
        }
        if not isinstance(data, dict):
            raise StateFileError("it is not a JSON object")
        if data.get("version") != STATE_FILE_VERSION:
            raise StateFileError(f"unknown version {data.get('version')!r}")
        for name, type_ in types.items():
            if not isinstance(data.get(name), type_):
                raise StateFileError(f"{name!r} is missing or not a {type_.__name__}")
        try:
            idempotency = {
                (key, idem): (path, fingerprint, status, response)
                for key, idem, path, fingerprint, status, response in data["idempotency"]
            }
        except (TypeError, ValueError) as exc:
            raise StateFileError(f"bad idempotency entry ({exc})") from exc
        for object_id, obj in data["objects"].items():
            if not isinstance(obj, dict) or obj.get("id") != object_id or "object" not in obj:
                raise StateFileError(f"object {object_id!r} is not a Stripe object")
        for event_id in data["event_order"]:
            if not isinstance(data["event_bodies"].get(event_id), str):
                raise StateFileError(f"event {event_id!r} has no body")
            if not isinstance(data["deliveries"].get(event_id, []), list):
                raise StateFileError(f"the deliveries of event {event_id!r} are not a list")
        with self.lock:
            for name in self._PLAIN:
                setattr(self, name, data[name])
            for event_id in self.event_order:
                self.deliveries.setdefault(event_id, [])
            self.idempotency = idempotency
            self.requests = data["requests"]

    def load_state_file(self) -> str:
        """Load the state file when there is one; says what happened, for the person running it.

        An unreadable or damaged file is moved aside (`<name>.corrupt-<time>`) and the stand-in
        starts empty: a clear message instead of a crash on every start."""
        path = self.state_file
        if path is None:
            return ""
        if not path.exists():
            return f"State file {path} does not exist yet; starting empty and saving there."
        try:
            with path.open(encoding="utf-8") as handle:
                data = json.load(handle)
            self.restore(data)
        except (OSError, UnicodeDecodeError, ValueError, StateFileError) as exc:
            aside = path.with_name(
                f"{path.name}.corrupt-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}"
            )
            try:
                path.rename(aside)
                moved = f"moved it to {aside}"
            except OSError as rename_error:
                moved = f"could not move it aside ({rename_error}); it will be overwritten"
            self.state_file_damaged = True
            return (
                f"State file {path} could not be read ({exc.__class__.__name__}: {exc}); "
                f"{moved}. Starting empty: payments made before are unknown to this stand-in."
            )
        with self.lock:
            counts = {
                kind: sum(1 for o in self.objects.values() if o.get("object") == kind)
                for kind in ("checkout.session", "payment_intent", "refund", "event")
            }
        return (
            f"State loaded from {path}: {counts['checkout.session']} checkout sessions, "
            f"{counts['payment_intent']} payments, {counts['refund']} refunds, "
            f"{counts['event']} events."
        )

    def save(self) -> None:
        """Write the state file atomically (temporary file + os.replace) under the state lock.
        A failure is logged, not raised: the answer to the request still goes out."""
        if self.state_file is None:
            return
        with self.lock:
            temp_name = None
            try:
                self.state_file.parent.mkdir(parents=True, exist_ok=True)
                fd, temp_name = tempfile.mkstemp(
                    dir=self.state_file.parent, prefix=f".{self.state_file.name}.", suffix=".tmp"
                )
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(self.snapshot(), handle)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp_name, self.state_file)
                temp_name = None
            except (OSError, TypeError, ValueError):
                logger.exception("Could not save the stand-in's state to %s", self.state_file)
            finally:
                if temp_name is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(temp_name)

    # -- objects -------------------------------------------------------------------------------
    def get(self, object_id: str, kind: str, param: str = "id") -> dict:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise ApiError(
                404,
                f"No such {kind.split('.')[-1]}: '{object_id}'",
                param=param,
                code="resource_missing",
            )
        return obj

    def put(self, obj: dict) -> dict:
        self.objects[obj["id"]] = obj
        return obj

    # -- events --------------------------------------------------------------------------------
    def event_create(self, type_: str, obj: dict, *, api_version=None, previous=None) -> dict:
        data = {"object": deepcopy(obj)}
        if previous:
            data["previous_attributes"] = previous
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": api_version or self.api_version,
            "created": _now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        with self.lock:
            self.objects[event["id"]] = event
            self.event_bodies[event["id"]] = json.dumps(event, indent=2)
            self.event_order.append(event["id"])
            self.deliveries[event["id"]] = []
        return event

    def deliver_once(self, event_id: str) -> int | None:
        """POST the event to the webhook URL once; the HTTP status, or None when unreachable."""
        with self._in_flight_changed:
            self._in_flight += 1
        try:
            return self._deliver_once(event_id)
        finally:
            with self._in_flight_changed:
                self._in_flight -= 1
                self._in_flight_changed.notify_all()

    def wait_for_deliveries_in_flight(self, timeout: float) -> bool:
        """Block until no webhook request is on the wire (True), or timeout seconds (False).
        Background retries that start later read the webhook URL afresh."""
        with self._in_flight_changed:
            return self._in_flight_changed.wait_for(lambda: self._in_flight == 0, timeout)

    def _deliver_once(self, event_id: str) -> int | None:
        payload = self.event_bodies[event_id]
        request = urllib.request.Request(  # noqa: S310 (the configured webhook URL)
            self.webhook_url,
            data=payload.encode(),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": sign(payload, self.webhook_secret),
            },
        )
        status, error = None, ""
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            error = str(exc)
        with self.lock:
            self.deliveries[event_id].append({"at": time.time(), "status": status, "error": error})
            self.save()
        return status

    def deliver(self, event_id: str, mode: str | None = None) -> int | None:
        """Deliver now ("sync", returns the status), in the background with retries ("async"),
        or not at all ("none")."""
        mode = mode or ("async" if self.delivery == "before_redirect" else self.delivery)
        if mode == "none":
            return None
        if mode == "sync":
            return self.deliver_once(event_id)
        thread = threading.Thread(target=self._deliver_with_retries, args=(event_id,), daemon=True)
        thread.start()
        return None

    def _deliver_with_retries(self, event_id: str) -> None:
        for delay in (0.0, *self.retry_delays):
            time.sleep(delay)
            status = self.deliver_once(event_id)
            if status is not None and 200 <= status < 300:
                return
        logger.warning("Gave up delivering %s", event_id)

    def emit(self, type_: str, obj: dict, mode: str | None = None, **kwargs) -> dict:
        event = self.event_create(type_, obj, **kwargs)
        self.deliver(event["id"], mode)
        return event

    # -- checkout ------------------------------------------------------------------------------
    def session_create(self, params: dict) -> dict:
        mode = params.get("mode")
        if mode not in {"payment", "setup", "subscription"}:
            raise ApiError(
                400, "Invalid mode: must be one of payment, setup, or subscription", param="mode"
            )
        if mode != "payment":
            raise ApiError(400, "The stand-in only does `payment` mode.", param="mode")
        items_in = params.get("line_items") or []
        if not items_in:
            raise ApiError(
                400, "You must specify `line_items` in `payment` mode.", param="line_items"
            )
        if params.get("ui_mode", "hosted") == "hosted" and not params.get("success_url"):
            raise ApiError(400, "Missing required param: success_url.", param="success_url")
        session_id = "cs_test_" + secrets.token_hex(24)
        items, currency, total = [], None, 0
        for index, item in enumerate(items_in):
            path = f"line_items[{index}]"
            if "price" in item:
                raise ApiError(
                    400,
                    f"No such price: '{item['price']}'",
                    param=f"{path}[price]",
                    code="resource_missing",
                )
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                raise ApiError(
                    400, f"Missing required param: {path}[price_data].", param=f"{path}[price_data]"
                )
            for required in ("currency", "unit_amount"):
                if required not in price_data:
                    raise ApiError(
                        400,
                        f"Missing required param: {path}[price_data][{required}].",
                        param=f"{path}[price_data][{required}]",
                    )
            product_data = price_data.get("product_data") or {}
            if not product_data.get("name"):
                raise ApiError(
                    400,
                    f"Missing required param: {path}[price_data][product_data][name].",
                    param=f"{path}[price_data][product_data][name]",
                )
            quantity = int(item.get("quantity", "1"))
            unit_amount = int(price_data["unit_amount"])
            item_currency = price_data["currency"].lower()
            if currency and item_currency != currency:
                raise ApiError(
                    400,
                    "All line items must use the same currency.",
                    param=f"{path}[price_data][currency]",
                )
            currency = item_currency
            total += unit_amount * quantity
            product_id = _new_id("prod")
            items.append(
                {
                    "id": _new_id("li"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit_amount * quantity,
                    "amount_tax": 0,
                    "amount_total": unit_amount * quantity,
                    "currency": item_currency,
                    "description": product_data["name"],
                    "price": {
                        "id": _new_id("price"),
                        "object": "price",
                        "active": False,
                        "billing_scheme": "per_unit",
                        "created": _now(),
                        "currency": item_currency,
                        "livemode": False,
                        "metadata": {},
                        "product": product_id,
                        "recurring": None,
                        "type": "one_time",
                        "unit_amount": unit_amount,
                        "unit_amount_decimal": str(unit_amount),
                    },
                    "quantity": quantity,
                }
            )
        now = _now()
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "client_secret": None,
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "expires_at": int(params.get("expires_at") or now + 24 * 3600),
            "invoice": None,
            "livemode": False,
            "locale": params.get("locale"),
            "metadata": params.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "submit_type": params.get("submit_type"),
            "subscription": None,
            "success_url": params.get("success_url"),
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": params.get("ui_mode", "hosted"),
            "url": f"{self.public_url}/c/pay/{session_id}",
        }
        with self.lock:
            self.put(session)
            self.line_items[session_id] = items
            self.private[session_id] = {
                "payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata")
                or {}
            }
        return session

    def session_pay(self, session_id: str, *, async_payment=False, mode=None) -> tuple[dict, dict]:
        """What happens when the customer presses Pay: the session completes (paid, or waiting
        for a delayed payment method) and checkout.session.completed goes out."""
        with self.lock:
            session = self.get(session_id, "checkout.session")
            if session["status"] != "open":
                raise ApiError(
                    400,
                    f"This Checkout Session is {session['status']}.",
                    code="checkout_session_not_open",
                )
            intent = self._payment_intent_create(session, succeeded=not async_payment)
            session.update(
                {
                    "status": "complete",
                    "payment_status": "unpaid" if async_payment else "paid",
                    "payment_intent": intent["id"],
                    "url": None,
                    "customer_details": {
                        "address": None,
                        "email": session["customer_email"] or "customer@example.com",
                        "name": "Test Customer",
                        "phone": None,
                        "tax_exempt": "none",
                        "tax_ids": [],
                    },
                }
            )
            snapshot = deepcopy(session)
        event = self.emit("checkout.session.completed", snapshot, mode)
        return snapshot, event

    def session_async_result(self, session_id: str, *, succeeded: bool, mode=None):
        with self.lock:
            session = self.get(session_id, "checkout.session")
            intent = self.get(session["payment_intent"], "payment_intent")
            if succeeded:
                self._payment_intent_succeed(intent)
                session["payment_status"] = "paid"
                type_ = "checkout.session.async_payment_succeeded"
            else:
                intent["status"] = "requires_payment_method"
                type_ = "checkout.session.async_payment_failed"
            snapshot = deepcopy(session)
        return snapshot, self.emit(type_, snapshot, mode)

    def session_expire(self, session_id: str, mode=None) -> dict:
        with self.lock:
            session = self.get(session_id, "checkout.session")
            if session["status"] != "open":
                raise ApiError(
                    400,
                    f"Only Checkout Sessions with a status of `open` can be "
                    f"expired. This session has a status of `{session['status']}`.",
                )
            session.update({"status": "expired", "url": None})
            snapshot = deepcopy(session)
        self.emit("checkout.session.expired", snapshot, mode)
        return snapshot

    def _payment_intent_create(self, session: dict, *, succeeded: bool) -> dict:
        intent = {
            "id": _new_id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "amount_received": 0,
            "currency": session["currency"],
            "created": _now(),
            "customer": None,
            "description": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": dict(
                self.private.get(session["id"], {}).get("payment_intent_metadata", {})
            ),
            "payment_method_types": ["card"],
            "receipt_email": session["customer_email"],
            "status": "processing",
        }
        self.put(intent)
        if succeeded:
            self._payment_intent_succeed(intent)
        return intent

    def _payment_intent_succeed(self, intent: dict) -> None:
        charge = {
            "id": _new_id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_captured": intent["amount"],
            "amount_refunded": 0,
            "captured": True,
            "created": _now(),
            "currency": intent["currency"],
            "disputed": False,
            "livemode": False,
            "metadata": dict(intent["metadata"]),
            "paid": True,
            "payment_intent": intent["id"],
            "receipt_email": intent["receipt_email"],
            "refunded": False,
            "status": "succeeded",
        }
        self.put(charge)
        intent.update(
            {
                "status": "succeeded",
                "amount_received": intent["amount"],
                "latest_charge": charge["id"],
            }
        )

    # -- refunds and disputes -------------------------------------------------------------------
    def _charge_for(self, params: dict) -> dict:
        if params.get("charge"):
            return self.get(params["charge"], "charge", param="charge")
        if params.get("payment_intent"):
            intent = self.get(params["payment_intent"], "payment_intent", param="payment_intent")
            if not intent["latest_charge"]:
                raise ApiError(
                    400,
                    f"This PaymentIntent ({intent['id']}) does not have a "
                    "successful charge to refund.",
                    param="payment_intent",
                    code="charge_not_refundable",
                )
            return self.get(intent["latest_charge"], "charge")
        raise ApiError(
            400,
            "One of the following params should be provided for this request: "
            "payment_intent or charge.",
            param="charge",
        )

    def refund_create(self, params: dict, mode=None) -> dict:
        with self.lock:
            charge = self._charge_for(params)
            remaining = charge["amount"] - charge["amount_refunded"]
            if remaining <= 0:
                raise ApiError(
                    400,
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = int(params.get("amount") or remaining)
            if amount > remaining:
                raise ApiError(
                    400,
                    f"Refund amount ({amount}) is greater than unrefunded amount "
                    f"on charge ({remaining})",
                    param="amount",
                    code="amount_too_large",
                )
            failure = self.private.get(charge["id"], {}).get("refund_failure")
            if failure and failure.get("as") == "api_error":
                raise ApiError(
                    400,
                    failure.get(
                        "message",
                        "The charge you are attempting to refund has expired for refunds.",
                    ),
                    code=failure.get("code", "charge_expired_for_refund"),
                )
            refund = {
                "id": _new_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": _now(),
                "currency": charge["currency"],
                "failure_reason": None,
                "metadata": params.get("metadata") or {},
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason"),
                "status": "succeeded",
            }
            if failure:
                refund.update(
                    {
                        "status": "failed",
                        "failure_reason": failure.get("failure_reason", "expired_or_canceled_card"),
                    }
                )
            else:
                charge["amount_refunded"] += amount
                charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            self.put(refund)
            refund_snapshot, charge_snapshot = deepcopy(refund), deepcopy(charge)
        self.emit("refund.created", refund_snapshot, mode)
        if refund["status"] == "failed":
            self.emit("refund.failed", refund_snapshot, mode)
        else:
            self.emit("charge.refunded", charge_snapshot, mode)
        return refund_snapshot

    def dispute_create(self, params: dict, mode=None) -> dict:
        with self.lock:
            charge = self._charge_for(params)
            dispute = {
                "id": _new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge["id"],
                "created": _now(),
                "currency": charge["currency"],
                "livemode": False,
                "metadata": {},
                "payment_intent": charge["payment_intent"],
                "reason": params.get("reason", "general"),
                "status": "needs_response",
            }
            charge["disputed"] = True
            self.put(dispute)
            snapshot = deepcopy(dispute)
        self.emit("charge.dispute.created", snapshot, mode)
        return snapshot

    def dispute_close(self, dispute_id: str, outcome: str, mode=None) -> dict:
        if outcome not in {"won", "lost"}:
            raise ApiError(400, "outcome must be won or lost", param="outcome")
        with self.lock:
            dispute = self.get(dispute_id, "dispute")
            dispute["status"] = outcome
            snapshot = deepcopy(dispute)
        self.emit("charge.dispute.closed", snapshot, mode)
        return snapshot

    # -- expansion -------------------------------------------------------------------------------
    def session_view(self, session: dict, expand: list) -> dict:
        view = deepcopy(session)
        for field in expand:
            if field == "line_items":
                view["line_items"] = self.line_items_list(session["id"])
            elif field in ("payment_intent", "payment_intent.latest_charge"):
                if session["payment_intent"]:
                    intent = deepcopy(self.objects[session["payment_intent"]])
                    if field.endswith("latest_charge") and intent["latest_charge"]:
                        intent["latest_charge"] = deepcopy(self.objects[intent["latest_charge"]])
                    view["payment_intent"] = intent
            else:
                raise ApiError(400, f"This property cannot be expanded ({field}).", param="expand")
        return view

    def line_items_list(self, session_id: str) -> dict:
        return {
            "object": "list",
            "data": deepcopy(self.line_items[session_id]),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }


# ------------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------------
ROUTES = [
    ("POST", r"/v1/checkout/sessions", "api_session_create"),
    ("GET", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)", "api_session_retrieve"),
    ("GET", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)/line_items", "api_session_line_items"),
    ("POST", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)/expire", "api_session_expire"),
    ("GET", r"/v1/payment_intents/(?P<id>pi_[\w]+)", "api_payment_intent_retrieve"),
    ("GET", r"/v1/charges/(?P<id>ch_[\w]+)", "api_charge_retrieve"),
    ("POST", r"/v1/refunds", "api_refund_create"),
    ("GET", r"/v1/refunds", "api_refund_list"),
    ("GET", r"/v1/refunds/(?P<id>re_[\w]+)", "api_refund_retrieve"),
    ("GET", r"/v1/events/(?P<id>evt_[\w]+)", "api_event_retrieve"),
    ("GET", r"/c/pay/(?P<id>cs_[\w]+)", "page_checkout"),
    ("POST", r"/c/pay/(?P<id>cs_[\w]+)/(?P<action>pay|cancel)", "page_checkout_action"),
    ("GET", r"/_standin/health", "control_health"),
    ("POST", r"/_standin/config", "control_config"),
    ("POST", r"/_standin/reset", "control_reset"),
    ("GET", r"/_standin/events", "control_events"),
    ("POST", r"/_standin/events", "control_event_emit"),
    ("GET", r"/_standin/events/(?P<id>evt_[\w]+)", "control_event"),
    ("POST", r"/_standin/events/(?P<id>evt_[\w]+)/deliver", "control_event_deliver"),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/pay", "control_session_pay"),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/async_result", "control_session_async"),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/expire", "control_session_expire"),
    ("POST", r"/_standin/refunds", "control_refund"),
    ("POST", r"/_standin/refund_failures", "control_refund_failure"),
    ("POST", r"/_standin/disputes", "control_dispute"),
    ("POST", r"/_standin/disputes/(?P<id>dp_[\w]+)/close", "control_dispute_close"),
]
COMPILED = [(method, re.compile(f"^{pattern}$"), name) for method, pattern, name in ROUTES]


class Handler(BaseHTTPRequestHandler):
    server_version = "StripeStandin/1.0"
    protocol_version = "HTTP/1.1"

    @property
    def state(self) -> StandinState:
        return self.server.state

    def log_message(self, format, *args):  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    # -- plumbing ---------------------------------------------------------------------------------
    def _read_body(self) -> str:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length).decode("utf-8") if length else ""

    def _send(self, status: int, body: bytes, content_type: str, headers=None):
        if self.command == "POST":
            # Every POST may have changed something: saved before the answer goes out, so a
            # client that got its answer can stop the stand-in and find the change on disk.
            self.state.save()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Request-Id", _new_id("req"))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers=None):
        self._send(status, json.dumps(data, indent=2).encode(), "application/json", headers)

    def _redirect(self, url: str):
        self._send(303, b"", "text/plain", {"Location": url})

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        found = next(
            (
                (route_name, match)
                for route_method, pattern, route_name in COMPILED
                if route_method == method and (match := pattern.match(url.path))
            ),
            None,
        )
        if found is None:
            self._read_body()
            if url.path.startswith("/v1/"):
                self._json(
                    404, ApiError(404, f"Unrecognized request URL ({method}: {url.path}).").body
                )
            else:
                self._send(404, b"Not found", "text/plain")
            return
        route_name, match = found
        try:
            getattr(self, route_name)(url, **match.groupdict())
        except ApiError as exc:
            self._json(exc.status, exc.body)
        except ParamError as exc:
            self._json(400, ApiError(400, exc.message, param=exc.param, code=exc.code).body)

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    # -- the API -----------------------------------------------------------------------------------
    def _authenticate(self) -> str:
        auth = self.headers.get("Authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not key:
            raise ApiError(
                401,
                "You did not provide an API key. You need to provide your API key "
                "in the Authorization header, using Bearer auth.",
            )
        if not key.startswith(("sk_test_", "rk_test_")):
            raise ApiError(
                401,
                f"Invalid API Key provided: {key[:8]}****. The stand-in only "
                "accepts test keys (sk_test_...).",
            )
        return key

    def _params(self, url, params_type, body: str | None = None) -> dict:
        raw = body if body is not None else url.query
        params = decode_form(raw)
        validate(params, params_type)
        return params

    def _api_post(self, url, params_type, action):
        """Authenticate, validate, then run `action(params)` once per Idempotency-Key."""
        key = self._authenticate()
        body = self._read_body()
        params = self._params(url, params_type, body)
        idem = self.headers.get("Idempotency-Key")
        fingerprint = json.dumps(params, sort_keys=True)
        # The lock makes a concurrent retry with the same key wait and get the same answer.
        with self.state.lock:
            scope = _api_key_hash(key)
            cached = self.state.idempotency.get((scope, idem)) if idem else None
            if cached is not None:
                path, cached_fingerprint, status, response = cached
                if path != url.path or cached_fingerprint != fingerprint:
                    raise ApiError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{idem}' if you meant to execute a different request.",
                        type_="idempotency_error",
                    )
                self._json(
                    status, response, {"Idempotent-Replayed": "true", "Idempotency-Key": idem}
                )
                return
            try:
                status, response = 200, action(params)
            except ApiError as exc:
                status, response = exc.status, exc.body
            if idem:
                self.state.idempotency[(scope, idem)] = (url.path, fingerprint, status, response)
        headers = {"Idempotency-Key": idem} if idem else None
        self._json(status, response, headers)

    def _expand(self, params: dict) -> list:
        expand = params.get("expand") or []
        return expand if isinstance(expand, list) else [expand]

    def api_session_create(self, url):
        def create(params):
            session = self.state.session_create(params)
            return self.state.session_view(session, self._expand(params))

        self._api_post(url, SessionCreateParams, create)

    def api_session_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        params = self._params(url, SessionRetrieveParams)
        with self.state.lock:
            session = self.state.get(id, "checkout.session", param="session")
            view = self.state.session_view(session, self._expand(params))
        self._json(200, view)

    def api_session_line_items(self, url, id):  # noqa: A002
        self._authenticate()
        self._params(url, SessionListLineItemsParams)
        with self.state.lock:
            self.state.get(id, "checkout.session", param="session")
            self._json(200, self.state.line_items_list(id))

    def api_session_expire(self, url, id):  # noqa: A002
        self._api_post(url, SessionExpireParams, lambda params: self.state.session_expire(id))

    def api_payment_intent_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        params = self._params(url, PaymentIntentRetrieveParams)
        with self.state.lock:
            intent = deepcopy(self.state.get(id, "payment_intent", param="intent"))
            if "latest_charge" in self._expand(params) and intent["latest_charge"]:
                intent["latest_charge"] = deepcopy(self.state.objects[intent["latest_charge"]])
        self._json(200, intent)

    def api_charge_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        with self.state.lock:
            self._json(200, deepcopy(self.state.get(id, "charge", param="charge")))

    def api_refund_create(self, url):
        self._api_post(url, RefundCreateParams, self.state.refund_create)

    def api_refund_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        self._params(url, RefundRetrieveParams)
        with self.state.lock:
            self._json(200, deepcopy(self.state.get(id, "refund", param="refund")))

    def api_refund_list(self, url):
        """GET /v1/refunds: Stripe's list (newest first, `limit` 1-100, default 10), filtered by
        `payment_intent`, `charge` and `created`, paged with `starting_after`/`ending_before`."""
        self._authenticate()
        params = self._params(url, RefundListParams)
        limit = int(params.get("limit", "10"))
        if not 1 <= limit <= 100:
            raise ApiError(
                400, f"Invalid limit: must be between 1 and 100 (got {limit})", param="limit"
            )
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise ApiError(
                400,
                "You may only specify one of these parameters: ending_before, starting_after.",
            )
        expand = self._expand(params)
        for field in expand:
            if field not in ("data.charge", "data.payment_intent"):
                raise ApiError(400, f"This property cannot be expanded ({field}).", param="expand")
        created = params.get("created")
        bounds = created if isinstance(created, dict) else {}
        checks = {
            "gt": lambda t, v: t > v,
            "gte": lambda t, v: t >= v,
            "lt": lambda t, v: t < v,
            "lte": lambda t, v: t <= v,
        }

        def wanted(obj: dict) -> bool:
            if obj["object"] != "refund":
                return False
            if params.get("payment_intent") and obj["payment_intent"] != params["payment_intent"]:
                return False
            if params.get("charge") and obj["charge"] != params["charge"]:
                return False
            if isinstance(created, str) and obj["created"] != int(created):
                return False
            return all(checks[op](obj["created"], int(v)) for op, v in bounds.items())

        with self.state.lock:
            # Newest first; refunds made in the same second, the later one first.
            found = [o for o in reversed(list(self.state.objects.values())) if wanted(o)]
            found.sort(key=lambda o: o["created"], reverse=True)
            ids = [o["id"] for o in found]
            cursor = after or before
            if cursor:
                self.state.get(
                    cursor, "refund", param="starting_after" if after else "ending_before"
                )
                at = ids.index(cursor) if cursor in ids else len(ids)
            if after:
                page, has_more = found[at + 1 : at + 1 + limit], len(found) > at + 1 + limit
            elif before:
                page, has_more = found[max(at - limit, 0) : at], at - limit > 0
            else:
                page, has_more = found[:limit], len(found) > limit
            data = deepcopy(page)
            for refund in data:
                for field in expand:
                    name = field.removeprefix("data.")
                    if refund.get(name) in self.state.objects:
                        refund[name] = deepcopy(self.state.objects[refund[name]])
        self._json(
            200, {"object": "list", "data": data, "has_more": has_more, "url": "/v1/refunds"}
        )

    def api_event_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        with self.state.lock:
            self._json(200, deepcopy(self.state.get(id, "event")))

    # -- the hosted checkout page ---------------------------------------------------------------
    def page_checkout(self, url, id):  # noqa: A002
        with self.state.lock:
            session = self.state.objects.get(id)
            items = deepcopy(self.state.line_items.get(id, []))
        if session is None:
            self._send(
                404,
                PAGE.format(title="Not found", body="<p>No such checkout.</p>").encode(),
                "text/html; charset=utf-8",
            )
            return
        if session["status"] != "open":
            body = f"<p>This checkout is {html.escape(session['status'])}.</p>"
            self._send(
                200,
                PAGE.format(title="Checkout closed", body=body).encode(),
                "text/html; charset=utf-8",
            )
            return
        rows = "".join(
            f"<li>{html.escape(item['description'])}: "
            f"{money_format(item['amount_total'], item['currency'])}</li>"
            for item in items
        )
        total = money_format(session["amount_total"], session["currency"])
        body = f"""
<p class="note">Local Stripe stand-in: no card, no money. This page stands in for Stripe Checkout.</p>
<ul>{rows}</ul>
<p>Total: <strong>{total}</strong></p>
<p>Email: {html.escape(session["customer_email"] or "")}</p>
<form method="post" action="/c/pay/{id}/pay"><button type="submit" class="pay">Pay</button></form>
<form method="post" action="/c/pay/{id}/cancel"><button type="submit">Cancel</button></form>
"""
        self._send(
            200, PAGE.format(title="Checkout", body=body).encode(), "text/html; charset=utf-8"
        )

    def page_checkout_action(self, url, id, action):  # noqa: A002
        self._read_body()
        with self.state.lock:
            session = self.state.get(id, "checkout.session")
        if action == "cancel":
            self._redirect(session["cancel_url"] or self.state.public_url)
            return
        if session["status"] == "open":
            waits = self.state.delivery == "before_redirect"
            _, event = self.state.session_pay(id, mode="sync" if waits else None)
            if waits and event["id"] and not self._delivered(event["id"]):
                self.state.deliver(event["id"], "async")  # retry in the background after all
        self._redirect((session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", id))

    def _delivered(self, event_id: str) -> bool:
        with self.state.lock:
            return any(200 <= (d["status"] or 0) < 300 for d in self.state.deliveries[event_id])

    # -- control API (tests, people, later issues) -------------------------------------------------
    def _control_body(self) -> dict:
        raw = self._read_body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            data = dict(parse_qsl(raw))
        if not isinstance(data, dict):
            raise ApiError(400, "Send a JSON object.")
        return data

    def _event_info(self, event_id: str) -> dict:
        with self.state.lock:
            return {
                "event": deepcopy(self.state.objects[event_id]),
                "deliveries": deepcopy(self.state.deliveries[event_id]),
            }

    def control_health(self, url):
        self._json(200, {"ok": True})

    def control_config(self, url):
        data = self._control_body()
        with self.state.lock:
            for name in ("webhook_url", "webhook_secret", "api_version", "delivery"):
                if name in data:
                    setattr(self.state, name, data[name])
            if "retry_delays" in data:
                self.state.retry_delays = tuple(float(d) for d in data["retry_delays"])
            config = {
                name: getattr(self.state, name)
                for name in ("public_url", "webhook_url", "api_version", "delivery", "retry_delays")
            }
        self._json(200, config)

    def control_reset(self, url):
        self._read_body()
        self.state.reset()
        self._json(200, {"ok": True})

    def control_events(self, url):
        query = dict(parse_qsl(url.query))
        with self.state.lock:
            ids = [
                e
                for e in self.state.event_order
                if not query.get("type") or self.state.objects[e]["type"] == query["type"]
            ]
        self._json(200, {"data": [self._event_info(e) for e in ids]})

    def control_event(self, url, id):  # noqa: A002
        self._read_body()
        with self.state.lock:
            self.state.get(id, "event")
            info = self._event_info(id)
            info["payload"] = self.state.event_bodies[id]
        self._json(200, info)

    def control_event_emit(self, url):
        """{"type": "...", "object_id": "cs_..."} (current snapshot) or {"type", "object": {...}};
        optional "api_version", "deliver": "async" | "sync" | "none"."""
        data = self._control_body()
        if not data.get("type"):
            raise ApiError(400, "type is required", param="type")
        if data.get("object_id"):
            with self.state.lock:
                obj = self.state.objects.get(data["object_id"])
                if obj is None:
                    raise ApiError(404, f"No such object: {data['object_id']}", param="object_id")
                obj = deepcopy(obj)
        elif isinstance(data.get("object"), dict):
            obj = data["object"]
        else:
            raise ApiError(400, "object_id or object is required", param="object_id")
        event = self.state.event_create(data["type"], obj, api_version=data.get("api_version"))
        mode = data.get("deliver")
        status = self.state.deliver(event["id"], mode)
        info = self._event_info(event["id"])
        info["status"] = status
        self._json(200, info)

    def control_event_deliver(self, url, id):  # noqa: A002
        """Deliver an existing event again (same id and body, fresh signature)."""
        data = self._control_body()
        with self.state.lock:
            self.state.get(id, "event")
        statuses = [
            self.state.deliver(id, data.get("mode", "sync"))
            for _ in range(int(data.get("times", 1)))
        ]
        info = self._event_info(id)
        info["statuses"] = statuses
        self._json(200, info)

    def control_session_pay(self, url, id):  # noqa: A002
        data = self._control_body()
        session, event = self.state.session_pay(
            id, async_payment=bool(data.get("async_payment")), mode=data.get("deliver")
        )
        self._json(
            200,
            {
                "session": session,
                "event": self._event_info(event["id"]),
                "redirect_url": (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", id),
            },
        )

    def control_session_async(self, url, id):  # noqa: A002
        data = self._control_body()
        session, event = self.state.session_async_result(
            id, succeeded=data.get("outcome", "succeeded") == "succeeded", mode=data.get("deliver")
        )
        self._json(200, {"session": session, "event": self._event_info(event["id"])})

    def control_session_expire(self, url, id):  # noqa: A002
        data = self._control_body()
        self._json(200, self.state.session_expire(id, mode=data.get("deliver")))

    def control_refund(self, url):
        """A refund made in the Stripe dashboard: {"payment_intent" or "charge", "amount"?}."""
        data = self._control_body()
        params = {k: data[k] for k in ("payment_intent", "charge", "amount", "reason") if k in data}
        self._json(200, self.state.refund_create(params, mode=data.get("deliver")))

    def control_refund_failure(self, url):
        """Make refunds of a charge fail: {"charge" or "payment_intent", "as": "api_error" |
        "failed" | "none" (works again), "code"?, "message"?, "failure_reason"?}.

        "api_error" answers like Stripe for a card payment too old to refund: a 400 with code
        charge_expired_for_refund. "failed" creates the refund, then it fails (refund.failed)."""
        data = self._control_body()
        with self.state.lock:
            charge = self.state._charge_for(data)
            private = self.state.private.setdefault(charge["id"], {})
            if data.get("as") == "none":
                private.pop("refund_failure", None)  # refunds of this charge work again
            else:
                private["refund_failure"] = {
                    "as": data.get("as", "failed"),
                    **{k: data[k] for k in ("code", "message", "failure_reason") if k in data},
                }
        self._json(200, {"charge": charge["id"]})

    def control_dispute(self, url):
        data = self._control_body()
        self._json(200, self.state.dispute_create(data, mode=data.get("deliver")))

    def control_dispute_close(self, url, id):  # noqa: A002
        data = self._control_body()
        self._json(200, self.state.dispute_close(id, data.get("outcome", ""), data.get("deliver")))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Stripe stand-in</title>
<style>
body {{ font: 18px/1.5 system-ui, sans-serif; max-width: 30rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
button {{ font: inherit; padding: .7rem 1.4rem; min-height: 44px; margin: .4rem 0; border-radius: .4rem; border: 1px solid #555; background: #fff; cursor: pointer; }}
button.pay {{ background: #635bff; color: #fff; border-color: #635bff; }}
.note {{ background: #fff6d6; padding: .5rem .8rem; border-radius: .4rem; }}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state: StandinState):
        super().__init__(address, Handler)
        self.state = state
        self.state_note = ""  # what make_server did with the state file, for the command to print


def make_server(
    *,
    host: str,
    port: int,
    webhook_url: str,
    webhook_secret: str,
    api_version: str,
    delivery: str = "async",
    retry_delays=DEFAULT_RETRY_DELAYS,
    state_file=None,
) -> StandinServer:
    """Bind the stand-in (port 0 picks a free one); call serve_forever() to run it.

    With `state_file` (a path) the state is loaded from that JSON file when it exists and saved
    to it after every change; `server.state_note` says what was loaded (or why not)."""
    state = StandinState(
        public_url="",
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        api_version=api_version,
        delivery=delivery,
        retry_delays=retry_delays,
        state_file=state_file,
    )
    server = StandinServer((host, port), state)
    bound_host, bound_port = server.server_address[:2]
    state.public_url = f"http://{bound_host}:{bound_port}"
    server.state_note = state.load_state_file()
    return server


def start_in_thread(**kwargs) -> StandinServer:
    server = make_server(**kwargs)
    thread = threading.Thread(target=server.serve_forever, name="stripe-standin", daemon=True)
    thread.start()
    return server
