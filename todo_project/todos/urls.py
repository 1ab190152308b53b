"""The todo API's routes: each answers with and without its trailing slash, without a redirect."""

from django.urls import re_path

from todos import apis

UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

app_name = "todos"
urlpatterns = [
    re_path(r"^todos/?$", apis.TodoListApi.as_view(), name="list"),
    re_path(r"^todos/health/?$", apis.HealthApi.as_view(), name="health"),
    re_path(rf"^todos/(?P<todo_id>{UUID_PATTERN})/?$", apis.TodoDetailApi.as_view(), name="detail"),
]
