"""The stand-in's hosted checkout page (the session's `url`): Pay and Cancel."""

import html
from copy import deepcopy
from urllib.parse import parse_qsl, urlencode

from billing.standin.routes_base import RoutesBase
from billing.standin.state import ApiError
from core.money import money_format

ROUTES = [
    ("GET", r"/c/pay/(?P<id>cs_[\w]+)", "page_checkout"),
    ("POST", r"/c/pay/(?P<id>cs_[\w]+)/promotion_code", "page_checkout_code"),
    ("GET", r"/i/(?P<id>in_[\w]+)", "page_invoice"),
    ("GET", r"/receipts/(?P<id>ch_[\w]+)", "page_receipt"),
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
.error {{ color: #a40e26; }}
input {{ font: inherit; padding: .5rem; min-height: 44px; box-sizing: border-box; max-width: 100%; }}
label {{ display: block; }}
</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


class CheckoutPageRoutes(RoutesBase):
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
        currency = session["currency"]
        total = money_format(session["amount_total"], currency)
        details = session["total_details"]
        lines = ""
        if details["amount_discount"]:
            lines += f"<p>Discount: −{money_format(details['amount_discount'], currency)}</p>"
        if session["automatic_tax"]["enabled"]:
            lines += f"<p>Tax: {money_format(details['amount_tax'], currency)}</p>"
        code_form = ""
        if session.get("allow_promotion_codes"):
            query = dict(parse_qsl(url.query))
            error = query.get("code_error", "")
            described = ' aria-describedby="code-error"' if error else ""
            code_form = f"""
<form method="post" action="/c/pay/{id}/promotion_code">
<label for="promotion-code">Promotion code</label>
<input id="promotion-code" name="code" autocomplete="off" value="{html.escape(query.get("code", ""))}"{described}>
<button type="submit">Apply</button>
{f'<p id="code-error" class="error" role="alert">{html.escape(error)}</p>' if error else ""}
</form>"""
        body = f"""
<p class="note">Local Stripe stand-in: no card, no money. This page stands in for Stripe Checkout.</p>
<ul>{rows}</ul>{code_form}{lines}
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

    def page_checkout_code(self, url, id):  # noqa: A002
        """Checkout's promotion-code field: applied, or back to the page saying why not."""
        code = dict(parse_qsl(self._read_body())).get("code", "")
        try:
            self.state.session_apply_code(id, code)
        except ApiError as exc:
            query = urlencode({"code": code, "code_error": exc.body["error"]["message"]})
            self._redirect(f"/c/pay/{id}?{query}")
            return
        self._redirect(f"/c/pay/{id}")

    def _document_page(self, title: str, obj: dict | None, lines: list[str]) -> None:
        if obj is None:
            body, status = "<p>Not found.</p>", 404
        else:
            body, status = "".join(f"<p>{html.escape(line)}</p>" for line in lines), 200
        self._send(status, PAGE.format(title=title, body=body).encode(), "text/html; charset=utf-8")

    def page_invoice(self, url, id):  # noqa: A002
        """The invoice's hosted page (hosted_invoice_url)."""
        with self.state.lock:
            invoice = deepcopy(self.state.objects.get(id))
        lines = []
        if invoice is not None:
            money = lambda cents: money_format(cents, invoice["currency"])  # noqa: E731
            taxes = sum(t["amount"] for t in invoice["total_taxes"])
            lines = [
                f"Invoice {invoice['number']} ({invoice['status']})",
                f"Subtotal: {money(invoice['subtotal'])}",
                f"Tax: {money(taxes)}",
                f"Total paid: {money(invoice['amount_paid'])}",
            ]
        self._document_page("Invoice", invoice, lines)

    def page_receipt(self, url, id):  # noqa: A002
        """The charge's receipt page (receipt_url)."""
        with self.state.lock:
            charge = deepcopy(self.state.objects.get(id))
        lines = []
        if charge is not None:
            lines = [f"Receipt for {money_format(charge['amount'], charge['currency'])}"]
        self._document_page("Receipt", charge, lines)
