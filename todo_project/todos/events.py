"""The auth service's account events as this service reads them; the contract is contracts/events/*.schema.json."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

USER_DELETED = "user.deleted.v1"
USER_DEACTIVATED = "user.deactivated.v1"
USER_REACTIVATED = "user.reactivated.v1"
EVENT_TYPES = frozenset({USER_DELETED, USER_DEACTIVATED, USER_REACTIVATED})
FIELDS = frozenset({"id", "type", "occurred_at", "sub"})
OCCURRED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
SUB = re.compile(r"[1-9][0-9]{0,18}")


class InvalidEvent(Exception):
    """A message that is not an event of a known type and shape: retrying cannot help, so it is dead-lettered."""


@dataclass(frozen=True)
class AccountEvent:
    """One event about a user account."""

    event_id: uuid.UUID
    event_type: str
    occurred_at: datetime
    owner_id: str


def account_event_parse(body: bytes) -> AccountEvent:
    """Check a message body against the contract (the same rules as its JSON Schema) and read it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict) or set(data) != FIELDS or not all(isinstance(value, str) for value in data.values()):
        raise InvalidEvent(f"expected exactly the string fields {sorted(FIELDS)}")
    if data["type"] not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {data['type'][:100]!r}")
    if not OCCURRED_AT.fullmatch(data["occurred_at"]) or not SUB.fullmatch(data["sub"]):
        raise InvalidEvent("occurred_at or sub has the wrong shape")
    try:
        event_id = uuid.UUID(data["id"])
        occurred_at = datetime.strptime(data["occurred_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidEvent(f"bad id or occurred_at: {exc}") from exc
    if str(event_id) != data["id"]:
        raise InvalidEvent("id is not a lower-case UUID")
    return AccountEvent(event_id=event_id, event_type=data["type"], occurred_at=occurred_at, owner_id=data["sub"])
