"""The stand-in's /v1 routes: what the official stripe library calls."""

import hashlib
import json
from copy import deepcopy

from stripe.params import (
    ChargeRetrieveParams,
    CouponCreateParams,
    CouponRetrieveParams,
    DisputeListParams,
    DisputeRetrieveParams,
    InvoiceRetrieveParams,
    ProductRetrieveParams,
    PromotionCodeCreateParams,
    PromotionCodeListParams,
    PromotionCodeRetrieveParams,
    PromotionCodeUpdateParams,
    RefundCreateParams,
    RefundListParams,
    RefundRetrieveParams,
)
from stripe.params._payment_intent_retrieve_params import PaymentIntentRetrieveParams
from stripe.params.checkout import (
    SessionCreateParams,
    SessionExpireParams,
    SessionListLineItemsParams,
    SessionListParams,
    SessionRetrieveParams,
)

from billing.standin.params import decode_form, validate
from billing.standin.routes_base import RoutesBase
from billing.standin.state import ApiError

ROUTES = [
    ("POST", r"/v1/checkout/sessions", "api_session_create"),
    ("GET", r"/v1/checkout/sessions", "api_session_list"),
    ("GET", r"/v1/disputes", "api_dispute_list"),
    ("GET", r"/v1/disputes/(?P<id>dp_[\w]+)", "api_dispute_retrieve"),
    ("GET", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)", "api_session_retrieve"),
    ("GET", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)/line_items", "api_session_line_items"),
    ("POST", r"/v1/checkout/sessions/(?P<id>cs_[\w]+)/expire", "api_session_expire"),
    ("GET", r"/v1/payment_intents/(?P<id>pi_[\w]+)", "api_payment_intent_retrieve"),
    ("GET", r"/v1/charges/(?P<id>ch_[\w]+)", "api_charge_retrieve"),
    ("POST", r"/v1/refunds", "api_refund_create"),
    ("GET", r"/v1/refunds", "api_refund_list"),
    ("GET", r"/v1/refunds/(?P<id>re_[\w]+)", "api_refund_retrieve"),
    ("GET", r"/v1/events/(?P<id>evt_[\w]+)", "api_event_retrieve"),
    ("POST", r"/v1/coupons", "api_coupon_create"),
    ("GET", r"/v1/coupons/(?P<id>[\w-]+)", "api_coupon_retrieve"),
    ("POST", r"/v1/promotion_codes", "api_promotion_code_create"),
    ("GET", r"/v1/promotion_codes", "api_promotion_code_list"),
    ("GET", r"/v1/promotion_codes/(?P<id>promo_[\w]+)", "api_promotion_code_retrieve"),
    ("POST", r"/v1/promotion_codes/(?P<id>promo_[\w]+)", "api_promotion_code_update"),
    ("GET", r"/v1/invoices/(?P<id>in_[\w]+)", "api_invoice_retrieve"),
    ("GET", r"/v1/products/(?P<id>prod_[\w]+)", "api_product_retrieve"),
]


def _api_key_hash(key: str) -> str:
    """Idempotency keys are scoped per API key like Stripe's; the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]


class ApiRoutes(RoutesBase):
    """The /v1 handlers, mixed into the request handler (billing/standin/server.py)."""

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
                if not exc.saved:
                    raise
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

    def _simple_list(self, url, params: dict, kind: str, filters: tuple[str, ...], path: str):
        """Stripe's list answer for `kind`: newest first, filtered by the `filters` given,
        `limit` 1-100 (default 10), paged with `starting_after`."""
        limit = int(params.get("limit", "10"))
        if not 1 <= limit <= 100:
            raise ApiError(
                400, f"Invalid limit: must be between 1 and 100 (got {limit})", param="limit"
            )
        with self.state.lock:
            found = [
                o
                for o in reversed(list(self.state.objects.values()))
                if o["object"] == kind
                and all(o.get(name) == params[name] for name in filters if params.get(name))
            ]
            found.sort(key=lambda o: o["created"], reverse=True)
            after = params.get("starting_after")
            if after:
                self.state.get(after, kind, param="starting_after")
                ids = [o["id"] for o in found]
                found = found[ids.index(after) + 1 :] if after in ids else []
            page = deepcopy(found[:limit])
        self._json(
            200, {"object": "list", "data": page, "has_more": len(found) > limit, "url": path}
        )

    def api_session_list(self, url):
        """GET /v1/checkout/sessions: filtered by `payment_intent` (how the site traces a payment
        it has not recorded yet to its session and so to its metadata)."""
        self._authenticate()
        params = self._params(url, SessionListParams)
        self._simple_list(
            url, params, "checkout.session", ("payment_intent",), "/v1/checkout/sessions"
        )

    def api_dispute_list(self, url):
        """GET /v1/disputes: filtered by `payment_intent` or `charge`."""
        self._authenticate()
        params = self._params(url, DisputeListParams)
        self._simple_list(url, params, "dispute", ("payment_intent", "charge"), "/v1/disputes")

    def api_dispute_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        self._params(url, DisputeRetrieveParams)
        with self.state.lock:
            self._json(200, deepcopy(self.state.get(id, "dispute", param="dispute")))

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
            intent = self.state.get(id, "payment_intent", param="intent")
            view = self.state.intent_view(intent, self._expand(params))
        self._json(200, view)

    def api_charge_retrieve(self, url, id):  # noqa: A002
        self._authenticate()
        params = self._params(url, ChargeRetrieveParams)
        with self.state.lock:
            charge = self.state.get(id, "charge", param="charge")
            view = self.state.charge_view(charge, self._expand(params))
        self._json(200, view)

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

    # -- coupons, promotion codes, invoices ------------------------------------------------------
    def _api_get(self, url, params_type, id, kind: str, param: str):  # noqa: A002
        self._authenticate()
        self._params(url, params_type)
        with self.state.lock:
            self._json(200, deepcopy(self.state.get(id, kind, param=param)))

    def api_coupon_create(self, url):
        self._api_post(url, CouponCreateParams, self.state.coupon_create)

    def api_coupon_retrieve(self, url, id):  # noqa: A002
        self._api_get(url, CouponRetrieveParams, id, "coupon", "coupon")

    def api_product_retrieve(self, url, id):  # noqa: A002
        self._api_get(url, ProductRetrieveParams, id, "product", "product")

    def api_promotion_code_create(self, url):
        self._api_post(url, PromotionCodeCreateParams, self.state.promotion_code_create)

    def api_promotion_code_retrieve(self, url, id):  # noqa: A002
        self._api_get(url, PromotionCodeRetrieveParams, id, "promotion_code", "promotion_code")

    def api_promotion_code_update(self, url, id):  # noqa: A002
        self._api_post(
            url,
            PromotionCodeUpdateParams,
            lambda params: self.state.promotion_code_update(id, params),
        )

    def api_promotion_code_list(self, url):
        """GET /v1/promotion_codes: filtered by `code` (exact), `active` and `coupon`."""
        self._authenticate()
        params = self._params(url, PromotionCodeListParams)
        filters = {}
        if params.get("code"):
            filters["code"] = params.pop("code")
        if params.get("active"):
            filters["active"] = params.pop("active") == "true"
        coupon = params.pop("coupon", None)
        limit = int(params.get("limit", "10"))
        if not 1 <= limit <= 100:
            raise ApiError(
                400, f"Invalid limit: must be between 1 and 100 (got {limit})", param="limit"
            )
        with self.state.lock:
            found = [
                deepcopy(o)
                for o in reversed(list(self.state.objects.values()))
                if o["object"] == "promotion_code"
                and all(o[name] == value for name, value in filters.items())
                and (not coupon or o["promotion"]["coupon"] == coupon)
            ]
        found.sort(key=lambda o: o["created"], reverse=True)
        self._json(
            200,
            {
                "object": "list",
                "data": found[:limit],
                "has_more": len(found) > limit,
                "url": "/v1/promotion_codes",
            },
        )

    def api_invoice_retrieve(self, url, id):  # noqa: A002
        self._api_get(url, InvoiceRetrieveParams, id, "invoice", "invoice")
