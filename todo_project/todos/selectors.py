"""Reads of todos, always scoped to one owner."""

from typing import Any
from uuid import UUID

from django.db import connection
from django.db.utils import DatabaseError

from todos.filters import TodoFilters, todo_filters_order_by, todo_filters_where
from todos.models import AccountState, Todo

TODO_TABLE = Todo._meta.db_table
LIST_COLUMNS = 'id, title, description, completed, due_date, "order", created_at, updated_at'
# On PostgreSQL the list's ids, dates and timestamps come back as the text the API shows (the format of
# REST_FRAMEWORK["DATETIME_FORMAT"]): parsing 40 timestamps into datetimes only to print them again cost about
# a third of a list request's CPU. SQLite hands back text of its own, converted in todo_row_representation.
# The aliases differ from the column names so that ORDER BY still sorts (and uses the index) by the real columns.
POSTGRESQL_LIST_COLUMNS = (
    'id::text AS id_text, title, description, completed, due_date::text AS due_date_text, "order", '
    + ", ".join(
        f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS {column}_text"""
        for column in ("created_at", "updated_at")
    )
)


def todo_list_page(
    *, owner_id: str, filters: TodoFilters, limit: int, offset: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """One page of the owner's matching todos (rows of LIST_COLUMNS) and how many match, in a single query.

    The count rides along as a window function; an empty page leaves it unknown, reported as 0.
    """
    where, params = todo_filters_where(owner_id=owner_id, filters=filters)
    columns = POSTGRESQL_LIST_COLUMNS if connection.vendor == "postgresql" else LIST_COLUMNS
    sql = (
        f"SELECT {columns}, COUNT(*) OVER () FROM {TODO_TABLE} WHERE {where} "  # noqa: S608 - fixed identifiers
        f"ORDER BY {todo_filters_order_by(filters)} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        rows = cursor.fetchall()
    return (rows[0][-1] if rows else 0), [row[:-1] for row in rows]


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


def database_is_ready() -> bool:
    """True when the database answers a trivial query."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True
