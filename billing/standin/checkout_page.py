"""The stand-in's hosted checkout page (the session's `url`): Pay and Cancel."""

import html
from copy import deepcopy

from core.money import money_format

ROUTES = [
    ("GET", r"/c/pay/(?P<id>cs_[\w]+)", "page_checkout"),
    ("POST", r"/c/pay/(?P<id>cs_[\w]+)/(?P<action>pay|cancel)", "page_checkout_action"),
]

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


class CheckoutPageRoutes:
    """The page's handlers, mixed into the request handler (billing/standin/server.py)."""

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
