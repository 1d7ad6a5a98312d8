from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing.panels import buy_box
        from program import panels

        # program's outline, unit and lesson pages offer the program without importing billing.
        panels.register_offer("buy", buy_box, template="billing/includes/buy_button.html")
        from billing.reconcile import RECONCILE_EVERY
        from billing.tasks import stripe_reconcile_task
        from core import schedule

        # Stripe is the source of truth: lost, late or unplaceable events are repaired here.
        schedule.register(
            name="stripe-reconcile", task=stripe_reconcile_task, every=RECONCILE_EVERY
        )
        from billing.gift_tasks import gifts_deliver_due_task
        from billing.gifts import GIFT_DELIVERIES_EVERY

        # Gifts: each claim e-mail waits in the queue for its day; this catches any lost task.
        schedule.register(
            name="gift-deliveries", task=gifts_deliver_due_task, every=GIFT_DELIVERIES_EVERY
        )
