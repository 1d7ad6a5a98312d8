"""Pages stored under the content version show comments' authors (Comment.author_display: their
name, "The practitioner", or "A former member" once the account is deleted). A change to what
that shows replaces the version, so no cached page keeps a name its member changed or deleted."""

from typing import Any

from core import pagecache

# The user fields Comment.author_display reads; a save naming none of them (a sign-in writes
# last_login) leaves every page as it is.
AUTHOR_DISPLAY_FIELDS = frozenset({"name", "deleted_at", "is_staff"})


def author_display_changed(
    sender: Any, instance: Any, created: bool = False, update_fields: Any = None, **_: Any
) -> None:
    if created:
        return  # a new account has written no comment yet
    if update_fields is not None and not AUTHOR_DISPLAY_FIELDS & set(update_fields):
        return
    from comments.models import Comment

    if Comment.objects.filter(author_id=instance.pk).exists():
        pagecache.content_changed()
