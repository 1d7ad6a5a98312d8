"""The local Stripe stand-in (for DEBUG runs and tests only). See server.py."""

from billing.standin.server import StandinServer, make_server, start_in_thread
from billing.standin.state import StandinState, sign

__all__ = ["StandinServer", "StandinState", "make_server", "sign", "start_in_thread"]
