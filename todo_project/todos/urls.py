"""The todo API's routes: each answers with and without its trailing slash, without a redirect (config.routes)."""

from django.urls import converters, register_converter

from config.routes import with_and_without_slash
from todos import views


class AnyCaseUUIDConverter(converters.UUIDConverter):
    """A UUID in either case (RFC 9562 says input may be upper case); Django's `uuid` takes lower case only."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


register_converter(AnyCaseUUIDConverter, "anycase_uuid")

app_name = "todos"
urlpatterns = [
    *with_and_without_slash("todos/", views.TodoListView.as_view(), "list"),
    *with_and_without_slash("todos/health/", views.HealthView.as_view(), "health"),
    *with_and_without_slash("todos/<anycase_uuid:todo_id>/", views.TodoDetailView.as_view(), "detail"),
]
