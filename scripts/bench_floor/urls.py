"""One endpoint: GET /floor/todos/, the framework's plain list of one owner's first rows."""

from typing import Any

from django.conf import settings
from django.urls import path
from rest_framework import generics, serializers

from bench_floor.models import Todo


class TodoSerializer(serializers.ModelSerializer):
    class Meta:
        model = Todo
        fields = ("id", "title", "description", "completed", "due_date", "order", "created_at", "updated_at")


class TodoListView(generics.ListAPIView):
    """The textbook ListAPIView: a queryset, a serializer, nothing else."""

    serializer_class = TodoSerializer

    def get_queryset(self) -> Any:
        rows = Todo.objects.filter(owner_id=settings.FLOOR_OWNER_ID).order_by("order", "created_at", "id")
        return rows[: settings.FLOOR_ROWS]


urlpatterns = [path("floor/todos/", TodoListView.as_view())]
