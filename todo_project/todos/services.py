"""Writes of todos, always scoped to one owner (`expected_version` makes a write conditional), and account events."""

import datetime
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from todos.events import USER_DEACTIVATED, USER_DELETED, AccountEvent
from todos.exceptions import IdempotencyKeyInUse, IdempotencyKeyMismatch, TodoNotFound, TodoVersionMismatch
from todos.filters import TodoFilters, todo_filters_where
from todos.models import AccountState, IdempotencyRecord, ProcessedEvent, Todo
from todos.selectors import TODO_TABLE

WRITABLE_FIELDS = frozenset({"title", "description", "completed", "due_date", "order"})
# What an optional field becomes when a create or a replacing PUT leaves it out: the model's own default.
OPTIONAL_FIELD_DEFAULTS = {
    field.name: field.get_default()
    for field in Todo._meta.concrete_fields
    if field.name in WRITABLE_FIELDS and (field.has_default() or field.null)
}


def todo_create(*, owner_id: str, title: str, **fields: Any) -> Todo:
    """Create a todo for the owner; the optional WRITABLE_FIELDS left out take the model's defaults."""
    unknown = set(fields) - WRITABLE_FIELDS
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    return Todo.objects.create(owner_id=owner_id, title=title, **fields)


def _locked_todo(*, owner_id: str, todo_id: UUID, expected_version: int | None) -> Todo:
    todo = Todo.objects.select_for_update().filter(owner_id=owner_id, id=todo_id).first()
    if todo is None:
        raise TodoNotFound
    if expected_version is not None and todo.version != expected_version:
        raise TodoVersionMismatch
    return todo


@transaction.atomic
def todo_update(*, owner_id: str, todo_id: UUID, changes: dict[str, Any], expected_version: int | None = None) -> Todo:
    """Apply changes to the owner's todo and bump its version, unless nothing changes; the row is locked so the
    version check holds."""
    unknown = set(changes) - WRITABLE_FIELDS
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    todo = _locked_todo(owner_id=owner_id, todo_id=todo_id, expected_version=expected_version)
    changed = [field for field, value in changes.items() if getattr(todo, field) != value]
    # A write that changes nothing keeps the todo's version (its ETag) and the list's stamp: no spurious 412s.
    if not changed:
        return todo
    for field in changed:
        setattr(todo, field, changes[field])
    todo.version += 1
    todo.save()
    return todo


@transaction.atomic
def todo_delete(*, owner_id: str, todo_id: UUID, expected_version: int | None = None) -> None:
    """Delete the owner's todo."""
    _locked_todo(owner_id=owner_id, todo_id=todo_id, expected_version=expected_version).delete()


def todo_bulk_delete(*, owner_id: str, filters: TodoFilters) -> int:
    """Delete the owner's todos that match the list filters (the very condition the list uses); returns how many."""
    where, params = todo_filters_where(owner_id=owner_id, filters=filters)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TODO_TABLE} WHERE {where}", params)  # noqa: S608 - fixed identifiers
        return cursor.rowcount


EVENT_STATUS = {USER_DELETED: AccountState.Status.DELETED, USER_DEACTIVATED: AccountState.Status.DEACTIVATED}


@transaction.atomic
def account_event_apply(*, event: AccountEvent) -> bool:
    """Apply an account event once: False when its id was applied before (a redelivery), which changes nothing.

    The inbox row, the account state and a deletion's purge commit together. Order does not matter: an event
    older than the state it would replace only enters the inbox, and a deletion is final.
    """
    try:
        # A savepoint: a concurrent consumer with the same id waits on the key until the first one commits.
        with transaction.atomic():
            ProcessedEvent.objects.create(event_id=event.event_id, event_type=event.event_type)
    except IntegrityError:
        return False
    state = AccountState.objects.select_for_update().filter(owner_id=event.owner_id).first()
    if state is not None and (state.status == AccountState.Status.DELETED or state.changed_at >= event.occurred_at):
        return True
    status = EVENT_STATUS.get(event.event_type, AccountState.Status.ACTIVE)
    AccountState.objects.update_or_create(
        owner_id=event.owner_id,
        defaults={"status": status, "tokens_not_before": event.occurred_at, "changed_at": event.occurred_at},
    )
    if status == AccountState.Status.DELETED:
        _owners_data_delete(owner_ids=[event.owner_id])
    return True


def _owners_data_delete(*, owner_ids: Any) -> int:
    """Delete everything kept of these owners: their todos, and the responses stored under their Idempotency-Keys
    (which hold their todos' contents); returns how many todos went."""
    deleted, _ = Todo.objects.filter(owner_id__in=owner_ids).delete()
    IdempotencyRecord.objects.filter(owner_id__in=owner_ids).delete()
    return deleted


def account_deleted_todos_purge(*, applied_since: datetime.datetime) -> int:
    """Delete todos (and stored idempotent responses) that reached an account after its deletion was applied;
    returns how many todos.

    A request whose token check passed just before the deletion committed can still write a todo after the purge;
    the consumer calls this every little while for recently deleted accounts, so no such todo stays behind.
    """
    deleted_owners = AccountState.objects.filter(
        status=AccountState.Status.DELETED, applied_at__gte=applied_since
    ).values("owner_id")
    return _owners_data_delete(owner_ids=deleted_owners)


@dataclass(frozen=True)
class StoredResponse:
    """A response kept under an Idempotency-Key, to be sent again byte for byte."""

    status_code: int
    headers: dict[str, str]
    body: bytes


def _idempotency_expired_before() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=settings.IDEMPOTENCY_KEY_RETENTION)


def idempotency_key_claim(*, owner_id: str, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim a key for a first request (None: go ahead), or return the response stored under it.

    The claim commits at once, so a retry arriving at any instance while the first request runs sees it (409). A
    claim older than IDEMPOTENCY_IN_PROGRESS_TIMEOUT with no response belonged to a process that died mid-request;
    it is taken over rather than refusing the key until it expires. Expired keys are pruned here, on write.
    """
    idempotency_keys_prune(owner_id=owner_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(owner_id=owner_id, key=key, fingerprint=fingerprint)
        return None
    except IntegrityError:
        pass
    with transaction.atomic():
        record = IdempotencyRecord.objects.select_for_update().filter(owner_id=owner_id, key=key).first()
        if record is None:  # pruned or released since the insert failed: claim it again
            IdempotencyRecord.objects.create(owner_id=owner_id, key=key, fingerprint=fingerprint)
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyMismatch()
        if record.status_code is not None:
            return StoredResponse(record.status_code, record.headers, bytes(record.body))
        abandoned = now - datetime.timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT)
        if record.created_at > abandoned:
            raise IdempotencyKeyInUse()
        record.created_at = now
        record.save(update_fields=["created_at"])
        return None


def idempotency_key_complete(*, owner_id: str, key: str, response: StoredResponse) -> None:
    """Store the first request's response under its key; call it in the transaction of the request's write."""
    IdempotencyRecord.objects.filter(owner_id=owner_id, key=key).update(
        status_code=response.status_code, headers=response.headers, body=response.body
    )


def idempotency_key_release(*, owner_id: str, key: str) -> None:
    """Forget a claim whose request failed, so the client can fix it and retry with the same key."""
    IdempotencyRecord.objects.filter(owner_id=owner_id, key=key, status_code__isnull=True).delete()


def idempotency_keys_prune(*, owner_id: str | None = None, batch_size: int = 1000) -> int:
    """Delete keys past IDEMPOTENCY_KEY_RETENTION (one owner's, or a batch of everybody's); return how many."""
    expired = IdempotencyRecord.objects.filter(created_at__lt=_idempotency_expired_before())
    if owner_id is not None:
        expired = expired.filter(owner_id=owner_id)
    ids = list(expired.order_by("created_at").values_list("id", flat=True)[:batch_size])
    return IdempotencyRecord.objects.filter(id__in=ids).delete()[0] if ids else 0
