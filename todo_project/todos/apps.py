"""The todos app: the caller's todos."""

from django.apps import AppConfig


class TodosConfig(AppConfig):
    """Registers the key-source system checks and the OpenAPI authentication extension on start."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "todos"

    def ready(self) -> None:
        from todos import checks, schema  # noqa: F401 - registers the checks and the OpenAPI extension
