"""Re-exports core's rate limit and client address for the modules that import them from here."""

from core.http import client_ip  # noqa: F401
from core.ratelimit import RATE_LIMITED_MESSAGE, rate_limit_consume  # noqa: F401
