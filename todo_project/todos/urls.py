"""The todo API's routes: each answers with and without its trailing slash, without a redirect."""

from django.urls import re_path

from todos import views

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

app_name = "todos"
urlpatterns = [
    re_path(r"^todos/?$", views.TodoListView.as_view(), name="list"),
    re_path(r"^todos/health/?$", views.HealthView.as_view(), name="health"),
    re_path(rf"^todos/(?P<todo_id>{UUID_PATTERN})/?$", views.TodoDetailView.as_view(), name="detail"),
]
