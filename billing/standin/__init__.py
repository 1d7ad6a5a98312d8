"""The local Stripe stand-in (for DEBUG runs and tests only). See server.py."""

from billing.standin.server import StandinServer, StandinState, make_server, sign, start_in_thread

__all__ = ["StandinServer", "StandinState", "make_server", "sign", "start_in_thread"]
