"""The accounts app: users, logins, tokens and the outbox."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Starts the query timer on start, before any database connection opens."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from config import metrics  # noqa: F401 - times the queries of every connection opened from now on
