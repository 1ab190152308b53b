"""The todo API's routes: each answers with and without its trailing slash, without a redirect (config.routes)."""

from config.routes import with_and_without_slash
from todos import apis

app_name = "todos"
urlpatterns = [
    *with_and_without_slash("todos/", apis.TodoListApi.as_view(), "list"),
    *with_and_without_slash("todos/health/", apis.HealthApi.as_view(), "health"),
    *with_and_without_slash("todos/<anycase_uuid:todo_id>/", apis.TodoDetailApi.as_view(), "detail"),
]
