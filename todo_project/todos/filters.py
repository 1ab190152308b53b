"""The list's query parameters: `completed`, `search` and `ordering`, validated strictly (bad values are 400)."""

from dataclasses import dataclass
from typing import Any

from rest_framework import serializers

ORDERING_FIELDS = ("created_at", "updated_at", "due_date", "title", "order")
# Ends with the primary key so that equal values never swap places between two pages.
DEFAULT_ORDERING = ("order", "created_at", "id")


@dataclass(frozen=True)
class TodoFilters:
    """What the caller asked the list (or the bulk delete) for."""

    completed: bool | None = None
    search: str = ""
    ordering: tuple[str, ...] = DEFAULT_ORDERING


class TodoQuerySerializer(serializers.Serializer):
    """Validates the query string; DRF's CharField also refuses NUL bytes, which PostgreSQL cannot compare."""

    completed = serializers.ChoiceField(choices=["true", "false"], required=False)
    search = serializers.CharField(max_length=200, required=False, allow_blank=True)
    ordering = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate_ordering(self, value: str) -> tuple[str, ...]:
        terms = tuple(term.strip() for term in value.split(",") if term.strip())
        unknown = [term for term in terms if term.removeprefix("-") not in ORDERING_FIELDS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown ordering {', '.join(unknown)}; use {', '.join(ORDERING_FIELDS)}, with - for descending."
            )
        return (*terms, "id") if terms else DEFAULT_ORDERING


def todo_filters_from_query(query_params: Any) -> TodoFilters:
    """Parse the query string into TodoFilters, raising a DRF ValidationError (400) on a bad value."""
    serializer = TodoQuerySerializer(data=query_params)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    completed = data.get("completed")
    return TodoFilters(
        completed=None if completed is None else completed == "true",
        search=data.get("search", ""),
        ordering=data.get("ordering", DEFAULT_ORDERING),
    )
