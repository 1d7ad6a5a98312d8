"""A tiny client for the stand-in's control API (/_standin/...), used by tests and by people."""

import http.client
import json
import urllib.request


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

    def pay(self, session_id: str, *, deliver: str = "none", async_payment: bool = False) -> dict:
        return self._call(
            "POST",
            f"/_standin/checkout/sessions/{session_id}/pay",
            {"deliver": deliver, "async_payment": async_payment},
        )

    def async_result(self, session_id: str, *, outcome: str, deliver: str = "none") -> dict:
        return self._call(
            "POST",
            f"/_standin/checkout/sessions/{session_id}/async_result",
            {"outcome": outcome, "deliver": deliver},
        )

    def expire(self, session_id: str, *, deliver: str = "none") -> dict:
        return self._call(
            "POST", f"/_standin/checkout/sessions/{session_id}/expire", {"deliver": deliver}
        )

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
