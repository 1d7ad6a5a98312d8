"""The content version: one small cache key that names the current state of everything a public
page shows (config.caching keys stored pages and their ETags by it).

Saving or deleting content (program's Program, Unit, Lesson, Video, Article; comments) replaces
the version, so every page stored or ETag issued under the old one is unreachable at once, on
every web host that shares the cache; no timeout is needed. A `migrate` (each release runs it)
replaces it too, so pages rendered by the previous code are never served after a deploy.

The version is a random token rather than a counter: if the cache ever loses the key (a restart,
an eviction), the next reader makes a new token, and pages stored under any earlier value can
never match it again (a counter restarting at 0 could).
"""

import secrets
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

VERSION_KEY = "pagecache:content-version"


def content_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
        # Another process may have added its own token first: everyone uses the stored one.
        version = cache.get(VERSION_KEY) or "unstored"
    return str(version)


def _replace_version() -> None:
    cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None)


def content_changed(**_ignored: object) -> None:
    """Replace the content version (a signal receiver, also called after bulk updates).

    Replaced now and again once the transaction commits: a visitor's page rendered in between
    still read the old rows, and would otherwise be stored under the new version for good.
    """
    _replace_version()
    transaction.on_commit(_replace_version)


def watch(models_shown: Iterable[type[models.Model]]) -> None:
    """Replace the content version whenever one of these models is saved or deleted."""
    for model in models_shown:
        uid = f"pagecache-{model._meta.label}"
        post_save.connect(content_changed, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(content_changed, sender=model, dispatch_uid=f"{uid}-delete")


# Content kept under the version (`versioned`) outlives no version; the timeout only bounds memory
# for rarely asked keys.
VERSIONED_SECONDS = 24 * 60 * 60


def versioned[T](key: str, build: Callable[[], T]) -> T:
    """What `build()` returns, kept in the cache until the content version changes.

    For the parts of a page that are the same for everyone who may see it (a lesson with its unit
    and neighbours, its rendered instructions, a thread's approved comments): never anything
    personal, and never a permission (the caller checks access on every request). The value is
    stored with the version read before building, and the version and the value are read in one
    round trip (`get_many`): a staff edit replaces the version, so the next request builds afresh.
    Reading the version first means a value built from rows read before an edit was committed is
    stored under a version that the commit replaces again (see content_changed).
    """
    full_key = f"versioned:{key}"
    found = cache.get_many([VERSION_KEY, full_key])
    version = found.get(VERSION_KEY)
    if version is None:
        version = content_version()
    stored = found.get(full_key)
    if stored is not None and stored[0] == version:
        kept: T = stored[1]
        return kept
    value = build()
    cache.set(full_key, (version, value), VERSIONED_SECONDS)
    return value
