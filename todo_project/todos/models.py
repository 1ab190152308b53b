"""The todo model: owned by the auth service's user id, which has no row here."""

import uuid

from django.db import models


class Todo(models.Model):
    """One item of a user's list; `version` grows on every write and is the ETag."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The token's `sub`: API users live in the auth service, so this is a plain value, not a foreign key.
    owner_id = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=10_000, blank=True, default="")
    completed = models.BooleanField(default=False)
    due_date = models.DateField(null=True, blank=True)
    order = models.IntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        indexes = [
            # Serves the default list (owner's rows in the default order, then LIMIT) and the owner's count.
            models.Index(fields=["owner_id", "order", "created_at", "id"], name="todo_owner_default_order_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def etag(self) -> str:
        """A strong ETag: changes on every write of this todo."""
        return f'"{self.version}"'
