"""The integration events the auth service publishes: their types and the body each one carries (contracts/events/)."""

import uuid
from datetime import datetime

USER_DELETED = "user.deleted.v1"
USER_DEACTIVATED = "user.deactivated.v1"
USER_REACTIVATED = "user.reactivated.v1"
EVENT_TYPES = (USER_DELETED, USER_DEACTIVATED, USER_REACTIVATED)


def event_body(*, event_id: uuid.UUID, event_type: str, occurred_at: datetime, user_id: int) -> dict[str, str]:
    """The JSON body of one event, as its schema in contracts/events/ describes it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "id": str(event_id),
        "type": event_type,
        # The todo service compares these times to a token's iat: UTC, microseconds, one shape everywhere.
        "occurred_at": occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "sub": str(user_id),
    }
