"""The todo API's routes: each answers with and without its trailing slash, without a redirect (config.routes)."""

from config.routes import with_and_without_slash
from todos import views

app_name = "todos"
urlpatterns = [
    *with_and_without_slash("todos/", views.TodoListView.as_view(), "list"),
    *with_and_without_slash("todos/health/", views.HealthView.as_view(), "health"),
    *with_and_without_slash("todos/<anycase_uuid:todo_id>/", views.TodoDetailView.as_view(), "detail"),
]
