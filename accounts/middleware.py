"""Middleware of the accounts app (the class lives with the rest of the two-factor rule)."""

from accounts.two_factor import StaffTwoFactorMiddleware

__all__ = ["StaffTwoFactorMiddleware"]
