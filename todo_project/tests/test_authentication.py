"""Every refused token is a 401 JSON with a Bearer challenge; valid tokens are verified by kid from the keyring."""

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from rest_framework.test import APIClient

from tests.conftest import SigningKey, b64url, write_jwks
from todos.models import Todo

pytestmark = pytest.mark.django_db

LIST_URL = "/todos/"


def get_with(authorization: str) -> Any:
    return APIClient().get(LIST_URL, HTTP_AUTHORIZATION=authorization)


def assert_refused(response: Any) -> None:
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer ")


def unsigned_token(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}"


def payload_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_valid_access_token_lists_the_owners_todos(make_token: Callable[..., str], make_todo: Callable) -> None:
    make_todo(title="mine")
    make_todo(owner_id="bob", title="not mine")

    response = get_with(f"Bearer {make_token('alice')}")

    assert response.status_code == HTTPStatus.OK
    assert [todo["title"] for todo in response.json()["results"]] == ["mine"]


def test_a_request_without_a_token_is_401_with_a_bearer_challenge() -> None:
    response = APIClient().get(LIST_URL)

    assert_refused(response)
    assert response["WWW-Authenticate"] == 'Bearer realm="todos"'


def test_an_alg_none_token_is_refused(make_token: Callable[..., str], signing_key: SigningKey) -> None:
    claims = payload_of(make_token())
    token = unsigned_token({"alg": "none", "typ": "JWT", "kid": signing_key.kid}, claims) + "."

    response = get_with(f"Bearer {token}")

    assert_refused(response)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_hs256_token_signed_with_the_public_key_is_refused(
    make_token: Callable[..., str], signing_key: SigningKey
) -> None:
    public_pem = signing_key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = unsigned_token({"alg": "HS256", "typ": "JWT", "kid": signing_key.kid}, payload_of(make_token()))
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    assert_refused(get_with(f"Bearer {signing_input}.{b64url(signature)}"))


def test_a_token_with_a_changed_payload_is_refused(make_token: Callable[..., str], signing_key: SigningKey) -> None:
    header, _, signature = make_token("alice").split(".")
    forged_payload = b64url(json.dumps({**payload_of(make_token("alice")), "sub": "bob"}).encode())

    assert_refused(get_with(f"Bearer {header}.{forged_payload}.{signature}"))


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_a_valid_token_respelled_with_base64_padding_is_refused(make_token: Callable[..., str], segment: int) -> None:
    # JWS compact form has no padding (RFC 7515); PyJWT decodes it anyway, so one token had many spellings, each a
    # fresh RSA check past the verified-token cache. The gateway refuses them too.
    parts = make_token("alice").split(".")
    parts[segment] += "=="

    assert_refused(get_with(f"Bearer {'.'.join(parts)}"))


def test_an_expired_token_is_refused(make_token: Callable[..., str]) -> None:
    now = int(time.time())

    assert_refused(get_with(f"Bearer {make_token(iat=now - 600, exp=now - 1)}"))


def test_a_token_accepted_before_is_refused_once_it_expires(make_token: Callable[..., str]) -> None:
    token = make_token(exp=int(time.time()) + 1)
    assert get_with(f"Bearer {token}").status_code == HTTPStatus.OK

    time.sleep(max(0.0, payload_of(token)["exp"] - time.time()) + 0.05)

    assert_refused(get_with(f"Bearer {token}"))


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "someone-else"},
        {"aud": "another-service"},
        {"iss": None},
        {"aud": None},
        {"exp": None},
        {"sub": None},
        {"sub": ""},
        {"sub": "x" * 65},
        {"token_type": "refresh"},
        {"token_type": None},
        {"exp": 1e30},
        {"exp": 10**30},
        {"exp": 253_402_300_800},
        {"nbf": 1e30},
    ],
    ids=[
        "wrong-iss",
        "wrong-aud",
        "no-iss",
        "no-aud",
        "no-exp",
        "no-sub",
        "empty-sub",
        "sub-too-long",
        "refresh-token",
        "no-token-type",
        "exp-beyond-any-datetime",
        "exp-a-huge-integer",
        "exp-past-year-9999",
        "nbf-beyond-any-datetime",
    ],
)
def test_a_token_with_wrong_or_missing_claims_is_refused(make_token: Callable[..., str], claims: dict) -> None:
    assert_refused(get_with(f"Bearer {make_token(**claims)}"))


def test_a_token_signed_by_an_unknown_key_is_refused(
    make_token: Callable[..., str], other_signing_key: SigningKey
) -> None:
    assert_refused(get_with(f"Bearer {make_token(key=other_signing_key)}"))


def test_a_token_whose_kid_names_a_known_key_but_is_signed_by_another_is_refused(
    make_token: Callable[..., str], signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    token = make_token(key=other_signing_key, headers={"kid": signing_key.kid})

    assert_refused(get_with(f"Bearer {token}"))


def test_a_token_without_a_kid_is_refused(make_token: Callable[..., str]) -> None:
    token = make_token(headers={"kid": None})

    assert_refused(get_with(f"Bearer {token}"))


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWxpY2U6c2VjcmV0",
        "Token abc",
        "bearer",
        "Bearer",
        "Bearer a b",
        "Bearer garbage",
        "Bearer a.b.c",
        "\u00e9",
    ],
)
def test_a_non_bearer_scheme_or_garbage_is_refused(authorization: str) -> None:
    assert_refused(get_with(authorization))


def test_a_refused_token_changes_nothing(make_token: Callable[..., str], make_todo: Callable) -> None:
    todo = make_todo()

    response = APIClient().delete(f"/todos/{todo.id}/", HTTP_AUTHORIZATION=f"Bearer {make_token(token_type='refresh')}")

    assert_refused(response)
    assert Todo.objects.filter(id=todo.id).exists()


def test_a_key_added_to_the_jwks_file_is_accepted_without_a_restart(
    make_token: Callable[..., str], jwks_file: Path, signing_key: SigningKey, other_signing_key: SigningKey
) -> None:
    rotated_token = make_token(key=other_signing_key)
    assert_refused(get_with(f"Bearer {rotated_token}"))

    write_jwks(jwks_file, signing_key, other_signing_key)

    assert get_with(f"Bearer {rotated_token}").status_code == HTTPStatus.OK
    assert get_with(f"Bearer {make_token()}").status_code == HTTPStatus.OK


def test_keys_from_pem_files_verify_tokens_by_their_thumbprint_kid(
    make_token: Callable[..., str], settings: Any, tmp_path: Path, other_signing_key: SigningKey
) -> None:
    pem = tmp_path / "public.pem"
    pem.write_bytes(
        other_signing_key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings.JWT_JWKS_FILE = ""
    settings.JWT_PUBLIC_KEY_FILES = [str(pem)]

    assert get_with(f"Bearer {make_token(key=other_signing_key)}").status_code == HTTPStatus.OK
    assert_refused(get_with(f"Bearer {make_token()}"))
