from django.db import models


class TimeStamped(models.Model):
    """When a row was created and last saved (a save with update_fields must name updated_at)."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
