"""Shared fixtures: a test key pair published in a JWKS file, token minting, API clients per owner, a broker vhost."""

import base64
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from rest_framework.test import APIClient

from tests.events_support import rabbitmq_vhost
from todos.keyring import rfc7638_thumbprint
from todos.models import Todo

ISSUER = "todo-microservices-auth"
AUDIENCE = "todo-microservices"


@dataclass(frozen=True)
class SigningKey:
    """A test RSA key pair and its kid (the RFC 7638 thumbprint, as the auth service writes it)."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @property
    def jwk(self) -> dict[str, str]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}


def make_signing_key() -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SigningKey(private_key=private_key, kid=rfc7638_thumbprint(private_key.public_key()))


def jwks_document(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [key.jwk for key in keys]}


def write_jwks(path: Path, *keys: SigningKey) -> None:
    """Replace the JWKS file atomically, as the auth service does on rotation."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(jwks_document(*keys)))
    os.replace(temporary, path)


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return make_signing_key()


@pytest.fixture(scope="session")
def other_signing_key() -> SigningKey:
    return make_signing_key()


@pytest.fixture(autouse=True)
def jwks_file(tmp_path: Path, settings: Any, signing_key: SigningKey) -> Path:
    """Publish the test key the way the local stack does: a JWKS file named by JWT_JWKS_FILE."""
    path = tmp_path / "jwks.json"
    write_jwks(path, signing_key)
    settings.JWT_JWKS_FILE = str(path)
    return path


@pytest.fixture
def make_token(signing_key: SigningKey) -> Callable[..., str]:
    """Mint a token like the auth service's; keyword arguments override claims, `headers` the JOSE header."""

    def mint(
        sub: str = "alice",
        *,
        key: SigningKey | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        key = key or signing_key
        now = int(time.time())
        payload = {
            "sub": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "token_type": "access",
            **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        header = {name: value for name, value in {"kid": key.kid, **(headers or {})}.items() if value is not None}
        return jwt.encode(payload, key.private_key, algorithm="RS256", headers=header)

    return mint


@pytest.fixture
def client_for(make_token: Callable[..., str]) -> Callable[[str], APIClient]:
    """An API client that sends a valid access token for the given owner id."""

    def build(owner_id: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(owner_id)}")
        return client

    return build


@pytest.fixture
def alice(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("alice")


@pytest.fixture
def bob(client_for: Callable[[str], APIClient]) -> APIClient:
    return client_for("bob")


@pytest.fixture
def make_todo(db: None) -> Callable[..., Todo]:
    """Create a todo directly in the database (defaults: owner alice)."""

    def create(owner_id: str = "alice", **fields: Any) -> Todo:
        return Todo.objects.create(owner_id=owner_id, **{"title": "Buy milk", **fields})

    return create


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="session")
def broker_vhost() -> Iterator[str]:
    """The AMQP URL of a RabbitMQ virtual host of this test session's own."""
    with rabbitmq_vhost("test-todo") as url:
        yield url


@pytest.fixture
def broker(settings: Any, broker_vhost: str) -> str:
    """The session's virtual host, with exchange and queue names of this test's own; returns the AMQP URL."""
    suffix = uuid.uuid4().hex[:8]
    settings.AMQP_URL = broker_vhost
    settings.EVENTS_EXCHANGE = f"auth.events.{suffix}"
    settings.EVENTS_QUEUE = f"todo.account-events.{suffix}"
    settings.EVENTS_DEAD_LETTER_QUEUE = f"{settings.EVENTS_QUEUE}.dead-letter"
    return broker_vhost


@pytest.fixture
def browsable_api(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
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
