from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from billing.panels import buy_box
        from program import panels

        # program's outline, unit and lesson pages offer the program without importing billing.
        panels.register_offer("buy", buy_box, template="billing/includes/buy_button.html")
