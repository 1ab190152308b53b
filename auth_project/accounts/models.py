"""The user model (Django's own, swappable from the first migration) and the outbox of integration events."""

import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who registers and signs in; `id` is the token's `sub`."""

    email = models.EmailField("email address")


class OutboxEvent(models.Model):
    """An integration event, written in the transaction of the change it reports; the relay publishes it."""

    # The auto-increment id orders publishing; event_id is the event's identity on the wire.
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    event_type = models.CharField(max_length=100)
    payload = models.JSONField()
    occurred_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # The W3C traceparent of the request that recorded the event: the relay publishes it in the message's headers,
    # so the consumer's handling continues the request's trace (docs/observability.md).
    trace_parent = models.CharField(max_length=55, blank=True, default="")

    class Meta:
        indexes = [
            # The relay reads only unsent rows, in id order; sent rows are only pruned by age.
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent_idx"),
            models.Index(fields=["sent_at"], condition=models.Q(sent_at__isnull=False), name="outbox_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
