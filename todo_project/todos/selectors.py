"""Reads of todos, always scoped to one owner."""

from uuid import UUID

from django.db.models import Q, QuerySet

from todos.filters import TodoFilters
from todos.models import Todo


def todo_list(*, owner_id: str, filters: TodoFilters) -> QuerySet[Todo]:
    """The owner's todos matching the filters, in the requested order (served by the owner index)."""
    queryset = Todo.objects.filter(owner_id=owner_id)
    if filters.completed is not None:
        queryset = queryset.filter(completed=filters.completed)
    if filters.search:
        queryset = queryset.filter(Q(title__icontains=filters.search) | Q(description__icontains=filters.search))
    return queryset.order_by(*filters.ordering)


def todo_get(*, owner_id: str, todo_id: UUID) -> Todo | None:
    """The owner's todo with this id; None for an unknown id and for another owner's todo alike."""
    return Todo.objects.filter(owner_id=owner_id, id=todo_id).first()
