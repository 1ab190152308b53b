"""Reads of todos, always scoped to one owner."""

import datetime
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection
from django.db.utils import DatabaseError
from django.utils.dateparse import parse_datetime

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


@dataclass(frozen=True)
class AccountCheck:
    """What the token check reads of the caller: whether events refuse the token, and the caller's list stamp."""

    refuses_token: bool
    list_stamp: str


ACCOUNT_CHECK_SQL = (
    "SELECT account.status, account.tokens_not_before, list_version.stamp "  # noqa: S608 - fixed identifiers
    "FROM (SELECT CAST(%s AS varchar(64)) AS owner_id) AS caller "
    f"LEFT JOIN {AccountState._meta.db_table} AS account ON account.owner_id = caller.owner_id "
    f"LEFT JOIN {TodoListVersion._meta.db_table} AS list_version ON list_version.owner_id = caller.owner_id"
)


def _epoch_seconds(value: datetime.datetime | str) -> int:
    """Whole seconds since the epoch of a timestamp as a raw cursor hands it back (SQLite: naive, in UTC)."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return int((moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)).timestamp())


def account_check(*, owner_id: str, issued_at: int) -> AccountCheck:
    """One query for the token check: refuse the token when the user is deleted or deactivated, or the token is from
    before a reactivation; and, in the same round trip, the caller's list stamp (todo_list_stamp), which the list
    needs next. No account row means an active user."""
    with connection.cursor() as cursor:
        cursor.execute(ACCOUNT_CHECK_SQL, [owner_id])
        status, tokens_not_before, stamp = cursor.fetchone()
    # iat counts whole seconds: a token of the reactivation's own second is accepted.
    refuses = status is not None and (
        status != AccountState.Status.ACTIVE or issued_at < _epoch_seconds(tokens_not_before)
    )
    return AccountCheck(refuses_token=refuses, list_stamp=stamp or "")


def database_is_ready() -> bool:
    """True when the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True
