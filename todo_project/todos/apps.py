"""The todos app: the caller's todos."""

from django.apps import AppConfig


class TodosConfig(AppConfig):
    """Registers the key-source system checks, the OpenAPI authentication extension and the query timer on start."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "todos"

    def ready(self) -> None:
        from config import metrics  # noqa: F401 - times the queries of every connection opened from now on
        from todos import checks, schema  # noqa: F401 - registers the checks and the OpenAPI extension
