"""The list's column contract: the one declaration of the fields a list row carries.

The list skips model instances and DRF's per-field machinery (it is the hot path), so its SQL and its row rendering
are derived from this declaration and the model's field types: the SELECT lists (SQLite's, and PostgreSQL's, which
hands back the API's text) and the conversion of each value, read by name. Adding a field to the list means adding
it to the model, its migration, TodoSerializer and LIST_FIELDS; tests/test_list.py holds the serializer and this
declaration together.
"""

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models

from todos.models import Todo

# The todo's fields a list item shows, in the serializer's order (the item's `url` is built from `id`).
LIST_FIELDS = ("id", "title", "description", "completed", "due_date", "order", "created_at", "updated_at")

API_DATETIME_FORMAT = settings.REST_FRAMEWORK["DATETIME_FORMAT"]
# PostgreSQL's to_char pattern for API_DATETIME_FORMAT (UTC, microseconds, a Z).
POSTGRESQL_DATETIME_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _uuid_text(value: Any) -> str:
    if isinstance(value, str) and len(value) == 36:
        return value
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))


def _date_text(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _datetime_text(value: Any) -> str:
    if isinstance(value, str) and value.endswith("Z"):
        return value
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC).strftime(API_DATETIME_FORMAT)


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class ListColumn:
    """One field of a list row: how each database selects it and how its value becomes the API's."""

    name: str
    sqlite: str
    postgresql: str
    to_api: Callable[[Any], Any]


def _list_column(name: str) -> ListColumn:
    field = Todo._meta.get_field(name)
    column = f'"{field.column}"'
    # On PostgreSQL ids, dates and timestamps come back as the API's text (no parsing into Python objects only to
    # print them again); SQLite hands back text of its own, converted by to_api. The PostgreSQL aliases differ from
    # the column names so that ORDER BY still sorts (and uses the index) by the real columns.
    if isinstance(field, models.UUIDField):
        return ListColumn(name, column, f"{column}::text AS {name}_text", _uuid_text)
    if isinstance(field, models.DateTimeField):
        expression = f"to_char({column} AT TIME ZONE 'UTC', '{POSTGRESQL_DATETIME_FORMAT}') AS {name}_text"
        return ListColumn(name, column, expression, _datetime_text)
    if isinstance(field, models.DateField):
        return ListColumn(name, column, f"{column}::text AS {name}_text", _date_text)
    if isinstance(field, models.BooleanField):
        return ListColumn(name, column, column, bool)
    return ListColumn(name, column, column, _as_is)


LIST_COLUMNS = tuple(_list_column(name) for name in LIST_FIELDS)
SQLITE_SELECT = ", ".join(column.sqlite for column in LIST_COLUMNS)
POSTGRESQL_SELECT = ", ".join(column.postgresql for column in LIST_COLUMNS)
# The name a result column comes back under (its alias on PostgreSQL, its own on SQLite) -> the field's name.
FIELD_BY_RESULT_NAME = {
    **{column.name: column.name for column in LIST_COLUMNS},
    **{f"{column.name}_text": column.name for column in LIST_COLUMNS},
}


# Only the columns whose value needs converting: the others are taken as the database hands them back.
_CONVERSIONS = tuple((column.name, column.to_api) for column in LIST_COLUMNS if column.to_api is not _as_is)


def list_row_values(row: dict[str, Any]) -> dict[str, Any]:
    """A row read by field name, each value as the API shows it."""
    values = {name: row[name] for name in LIST_FIELDS}
    for name, to_api in _CONVERSIONS:
        values[name] = to_api(values[name])
    return values
