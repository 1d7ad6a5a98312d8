"""Tunable numbers for the comment spam rules. Override any of them in settings.

The numbers stay on the server: refusal messages never quote them.
"""

from django.conf import settings

DEFAULTS = {
    # A person needs at least this long between opening the form and sending it.
    "COMMENTS_MIN_SECONDS": 4,
    # A form older than this is stale; the person is asked to send again with a fresh one.
    "COMMENTS_FORM_MAX_AGE": 60 * 60 * 24,
    # (posts, seconds): accepted comments per account and per client network in a window.
    "COMMENTS_RATE_PER_ACCOUNT": (5, 600),
    "COMMENTS_RATE_PER_CLIENT": (10, 600),
    # More links than this in one comment is refused.
    "COMMENTS_MAX_LINKS": 2,
    "COMMENTS_PER_PAGE": 20,
    "COMMENTS_QUESTIONS_PER_PAGE": 20,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
