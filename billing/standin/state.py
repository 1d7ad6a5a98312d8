"""What the stand-in knows: Stripe's objects, the state file, Idempotency-Key answers, events and
their delivery to the site's webhook, and the changes Stripe would make (checkout, payments,
refunds, disputes). Everything lives in memory behind one lock; see StandinState.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.request
from copy import deepcopy
from datetime import UTC, datetime
from pathlib import Path

from core.money import STRIPE_THREE_DECIMAL, stripe_exponent, to_major

logger = logging.getLogger("billing.standin")

DEFAULT_RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
DEFAULT_TAX_RATE_BPS = 1000
# Characters Stripe allows in a promotion code's customer-facing code.
PROMOTION_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
STATE_FILE_VERSION = 1


class ApiError(Exception):
    """A Stripe error answer. `saved=False` for a refusal of the parameters themselves: Stripe
    keeps no Idempotency-Key answer for those, so the key can be used again with better ones."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_="invalid_request_error",
        param=None,
        code=None,
        saved=True,
    ):
        super().__init__(message)
        self.status = status
        self.saved = saved
        self.body = {"error": {"type": type_, "message": message}}
        if param:
            self.body["error"]["param"] = param
        if code:
            self.body["error"]["code"] = code


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'A').replace('_', 'B')}"


def _now() -> int:
    return int(time.time())


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends with a webhook."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class StateFileError(Exception):
    pass


# How a dispute can end at Stripe: won or lost, or an inquiry closed without a chargeback.
DISPUTE_CLOSED_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})

# The smallest total Stripe charges, with Stripe's way of writing it in the refusal.
MINIMUM_CHARGE = {
    "usd": (50, "$0.50 usd"),
    "eur": (50, "€0.50 eur"),
    "gbp": (30, "£0.30 gbp"),
    "jpy": (50, "¥50 jpy"),  # a zero-decimal currency: 50 is ¥50, not ¥0.50
}
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


def _money(amount: int, currency: str) -> str:
    """An amount the way Stripe's refund refusals write it: $97.00 (¥9,700 for a zero-decimal
    currency: Stripe's integer amounts are whole yen there)."""
    value = to_major(amount, currency)
    digits = stripe_exponent(currency)
    number = f"{value:,.{digits}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def _check_amount_units(amount: int, currency: str, param: str) -> None:
    """What Stripe refuses about an amount's last digits: three-decimal currencies must end in
    0 (docs.stripe.com/currencies#three-decimal); ISK is counted in hundredths but charged in
    whole krónur (Stripe's answer quoted from support.stripe.com)."""
    if currency in STRIPE_THREE_DECIMAL and amount % 10:
        raise ApiError(
            400,
            f"Invalid amount: {currency.upper()} amounts must end in 0 (round to the nearest ten).",
            param=param,
            code="invalid_amount",
        )
    if currency == "isk" and amount % 100:
        raise ApiError(
            400,
            "Invalid amount. Currency ISK has become effectively zero-decimal and charged "
            "amounts must be evenly divisible by 100. See "
            "https://stripe.com/docs/currencies#special-cases for more information.",
            param=param,
            code="invalid_charge_amount_no_decimal_compatible",
        )


def _expand_groups(expand: list) -> dict[str, list]:
    """["a", "a.b", "c"] -> {"a": ["b"], "c": []}: what to expand at this level, and below."""
    groups: dict[str, list] = {}
    for field in expand:
        head, _, rest = field.partition(".")
        groups.setdefault(head, [])
        if rest:
            groups[head].append(rest)
    return groups


def _not_expandable(field: str) -> ApiError:
    return ApiError(400, f"This property cannot be expanded ({field}).", param="expand")


def _missing(param: str) -> ApiError:
    return ApiError(
        400,
        f"Missing required param: {param}.",
        param=param,
        code="parameter_missing",
        saved=False,
    )


def _at_least(minimum: int, value: int, param: str) -> None:
    if value < minimum:
        raise ApiError(
            400,
            f"This value must be greater than or equal to {minimum}.",
            param=param,
            code="parameter_invalid_integer",
            saved=False,
        )


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
        # Stripe Tax stands in as one flat rate on the amount after discounts, in basis points
        # (1000 = 10%); the control API's config sets it.
        self.tax_rate_bps = DEFAULT_TAX_RATE_BPS
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
            "id": new_id("evt"),
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
                400,
                "You must specify `line_items` in `payment` mode.",
                param="line_items",
                code="parameter_missing",
                saved=False,
            )
        if params.get("ui_mode", "hosted") == "hosted" and not params.get("success_url"):
            raise _missing("success_url")
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
                raise _missing(f"{path}[price_data]")
            for required in ("currency", "unit_amount"):
                if required not in price_data:
                    raise _missing(f"{path}[price_data][{required}]")
            product_data = price_data.get("product_data") or {}
            if not product_data.get("name"):
                raise _missing(f"{path}[price_data][product_data][name]")
            quantity = int(item.get("quantity", "1"))
            unit_amount = int(price_data["unit_amount"])
            _at_least(1, quantity, f"{path}[quantity]")
            _at_least(0, unit_amount, f"{path}[price_data][unit_amount]")
            item_currency = price_data["currency"].lower()
            if currency and item_currency != currency:
                raise ApiError(
                    400,
                    "All line items must use the same currency.",
                    param=f"{path}[price_data][currency]",
                )
            currency = item_currency
            total += unit_amount * quantity
            # Like Stripe, product_data makes an inactive product of its own for this line.
            product_id = self.put(
                {
                    "id": new_id("prod"),
                    "object": "product",
                    "active": False,
                    "created": _now(),
                    "description": product_data.get("description") or None,
                    "livemode": False,
                    "metadata": dict(product_data.get("metadata") or {}),
                    "name": product_data["name"],
                }
            )["id"]
            items.append(
                {
                    "id": new_id("li"),
                    "object": "item",
                    "amount_discount": 0,
                    "amount_subtotal": unit_amount * quantity,
                    "amount_tax": 0,
                    "amount_total": unit_amount * quantity,
                    "currency": item_currency,
                    "description": product_data["name"],
                    "price": {
                        "id": new_id("price"),
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
        _check_amount_units(total, currency, "line_items[0][price_data][unit_amount]")
        minimum, shown = MINIMUM_CHARGE.get(currency, (1, f"{to_major(1, currency)} {currency}"))
        if total < minimum:
            raise ApiError(
                400,
                f"The Checkout Session's total amount due must add up to at least {shown}",
                code="amount_too_small",
            )
        if params.get("allow_promotion_codes") == "true" and params.get("discounts"):
            raise ApiError(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                param="discounts",
            )
        tax_on = (params.get("automatic_tax") or {}).get("enabled") == "true"
        invoice_on = (params.get("invoice_creation") or {}).get("enabled") == "true"
        if invoice_on and mode != "payment":
            raise ApiError(400, "invoice_creation can only be used in `payment` mode.")
        now = _now()
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": params.get("allow_promotion_codes") == "true" or None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {
                "enabled": tax_on,
                "liability": {"type": "self"} if tax_on else None,
                "status": "complete" if tax_on else None,
            },
            "billing_address_collection": params.get("billing_address_collection"),
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id"),
            "client_secret": None,
            # What the customer answered on the page (set by the control API's expire/pay).
            "consent": None,
            "consent_collection": params.get("consent_collection"),
            "created": now,
            "currency": currency,
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "discounts": [],
            "expires_at": int(params.get("expires_at") or now + 24 * 3600),
            "invoice": None,
            "invoice_creation": {"enabled": invoice_on, "invoice_data": {}} if invoice_on else None,
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
            "tax_id_collection": {
                "enabled": (params.get("tax_id_collection") or {}).get("enabled") == "true",
                "required": "never",
            },
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": params.get("ui_mode", "hosted"),
            "url": f"{self.public_url}/c/pay/{session_id}",
        }
        with self.lock:
            discounts = params.get("discounts") or []
            for index, discount in enumerate(discounts[:1]):
                if discount.get("promotion_code"):
                    code = self.get(
                        discount["promotion_code"],
                        "promotion_code",
                        param=f"discounts[{index}][promotion_code]",
                    )
                    self._promotion_code_check(code, currency or "")
                    session["discounts"] = [{"coupon": None, "promotion_code": code["id"]}]
                elif discount.get("coupon"):
                    coupon = self.get(
                        discount["coupon"], "coupon", param=f"discounts[{index}][coupon]"
                    )
                    session["discounts"] = [{"coupon": coupon["id"], "promotion_code": None}]
            self.line_items[session_id] = items
            self._session_amounts(session)
            self.put(session)
            self.private[session_id] = {
                "payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata")
                or {}
            }
        return session

    # -- discounts and tax -----------------------------------------------------------------------
    def _session_coupon(self, session: dict) -> dict | None:
        for discount in session.get("discounts") or []:
            if discount.get("promotion_code"):
                code = self.objects[discount["promotion_code"]]
                return self.objects[code["promotion"]["coupon"]]
            if discount.get("coupon"):
                return self.objects[discount["coupon"]]
        return None

    def _session_amounts(self, session: dict) -> None:
        """Stripe's arithmetic for a session: subtotal, less the discount, plus the tax (one
        flat rate on what is left, added on top, when automatic_tax is on), per line item and
        in total_details."""
        items = self.line_items[session["id"]]
        coupon = self._session_coupon(session)
        subtotal = sum(item["amount_subtotal"] for item in items)
        discount = 0
        if coupon is not None:
            if coupon.get("percent_off") is not None:
                discount = round(subtotal * float(coupon["percent_off"]) / 100)
            else:
                discount = int(coupon["amount_off"] or 0)
            discount = min(discount, subtotal)
        tax = 0
        if session["automatic_tax"]["enabled"]:
            tax = round((subtotal - discount) * self.tax_rate_bps / 10000)
        left_discount, left_tax = discount, tax
        for index, item in enumerate(items):
            last = index == len(items) - 1
            share = item["amount_subtotal"] / subtotal if subtotal else 0
            item_discount = left_discount if last else round(discount * share)
            item_tax = left_tax if last else round(tax * share)
            left_discount -= item_discount
            left_tax -= item_tax
            item.update(
                {
                    "amount_discount": item_discount,
                    "amount_tax": item_tax,
                    "amount_total": item["amount_subtotal"] - item_discount + item_tax,
                }
            )
        session["amount_subtotal"] = subtotal
        session["amount_total"] = subtotal - discount + tax
        session["total_details"] = {
            "amount_discount": discount,
            "amount_shipping": 0,
            "amount_tax": tax,
        }

    def _promotion_code_check(self, code: dict, currency: str) -> None:
        """Why Checkout would refuse this code now (an ApiError), or nothing."""
        coupon = self.objects[code["promotion"]["coupon"]]
        reason = ""
        if not code["active"]:
            reason = "This promotion code is inactive."
        elif code["expires_at"] and code["expires_at"] <= _now():
            reason = "This promotion code has expired."
        elif code["max_redemptions"] and code["times_redeemed"] >= code["max_redemptions"]:
            reason = "This promotion code has reached its maximum number of redemptions."
        elif not coupon["valid"]:
            reason = "This promotion code's coupon is no longer valid."
        elif coupon["amount_off"] is not None and coupon["currency"] != currency:
            reason = "This promotion code cannot be used with this currency."
        if reason:
            raise ApiError(400, reason, param="promotion_code", code="promotion_code_invalid")

    def session_apply_code(self, session_id: str, code_text: str) -> dict:
        """The customer types a promotion code on the checkout page (allow_promotion_codes):
        it applies (replacing any other), or an ApiError says why not, like Checkout's field."""
        with self.lock:
            session = self.get(session_id, "checkout.session")
            if session["status"] != "open":
                raise ApiError(400, f"This Checkout Session is {session['status']}.")
            if not session.get("allow_promotion_codes"):
                raise ApiError(
                    400,
                    "This Checkout Session does not accept promotion codes.",
                    param="promotion_code",
                )
            wanted = code_text.strip().lower()
            found = [
                o
                for o in self.objects.values()
                if o["object"] == "promotion_code" and o["code"].lower() == wanted
            ]
            # An ended code and a new active one may share the words: the active one counts.
            found.sort(key=lambda o: not o["active"])
            if not found:
                raise ApiError(
                    400, "This code is invalid.", param="promotion_code", code="resource_missing"
                )
            self._promotion_code_check(found[0], session["currency"])
            session["discounts"] = [{"coupon": None, "promotion_code": found[0]["id"]}]
            self._session_amounts(session)
            return deepcopy(session)

    def _session_redeem(self, session: dict) -> None:
        """A paid session counts one use of its code and of the code's coupon."""
        for discount in session.get("discounts") or []:
            coupon_id = discount.get("coupon")
            if discount.get("promotion_code"):
                code = self.objects[discount["promotion_code"]]
                code["times_redeemed"] += 1
                coupon_id = code["promotion"]["coupon"]
            if coupon_id:
                coupon = self.objects[coupon_id]
                coupon["times_redeemed"] += 1
                if coupon["max_redemptions"] and (
                    coupon["times_redeemed"] >= coupon["max_redemptions"]
                ):
                    coupon["valid"] = False

    # -- coupons and promotion codes -------------------------------------------------------------
    def coupon_create(self, params: dict) -> dict:
        amount_off, percent_off = params.get("amount_off"), params.get("percent_off")
        if (amount_off is None) == (percent_off is None):
            raise ApiError(
                400,
                "You must pass exactly one of amount_off or percent_off.",
                param="amount_off",
                saved=False,
            )
        if amount_off is not None:
            if not params.get("currency"):
                raise ApiError(
                    400,
                    "You must pass currency when passing amount_off.",
                    param="currency",
                    saved=False,
                )
            _at_least(1, int(amount_off), "amount_off")
        if percent_off is not None and not 0 < float(percent_off) <= 100:
            raise ApiError(
                400,
                "Invalid percent_off: must be greater than 0 and at most 100.",
                param="percent_off",
                saved=False,
            )
        if params.get("max_redemptions") is not None:
            _at_least(1, int(params["max_redemptions"]), "max_redemptions")
        coupon_id = params.get("id") or secrets.token_hex(4)
        with self.lock:
            if coupon_id in self.objects:
                raise ApiError(
                    400, "Coupon already exists.", param="id", code="resource_already_exists"
                )
            coupon = {
                "id": coupon_id,
                "object": "coupon",
                "amount_off": int(amount_off) if amount_off is not None else None,
                "created": _now(),
                "currency": (params.get("currency") or "").lower() or None,
                "duration": params.get("duration", "once"),
                "duration_in_months": None,
                "livemode": False,
                "max_redemptions": (
                    int(params["max_redemptions"]) if params.get("max_redemptions") else None
                ),
                "metadata": params.get("metadata") or {},
                "name": params.get("name"),
                "percent_off": float(percent_off) if percent_off is not None else None,
                "redeem_by": int(params["redeem_by"]) if params.get("redeem_by") else None,
                "times_redeemed": 0,
                "valid": True,
            }
            return deepcopy(self.put(coupon))

    def promotion_code_create(self, params: dict) -> dict:
        promotion = params.get("promotion") or {}
        if not promotion.get("coupon"):
            raise _missing("promotion[coupon]")
        code = params.get("code") or secrets.token_hex(4).upper()
        if not set(code) <= PROMOTION_CODE_CHARS:
            raise ApiError(
                400,
                "Invalid code: use only letters, digits and dashes.",
                param="code",
                saved=False,
            )
        expires_at = int(params["expires_at"]) if params.get("expires_at") else None
        if expires_at is not None and expires_at <= _now():
            raise ApiError(
                400, "The expires_at timestamp must be in the future.", param="expires_at"
            )
        if params.get("max_redemptions") is not None:
            _at_least(1, int(params["max_redemptions"]), "max_redemptions")
        with self.lock:
            self.get(promotion["coupon"], "coupon", param="promotion[coupon]")
            taken = any(
                o["object"] == "promotion_code"
                and o["active"]
                and o["code"].lower() == code.lower()
                for o in self.objects.values()
            )
            if taken:
                raise ApiError(
                    400,
                    f"An active promotion code with `code: {code}` already exists.",
                    param="code",
                    code="resource_already_exists",
                )
            promotion_code = {
                "id": new_id("promo"),
                "object": "promotion_code",
                "active": params.get("active", "true") == "true",
                "code": code,
                "created": _now(),
                "customer": None,
                "customer_account": None,
                "expires_at": expires_at,
                "livemode": False,
                "max_redemptions": (
                    int(params["max_redemptions"]) if params.get("max_redemptions") else None
                ),
                "metadata": params.get("metadata") or {},
                "promotion": {"coupon": promotion["coupon"], "type": "coupon"},
                "restrictions": {
                    "currency_options": {},
                    "first_time_transaction": False,
                    "minimum_amount": None,
                    "minimum_amount_currency": None,
                },
                "times_redeemed": 0,
            }
            return deepcopy(self.put(promotion_code))

    def promotion_code_update(self, code_id: str, params: dict) -> dict:
        with self.lock:
            code = self.get(code_id, "promotion_code", param="promotion_code")
            if "active" in params:
                active = params["active"] == "true"
                if active and not code["active"]:
                    # Stripe: an archived code cannot be made active again.
                    raise ApiError(
                        400,
                        "Promotion codes that are inactive cannot be reactivated.",
                        param="active",
                    )
                code["active"] = active
            if isinstance(params.get("metadata"), dict):
                code["metadata"].update(params["metadata"])
            return deepcopy(code)

    # -- invoices --------------------------------------------------------------------------------
    def _invoice_create(self, session: dict, intent: dict) -> dict:
        """The paid invoice Checkout makes for a session with invoice_creation enabled."""
        details = session["total_details"]
        invoice_id = new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": session["amount_total"],
            "amount_paid": session["amount_total"],
            "amount_remaining": 0,
            "created": _now(),
            "currency": session["currency"],
            "customer_email": (session.get("customer_details") or {}).get("email"),
            "hosted_invoice_url": f"{self.public_url}/i/{invoice_id}",
            "invoice_pdf": f"{self.public_url}/i/{invoice_id}/pdf",
            "livemode": False,
            "metadata": {},
            "number": f"STANDIN-{len([o for o in self.objects.values() if o['object'] == 'invoice']) + 1:04d}",
            "status": "paid",
            "subtotal": session["amount_subtotal"],
            "total": session["amount_total"],
            "total_discount_amounts": [{"amount": details["amount_discount"], "discount": None}]
            if details["amount_discount"]
            else [],
            "total_taxes": [{"amount": details["amount_tax"]}] if details["amount_tax"] else [],
        }
        self.put(invoice)
        return invoice

    def session_pay(
        self, session_id: str, *, async_payment=False, mode=None, promotion_code: str = ""
    ) -> tuple[dict, dict]:
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
            if promotion_code:
                self.session_apply_code(session_id, promotion_code)
            intent = self._payment_intent_create(session, succeeded=not async_payment)
            self._session_redeem(session)
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
            if session["billing_address_collection"] == "required":
                session["customer_details"]["address"] = {
                    "city": "Dublin",
                    "country": "IE",
                    "line1": "1 Test Street",
                    "line2": None,
                    "postal_code": "D01 X2X2",
                    "state": None,
                }
            if (session.get("invoice_creation") or {}).get("enabled"):
                session["invoice"] = self._invoice_create(session, intent)["id"]
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

    def session_expire(self, session_id: str, mode=None, consent=None) -> dict:
        """The session times out (or the site expires it). `consent`: what the customer ticked
        on the page before leaving ({"promotions": "opt_in"}), when consent was collected."""
        with self.lock:
            session = self.get(session_id, "checkout.session")
            if session["status"] != "open":
                raise ApiError(
                    400,
                    f"Only Checkout Sessions with a status of `open` can be "
                    f"expired. This session has a status of `{session['status']}`.",
                )
            session.update({"status": "expired", "url": None})
            if consent and session.get("consent_collection"):
                session["consent"] = {"promotions": None, "terms_of_service": None, **consent}
            snapshot = deepcopy(session)
        self.emit("checkout.session.expired", snapshot, mode)
        return snapshot

    def _payment_intent_create(self, session: dict, *, succeeded: bool) -> dict:
        intent = {
            "id": new_id("pi"),
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
            "id": new_id("ch"),
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
            "receipt_url": None,
            "refunded": False,
            "status": "succeeded",
        }
        charge["receipt_url"] = f"{self.public_url}/receipts/{charge['id']}"
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
            charge = self.get(params["charge"], "charge", param="charge")
            intent_id = params.get("payment_intent")
            if intent_id and charge["payment_intent"] != intent_id:
                self.get(intent_id, "payment_intent", param="payment_intent")
                raise ApiError(
                    400,
                    f"The charge {charge['id']} does not belong to the PaymentIntent {intent_id}.",
                    param="charge",
                )
            return charge
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
        asked = params.get("amount")
        if asked is not None and asked != "":
            _at_least(1, int(asked), "amount")
        with self.lock:
            charge = self._charge_for(params)
            remaining = charge["amount"] - charge["amount_refunded"]
            if remaining <= 0:
                raise ApiError(
                    400,
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                )
            amount = int(asked or remaining)
            _check_amount_units(amount, charge["currency"], "amount")
            if amount > remaining:
                currency = charge["currency"]
                than = (
                    f"charge amount ({_money(charge['amount'], currency)})"
                    if charge["amount_refunded"] == 0
                    else f"unrefunded amount on charge ({_money(remaining, currency)})"
                )
                raise ApiError(
                    400,
                    f"Refund amount ({_money(amount, currency)}) is greater than {than}",
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
                "id": new_id("re"),
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

    def refund_fail_later(self, refund_id: str, *, failure_reason: str, mode=None) -> dict:
        """A refund that succeeded fails afterwards (the card was closed, say): Stripe returns
        the amount to the balance, the charge counts it as not refunded, refund.failed goes out."""
        with self.lock:
            refund = self.get(refund_id, "refund", param="refund")
            if refund["status"] != "succeeded":
                raise ApiError(400, f"Refund {refund_id} is {refund['status']}, not succeeded.")
            charge = self.get(refund["charge"], "charge")
            refund.update({"status": "failed", "failure_reason": failure_reason})
            charge["amount_refunded"] -= refund["amount"]
            charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
            snapshot = deepcopy(refund)
        self.emit("refund.failed", snapshot, mode)
        return snapshot

    def dispute_create(self, params: dict, mode=None) -> dict:
        with self.lock:
            charge = self._charge_for(params)
            dispute = {
                "id": new_id("dp"),
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
        if outcome not in DISPUTE_CLOSED_STATUSES:
            raise ApiError(
                400,
                "outcome must be one of " + ", ".join(sorted(DISPUTE_CLOSED_STATUSES)),
                param="outcome",
            )
        with self.lock:
            dispute = self.get(dispute_id, "dispute")
            dispute["status"] = outcome
            snapshot = deepcopy(dispute)
        self.emit("charge.dispute.closed", snapshot, mode)
        return snapshot

    # -- expansion -------------------------------------------------------------------------------
    # Each view expands what `expand[]` asks for, nested with dots (payment_intent.latest_charge).
    def session_view(self, session: dict, expand: list) -> dict:
        view = deepcopy(session)
        for field, inner in _expand_groups(expand).items():
            if field == "line_items" and not inner:
                view["line_items"] = self.line_items_list(session["id"])
            elif field == "payment_intent":
                if session["payment_intent"]:
                    intent = self.objects[session["payment_intent"]]
                    view["payment_intent"] = self.intent_view(intent, inner)
            else:
                raise _not_expandable(field)
        return view

    def intent_view(self, intent: dict, expand: list) -> dict:
        view = deepcopy(intent)
        for field, inner in _expand_groups(expand).items():
            if field != "latest_charge":
                raise _not_expandable(field)
            if intent["latest_charge"]:
                view["latest_charge"] = self.charge_view(
                    self.objects[intent["latest_charge"]], inner
                )
        return view

    def charge_view(self, charge: dict, expand: list) -> dict:
        """A charge; its refunds only when expanded, as at the pinned API version."""
        view = deepcopy(charge)
        for field, inner in _expand_groups(expand).items():
            if field != "refunds" or inner:
                raise _not_expandable(field)
            view["refunds"] = self.charge_refunds_list(charge["id"])
        return view

    def charge_refunds_list(self, charge_id: str) -> dict:
        """The charge's refunds, newest first (the later of two in the same second first)."""
        refunds = [
            o
            for o in reversed(list(self.objects.values()))
            if o["object"] == "refund" and o["charge"] == charge_id
        ]
        refunds.sort(key=lambda o: o["created"], reverse=True)
        return {
            "object": "list",
            "data": deepcopy(refunds),
            "has_more": False,
            "url": f"/v1/charges/{charge_id}/refunds",
        }

    def line_items_list(self, session_id: str) -> dict:
        return {
            "object": "list",
            "data": deepcopy(self.line_items[session_id]),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session_id}/line_items",
        }
