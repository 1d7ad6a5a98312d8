from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        # Registers the refund and dispute webhook handlers in billing.services.WEBHOOK_HANDLERS.
        from billing import refund_services  # noqa: F401
