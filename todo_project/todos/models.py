"""The todo model, owned by the auth service's user id (no row here), what events said of users, idempotency keys."""

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


class AccountState(models.Model):
    """What the auth service's events said last about one user; no row means an active user."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        DEACTIVATED = "deactivated"
        DELETED = "deleted"

    owner_id = models.CharField(max_length=64, primary_key=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    # Tokens issued (iat) before this second are refused even while the account is active again.
    tokens_not_before = models.DateTimeField()
    # The occurred_at of the event that set this state: an older event arriving late changes nothing.
    changed_at = models.DateTimeField()
    # When this service applied that event, by its own clock: the window of the late-todo sweep.
    applied_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.status}"


class ProcessedEvent(models.Model):
    """The inbox: the id of every event applied, so a redelivered event changes nothing."""

    event_id = models.UUIDField(primary_key=True)
    event_type = models.CharField(max_length=100)
    processed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"


class IdempotencyRecord(models.Model):
    """One caller's Idempotency-Key: the request it was first sent with and, once done, the response to replay.

    Kept in the database, not in a worker's memory, so every instance of the service sees the same keys.
    """

    id = models.BigAutoField(primary_key=True)
    owner_id = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # sha256 of method, path (with its query) and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    # Null while the first request runs; then the stored response.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner_id", "key"], name="idempotency_owner_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.key}"


class TodoListVersion(models.Model):
    """A stamp per owner that a database trigger renews whenever any of the owner's todos is written.

    The list's ETag derives from it (todos.conditional), so the list answers 304 with one primary-key read. A trigger
    (migration 0005) rather than the services: every write path renews it in the write's own transaction, the
    admin's, a bulk delete's and an event's purge included. The stamp is random, never a counter, so a stamp once
    replaced never comes back (not after a rollback, nor a restored backup).
    """

    owner_id = models.CharField(max_length=64, primary_key=True)
    stamp = models.CharField(max_length=36)

    def __str__(self) -> str:
        return f"{self.owner_id}: {self.stamp}"
