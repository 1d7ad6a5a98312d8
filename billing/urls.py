from django.urls import path

from billing import gift_views, recovery_views, views

app_name = "billing"

urlpatterns = [
    path("buy/<slug:program>/", views.checkout, name="checkout"),
    path("checkout/success/", views.checkout_success, name="checkout-success"),
    path("checkout/cancelled/", views.checkout_cancel, name="checkout-cancel"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("purchases/", views.purchases, name="purchases"),
    path("purchases/<int:purchase>/refund/", views.refund_request, name="refund-request"),
    # Gifts (billing.gift_views)
    path("gift/<slug:program>/", gift_views.gift_buy, name="gift-buy"),
    path("gifts/claim/<str:token>/", gift_views.gift_claim, name="gift-claim"),
    path("gifts/<int:gift>/resend/", gift_views.gift_resend, name="gift-resend"),
    path(
        "checkout-reminders/stop/<str:token>/",
        recovery_views.recovery_unsubscribe,
        name="recovery-unsubscribe",
    ),
]
