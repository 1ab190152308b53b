"""Todo input and output: strict JSON types, no coercion, server-owned fields read-only."""

import re
from collections.abc import Mapping
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from todos.columns import list_row_values
from todos.models import Todo

# At least one character that is not ASCII white space; no NUL. The schema publishes the same pattern, which reads
# alike in Python and ECMA regular expressions (their \s differ, hence the explicit class).
NOT_BLANK = RegexValidator(r"^[^\u0000]*[^\u0000\t\n\v\f\r ][^\u0000]*$", "This field may not be blank.")
POSTGRES_INT_MIN, POSTGRES_INT_MAX = -(2**31), 2**31 - 1


class StrictCharField(serializers.CharField):
    """A string, never a number or a boolean turned into one (DRF also refuses NUL bytes and lone surrogates).

    Taken as sent, never trimmed, so the lengths the schema states are the lengths the server checks.
    """

    default_error_messages = {"invalid": "Must be a string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false only: "yes", 1 and "true" are refused."""

    default_error_messages = {"invalid": "Must be true or false."}

    def get_value(self, dictionary: Any) -> Any:
        # The browsable API's checkbox posts "true" or nothing; JSON bodies keep their strict types.
        value = super().get_value(dictionary)
        if html.is_html_input(dictionary) and isinstance(value, str):
            return value.lower() in ("true", "on")
        return value

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "5", 5.0 and true are refused."""

    default_error_messages = {"invalid": "Must be an integer."}

    def get_value(self, dictionary: Any) -> Any:
        # The browsable API's number input posts text; JSON bodies keep their strict types.
        value = super().get_value(dictionary)
        digits = value.removeprefix("-") if isinstance(value, str) else ""
        if html.is_html_input(dictionary) and digits.isascii() and digits.isdigit():
            return int(value)
        return value

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


# The one date format the API takes: ASCII digits only. Django's date parser also takes "2026-1-1", digits of other
# scripts ("٢٠٢٦-01-01"), and, through Python's date.fromisoformat, "20260101" and week dates ("2026-W01-1").
DATE_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class StrictDateField(serializers.DateField):
    """A date as a YYYY-MM-DD string, nothing else that reads as one."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not DATE_FORMAT.fullmatch(data):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(data)


class NoUnknownFieldsMixin:
    """A JSON body with a field the serializer does not declare is a 400 naming it, as the schema's
    `additionalProperties: false` says; declared read-only fields stay accepted and ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and not html.is_html_input(data):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.URI)
class TodoUrlField(serializers.Field):
    """The todo's absolute URL, built from a base computed once per request instead of a reverse() per row."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="id", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return f"{self.context['todos_base_url']}{value}/"


class TodoSerializer(NoUnknownFieldsMixin, serializers.ModelSerializer):
    """A todo as the API shows it, and the fields a client may write."""

    url = TodoUrlField()
    title = StrictCharField(min_length=1, max_length=200, validators=[NOT_BLANK])
    description = StrictCharField(max_length=10_000, allow_blank=True, trim_whitespace=False, required=False)
    completed = StrictBooleanField(required=False)
    due_date = StrictDateField(allow_null=True, required=False)
    order = StrictIntegerField(min_value=POSTGRES_INT_MIN, max_value=POSTGRES_INT_MAX, required=False)

    class Meta:
        model = Todo
        fields = ["id", "url", "title", "description", "completed", "due_date", "order", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


def todo_row_representation(row: dict[str, Any], *, base_url: str) -> dict[str, Any]:
    """A list row (a todo's LIST_FIELDS by name, todos.columns) as the API shows a todo, as TodoSerializer would.

    tests/test_list.py compares the two.
    """
    values = list_row_values(row)
    return {"id": values["id"], "url": f"{base_url}{values['id']}/", **values}
