"""Who holds access through a purchase: the one rule (a gift's purchase belongs to the buyer,
but its access to the recipient who claimed it).

Every path that grants, restores or ends access because of a purchase (fulfilment, refunds,
disputes) asks `purchase_beneficiary`; every check "does this person hold another paid purchase
of the program" asks `purchases_benefiting`; who may ask for a refund of a purchase is
`refund_askers_q`. Reads only: no writes here.
"""

from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from billing.models import Gift, Purchase
from program.models import Program

if TYPE_CHECKING:
    from accounts.models import User


def purchase_gift(purchase: Purchase) -> Gift | None:
    """The purchase's gift, or None for a purchase the buyer made for themselves."""
    try:
        return purchase.gift
    except Gift.DoesNotExist:
        return None


def purchase_beneficiary(purchase: Purchase) -> "User | None":
    """The person whose access this purchase pays for: the buyer, or for a gift the recipient
    who claimed it (None while unclaimed: a gift's purchase never gives the buyer access)."""
    gift = purchase_gift(purchase)
    if gift is None:
        return purchase.user
    return gift.recipient


def purchases_benefiting(*, user: "User", program: Program) -> QuerySet[Purchase]:
    """The purchases holding a payment that give `user` access to `program`: their own
    (not gifts they gave) and gifts they claimed."""
    return Purchase.objects.holding_payment().benefiting(user).filter(program=program)


def refund_askers_q(user: "User") -> Q:
    """The purchases `user` may ask to refund: their own, gifts they gave and nobody claimed
    yet (the money goes back to them), and gifts they claimed (the recipient's guarantee)."""
    return (
        Q(user=user, gift__isnull=True)
        | Q(user=user, gift__recipient__isnull=True)
        | Q(gift__recipient=user)
    )
