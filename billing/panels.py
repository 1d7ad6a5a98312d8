"""What billing adds to program's pages through program.panels (registered in billing.apps)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from program.models import Program

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from accounts.models import User


@dataclass(frozen=True)
class BuyBox:
    """The Buy box's data: the program on offer, and whether the person already has it (then the
    box links to the program instead of selling it)."""

    program: Program
    owned: bool


def buy_box(*, user: "User | AnonymousUser", program: Program, has_access: bool) -> BuyBox:
    """The offer on the outline and on locked units and lessons. No query: the page has already
    asked program.access whether `user` has `program`."""
    return BuyBox(program=program, owned=has_access)
