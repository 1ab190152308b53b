"""The list's query parameters (`completed`, `search`, `ordering`) and the SQL they select (list and bulk delete).

The list is the service's hot path, so its SQL is written out here instead of compiled by the ORM on every request
(compiling it is a large share of the list's CPU time: docs/benchmarks.md). Every identifier comes from the fixed
tables below; values are bound params.
"""

import re
from dataclasses import dataclass
from typing import Any

from rest_framework.exceptions import ValidationError

# API name -> column, for ?ordering=.
ORDERING_COLUMNS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "due_date": "due_date",
    "title": "title",
    "order": '"order"',
}
ORDERING_FIELDS = tuple(ORDERING_COLUMNS)
# Ends with the primary key so that equal values never swap places between two pages (index: owner_id, then these).
DEFAULT_ORDERING = ("order", "created_at", "id")
MAX_SEARCH_LENGTH = 200
_TERM = f"-?(?:{'|'.join(ORDERING_COLUMNS)})"
# Comma-separated terms and nothing else (the schema publishes this pattern); empty means the default order.
ORDERING_PATTERN = f"^(?:{_TERM}(?:,{_TERM})*)?$"


@dataclass(frozen=True)
class TodoFilters:
    """What the caller asked the list (or the bulk delete) for."""

    completed: bool | None = None
    search: str = ""
    ordering: tuple[str, ...] = DEFAULT_ORDERING


def todo_filters_from_query(query_params: Any) -> TodoFilters:
    """Parse the query string into TodoFilters; a bad value is a 400 naming the parameter."""
    errors: dict[str, list[str]] = {}
    # PostgreSQL cannot compare a string holding a NUL byte: refuse it here rather than fail in the database.
    for name in ("completed", "search", "ordering"):
        if "\x00" in query_params.get(name, ""):
            errors[name] = ["Null characters are not allowed."]
    if errors:
        raise ValidationError(errors)

    completed = query_params.get("completed", "")
    if completed not in ("", "true", "false"):
        errors["completed"] = ["Must be true or false."]

    search = query_params.get("search", "")
    if len(search) > MAX_SEARCH_LENGTH:
        errors["search"] = [f"Ensure this field has no more than {MAX_SEARCH_LENGTH} characters."]
    search = search.strip()

    ordering = query_params.get("ordering", "")
    if not re.fullmatch(ORDERING_PATTERN, ordering):
        errors["ordering"] = [
            f"Unknown ordering {ordering!r}; use {', '.join(ORDERING_FIELDS)} separated by commas, "
            "each with - for descending."
        ]
    terms = tuple(ordering.split(",")) if ordering else ()
    if errors:
        raise ValidationError(errors)
    return TodoFilters(
        completed=None if completed == "" else completed == "true",
        search=search,
        ordering=(*terms, "id") if terms else DEFAULT_ORDERING,
    )


def _like_pattern(text: str) -> str:
    """A LIKE pattern matching text anywhere, its own wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def todo_filters_where(*, owner_id: str, filters: TodoFilters) -> tuple[str, list[Any]]:
    """The SQL condition (and its params) for the owner's todos matching the filters; PostgreSQL and SQLite."""
    clauses = ["owner_id = %s"]
    params: list[Any] = [owner_id]
    if filters.completed is not None:
        clauses.append("completed = %s")
        params.append(filters.completed)
    if filters.search:
        # Case-insensitive like Django's icontains on PostgreSQL (UPPER ... LIKE UPPER ...).
        clauses.append(r"(UPPER(title) LIKE UPPER(%s) ESCAPE '\' OR UPPER(description) LIKE UPPER(%s) ESCAPE '\')")
        params += [_like_pattern(filters.search)] * 2
    return " AND ".join(clauses), params


def todo_filters_order_by(filters: TodoFilters) -> str:
    """The ORDER BY list; todos without a due date come last in both directions."""
    columns = []
    for term in filters.ordering:
        name = term.removeprefix("-")
        column = "id" if name == "id" else ORDERING_COLUMNS[name]
        direction = "DESC" if term.startswith("-") else "ASC"
        columns.append(f"{column} {direction} NULLS LAST" if name == "due_date" else f"{column} {direction}")
    return ", ".join(columns)
