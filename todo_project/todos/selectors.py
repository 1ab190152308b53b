"""Reads of todos, always scoped to one owner."""

from typing import Any
from uuid import UUID

from django.db import connection

from todos.columns import FIELD_BY_RESULT_NAME, POSTGRESQL_SELECT, SQLITE_SELECT
from todos.filters import TodoFilters, todo_filters_order_by, todo_filters_where
from todos.models import AccountState, Todo, TodoListVersion

TODO_TABLE = Todo._meta.db_table


def todo_list_page(*, owner_id: str, filters: TodoFilters, limit: int, offset: int) -> tuple[int, list[dict[str, Any]]]:
    """One page of the owner's matching todos (columns.LIST_FIELDS by name) and how many match, in a single query.

    The count rides along as a window function; an empty page leaves it unknown, reported as 0.
    """
    where, params = todo_filters_where(owner_id=owner_id, filters=filters)
    columns = POSTGRESQL_SELECT if connection.vendor == "postgresql" else SQLITE_SELECT
    sql = (
        f"SELECT {columns}, COUNT(*) OVER () AS total FROM {TODO_TABLE} WHERE {where} "  # noqa: S608 - fixed names
        f"ORDER BY {todo_filters_order_by(filters)} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        names = [FIELD_BY_RESULT_NAME.get(column[0], column[0]) for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return (rows[0]["total"] if rows else 0), rows


def todo_list_stamp(*, owner_id: str) -> str:
    """The owner's list stamp: it changes with every write of the owner's todos; empty before the first write."""
    stamp = TodoListVersion.objects.filter(owner_id=owner_id).values_list("stamp", flat=True).first()
    return stamp or ""


def todo_get(*, owner_id: str, todo_id: UUID) -> Todo | None:
    """The owner's todo with this id; None for an unknown id and for another owner's todo alike."""
    # get() rather than first(): the id is the primary key, and first() would add an ORDER BY to every read.
    try:
        return Todo.objects.get(owner_id=owner_id, id=todo_id)
    except Todo.DoesNotExist:
        return None


def account_refuses_token(*, owner_id: str, issued_at: int) -> bool:
    """True when account events say to refuse the token: user deleted or deactivated, or token before reactivation."""
    state = AccountState.objects.filter(owner_id=owner_id).values_list("status", "tokens_not_before").first()
    if state is None:
        return False
    status, tokens_not_before = state
    # iat counts whole seconds: a token of the reactivation's own second is accepted.
    return status != AccountState.Status.ACTIVE or issued_at < int(tokens_not_before.timestamp())
