"""Shared fixtures: a keyring per test session, users, API clients holding their tokens, a RabbitMQ virtual host."""

import uuid
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from tests.events_support import rabbitmq_vhost

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def session_keyring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test signs with a throwaway keyring, never the developer's var/keys."""
    directory = tmp_path_factory.mktemp("keys")
    settings.JWT_KEYS_DIR = directory
    call_command("signing_keys", "ensure", stdout=StringIO())
    return directory


@pytest.fixture
def fresh_keyring(settings, tmp_path: Path) -> Path:
    """A keyring of this test's own, for tests that rotate or prune keys."""
    settings.JWT_KEYS_DIR = tmp_path / "keys"
    call_command("signing_keys", "ensure", stdout=StringIO())
    return settings.JWT_KEYS_DIR


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db) -> User:
    return User.objects.create_user(username="alice", email="alice@example.com", password=PASSWORD)


@pytest.fixture
def token_pair(user: User) -> dict[str, str]:
    return services.token_pair_for_user(user=user)


@pytest.fixture
def auth_client(token_pair: dict[str, str]) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair['access']}")
    return client


@pytest.fixture(scope="session")
def broker_vhost() -> Iterator[str]:
    """The AMQP URL of a RabbitMQ virtual host of this test session's own."""
    with rabbitmq_vhost("test-auth") as url:
        yield url


@pytest.fixture
def broker(settings, broker_vhost: str) -> str:
    """The session's virtual host, with an exchange name of this test's own; returns the AMQP URL."""
    settings.AMQP_URL = broker_vhost
    settings.EVENTS_EXCHANGE = f"auth.events.{uuid.uuid4().hex[:8]}"
    return broker_vhost


@pytest.fixture
def browsable_api(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development's REST framework setup (config.settings.local): the browsable API and the browser cookie.

    DRF reads its classes into APIView when the module is imported, so they are patched there as well.
    """
    from django.utils.module_loading import import_string
    from rest_framework.views import APIView

    from config.settings import local

    settings.BROWSABLE_API = True
    for setting, attribute in (
        ("DEFAULT_RENDERER_CLASSES", "renderer_classes"),
        ("DEFAULT_PARSER_CLASSES", "parser_classes"),
        ("DEFAULT_AUTHENTICATION_CLASSES", "authentication_classes"),
    ):
        monkeypatch.setattr(APIView, attribute, [import_string(name) for name in local.REST_FRAMEWORK[setting]])
