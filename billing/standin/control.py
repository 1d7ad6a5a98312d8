"""The stand-in's control API (/_standin/...): what tests and people use to play the customer,
the Stripe dashboard and Stripe's event delivery. ControlRoutes answers it inside the stand-in;
StandinControl is a tiny client for it.
"""

import http.client
import json
import urllib.request
from copy import deepcopy
from urllib.parse import parse_qsl

from billing.standin.routes_base import RoutesBase
from billing.standin.state import ApiError

ROUTES = [
    ("GET", r"/_standin/health", "control_health"),
    ("POST", r"/_standin/config", "control_config"),
    ("POST", r"/_standin/reset", "control_reset"),
    ("GET", r"/_standin/events", "control_events"),
    ("POST", r"/_standin/events", "control_event_emit"),
    ("GET", r"/_standin/events/(?P<id>evt_[\w]+)", "control_event"),
    ("POST", r"/_standin/events/(?P<id>evt_[\w]+)/deliver", "control_event_deliver"),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/pay", "control_session_pay"),
    (
        "POST",
        r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/promotion_code",
        "control_session_promotion_code",
    ),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/async_result", "control_session_async"),
    ("POST", r"/_standin/checkout/sessions/(?P<id>cs_[\w]+)/expire", "control_session_expire"),
    ("POST", r"/_standin/refunds", "control_refund"),
    ("POST", r"/_standin/refund_failures", "control_refund_failure"),
    ("POST", r"/_standin/refunds/(?P<id>re_[\w]+)/fail", "control_refund_fail_later"),
    ("POST", r"/_standin/disputes", "control_dispute"),
    ("POST", r"/_standin/disputes/(?P<id>dp_[\w]+)/close", "control_dispute_close"),
]


class ControlRoutes(RoutesBase):
    """The control API's handlers, mixed into the request handler (billing/standin/server.py)."""

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
            if "tax_rate_bps" in data:
                self.state.tax_rate_bps = int(data["tax_rate_bps"])
            config = {
                name: getattr(self.state, name)
                for name in (
                    "public_url",
                    "webhook_url",
                    "api_version",
                    "delivery",
                    "retry_delays",
                    "tax_rate_bps",
                )
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
            id,
            async_payment=bool(data.get("async_payment")),
            mode=data.get("deliver"),
            promotion_code=data.get("promotion_code") or "",
        )
        self._json(
            200,
            {
                "session": session,
                "event": self._event_info(event["id"]),
                "redirect_url": (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", id),
            },
        )

    def control_session_promotion_code(self, url, id):  # noqa: A002
        """The customer types a code in Checkout's field: {"code": "..."}; the session with
        its discount, or Checkout's refusal (400)."""
        data = self._control_body()
        self._json(200, self.state.session_apply_code(id, str(data.get("code") or "")))

    def control_session_async(self, url, id):  # noqa: A002
        data = self._control_body()
        session, event = self.state.session_async_result(
            id, succeeded=data.get("outcome", "succeeded") == "succeeded", mode=data.get("deliver")
        )
        self._json(200, {"session": session, "event": self._event_info(event["id"])})

    def control_session_expire(self, url, id):  # noqa: A002
        data = self._control_body()
        self._json(
            200,
            self.state.session_expire(id, mode=data.get("deliver"), consent=data.get("consent")),
        )

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

    def control_refund_fail_later(self, url, id):  # noqa: A002
        """A refund that had succeeded fails: {"failure_reason"?, "deliver"?}."""
        data = self._control_body()
        reason = data.get("failure_reason", "expired_or_canceled_card")
        self._json(
            200, self.state.refund_fail_later(id, failure_reason=reason, mode=data.get("deliver"))
        )

    def control_dispute(self, url):
        data = self._control_body()
        self._json(200, self.state.dispute_create(data, mode=data.get("deliver")))

    def control_dispute_close(self, url, id):  # noqa: A002
        data = self._control_body()
        self._json(200, self.state.dispute_close(id, data.get("outcome", ""), data.get("deliver")))


class StandinControl:
    def __init__(self, base_url: str, *, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, data: dict | None = None) -> dict:
        body = json.dumps(data or {}).encode() if method == "POST" else None
        request = urllib.request.Request(  # noqa: S310 (the stand-in's own loopback URL)
            self.base_url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return json.loads(response.read())

    def is_up(self, *, timeout: float = 1.0) -> bool:
        """Whether a stand-in answers its health URL: one quick try, no retries."""
        request = urllib.request.Request(self.base_url + "/_standin/health")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status == 200 and json.loads(response.read()).get("ok") is True
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return False

    def config(self, **values) -> dict:
        return self._call("POST", "/_standin/config", values)

    def reset(self) -> dict:
        return self._call("POST", "/_standin/reset")

    def pay(
        self,
        session_id: str,
        *,
        deliver: str = "none",
        async_payment: bool = False,
        promotion_code: str = "",
    ) -> dict:
        """Pay as the customer; with `promotion_code`, after typing that code at checkout."""
        return self._call(
            "POST",
            f"/_standin/checkout/sessions/{session_id}/pay",
            {"deliver": deliver, "async_payment": async_payment, "promotion_code": promotion_code},
        )

    def apply_code(self, session_id: str, code: str) -> dict:
        """Type a promotion code at checkout (urllib.error.HTTPError 400 when refused)."""
        return self._call(
            "POST", f"/_standin/checkout/sessions/{session_id}/promotion_code", {"code": code}
        )

    def async_result(self, session_id: str, *, outcome: str, deliver: str = "none") -> dict:
        return self._call(
            "POST",
            f"/_standin/checkout/sessions/{session_id}/async_result",
            {"outcome": outcome, "deliver": deliver},
        )

    def expire(
        self, session_id: str, *, deliver: str = "none", consent: dict | None = None
    ) -> dict:
        body: dict = {"deliver": deliver}
        if consent is not None:
            body["consent"] = consent
        return self._call("POST", f"/_standin/checkout/sessions/{session_id}/expire", body)

    def emit(self, type_: str, *, deliver: str = "sync", **fields) -> dict:
        return self._call("POST", "/_standin/events", {"type": type_, "deliver": deliver, **fields})

    def deliver(self, event_id: str, *, times: int = 1, mode: str = "sync") -> dict:
        return self._call(
            "POST", f"/_standin/events/{event_id}/deliver", {"times": times, "mode": mode}
        )

    def event(self, event_id: str) -> dict:
        return self._call("GET", f"/_standin/events/{event_id}")

    def events(self, type_: str = "") -> list[dict]:
        return self._call("GET", f"/_standin/events?type={type_}")["data"]

    def refund(self, **fields) -> dict:
        return self._call("POST", "/_standin/refunds", fields)

    def refund_failure(self, **fields) -> dict:
        return self._call("POST", "/_standin/refund_failures", fields)

    def refund_fail_later(self, refund_id: str, *, deliver: str = "none", **fields) -> dict:
        return self._call(
            "POST", f"/_standin/refunds/{refund_id}/fail", {"deliver": deliver, **fields}
        )

    def dispute(self, **fields) -> dict:
        return self._call("POST", "/_standin/disputes", fields)

    def dispute_close(self, dispute_id: str, *, outcome: str, deliver: str = "sync") -> dict:
        return self._call(
            "POST",
            f"/_standin/disputes/{dispute_id}/close",
            {"outcome": outcome, "deliver": deliver},
        )

    def refund_too_old(self, *, payment_intent: str) -> dict:
        """Refunds of this payment are refused like a card payment too old to refund."""
        return self.refund_failure(payment_intent=payment_intent, **{"as": "api_error"})
