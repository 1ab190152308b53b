"""Reads of todos, always scoped to one owner."""

from typing import Any
from uuid import UUID

from django.db import connection

from todos.filters import TodoFilters, todo_filters_order_by, todo_filters_where
from todos.models import Todo

TODO_TABLE = Todo._meta.db_table
LIST_COLUMNS = 'id, title, description, completed, due_date, "order", created_at, updated_at'


def todo_list_page(
    *, owner_id: str, filters: TodoFilters, limit: int, offset: int
) -> tuple[int, list[tuple[Any, ...]]]:
    """One page of the owner's matching todos (rows of LIST_COLUMNS) and how many match, in a single query.

    The count rides along as a window function; an empty page leaves it unknown, reported as 0.
    """
    where, params = todo_filters_where(owner_id=owner_id, filters=filters)
    sql = (
        f"SELECT {LIST_COLUMNS}, COUNT(*) OVER () FROM {TODO_TABLE} WHERE {where} "  # noqa: S608 - fixed identifiers
        f"ORDER BY {todo_filters_order_by(filters)} LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit, offset])
        rows = cursor.fetchall()
    return (rows[0][-1] if rows else 0), [row[:-1] for row in rows]


def todo_get(*, owner_id: str, todo_id: UUID) -> Todo | None:
    """The owner's todo with this id; None for an unknown id and for another owner's todo alike."""
    return Todo.objects.filter(owner_id=owner_id, id=todo_id).first()
