"""Writes of todos, always scoped to one owner (`expected_version` makes a write conditional), and account events."""

import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction

from todos.events import USER_DEACTIVATED, USER_DELETED, AccountEvent
from todos.filters import TodoFilters, todo_filters_where
from todos.models import AccountState, ProcessedEvent, Todo
from todos.selectors import TODO_TABLE

WRITABLE_FIELDS = frozenset({"title", "description", "completed", "due_date", "order"})


class TodoNotFound(Exception):
    """No todo with this id belongs to the owner."""


class TodoVersionMismatch(Exception):
    """The todo changed since the caller read it: its version is not the one the caller expected."""


def todo_create(
    *,
    owner_id: str,
    title: str,
    description: str = "",
    completed: bool = False,
    due_date: datetime.date | None = None,
    order: int = 0,
) -> Todo:
    """Create a todo for the owner."""
    return Todo.objects.create(
        owner_id=owner_id, title=title, description=description, completed=completed, due_date=due_date, order=order
    )


def _locked_todo(*, owner_id: str, todo_id: UUID, expected_version: int | None) -> Todo:
    todo = Todo.objects.select_for_update().filter(owner_id=owner_id, id=todo_id).first()
    if todo is None:
        raise TodoNotFound
    if expected_version is not None and todo.version != expected_version:
        raise TodoVersionMismatch
    return todo


@transaction.atomic
def todo_update(*, owner_id: str, todo_id: UUID, changes: dict[str, Any], expected_version: int | None = None) -> Todo:
    """Apply changes to the owner's todo and bump its version; the row is locked so the version check holds."""
    unknown = set(changes) - WRITABLE_FIELDS
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    todo = _locked_todo(owner_id=owner_id, todo_id=todo_id, expected_version=expected_version)
    for field, value in changes.items():
        setattr(todo, field, value)
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
        Todo.objects.filter(owner_id=event.owner_id).delete()
    return True


def account_deleted_todos_purge(*, applied_since: datetime.datetime) -> int:
    """Delete todos that reached an account after its deletion was applied; returns how many.

    A request whose token check passed just before the deletion committed can still write a todo after the purge;
    the consumer calls this every little while for recently deleted accounts, so no such todo stays behind.
    """
    deleted_owners = AccountState.objects.filter(
        status=AccountState.Status.DELETED, applied_at__gte=applied_since
    ).values("owner_id")
    deleted, _ = Todo.objects.filter(owner_id__in=deleted_owners).delete()
    return deleted
