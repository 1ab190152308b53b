"""Reads of the auth service."""

from dataclasses import dataclass

from django.db import DatabaseError, connection
from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.keyring import current_keyring
from accounts.models import LoginSession, OutboxEvent


@dataclass(frozen=True)
class OutboxBacklog:
    """Events not yet published (and how long the oldest has waited), and sent ones kept until pruned."""

    waiting: int
    oldest_age_seconds: float
    sent: int


def database_is_ready() -> bool:
    """True when the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def jwks_get() -> dict:
    """The JWKS of every published signing key (active first)."""
    return current_keyring().jwks


def outbox_backlog() -> OutboxBacklog:
    """What the relay still has to publish."""
    counts = OutboxEvent.objects.aggregate(
        waiting=Count("id", filter=Q(sent_at__isnull=True)),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        oldest=Min("occurred_at", filter=Q(sent_at__isnull=True)),
    )
    age = (timezone.now() - counts["oldest"]).total_seconds() if counts["oldest"] else 0.0
    return OutboxBacklog(waiting=counts["waiting"], oldest_age_seconds=age, sent=counts["sent"])


def login_session_list(*, user_id: int) -> QuerySet[LoginSession]:
    """The user's live sessions (neither ended nor expired), newest first."""
    return LoginSession.objects.filter(
        user_id=user_id, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at")
