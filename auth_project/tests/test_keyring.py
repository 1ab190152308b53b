"""Signing keys: thumbprints, rotation without downtime, pruning, and reloads without a restart."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from io import StringIO
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management import call_command

from accounts import services
from accounts.keyring import rfc7638_thumbprint
from tests.conftest import PASSWORD
from tests.test_tokens import verify_with_jwks

pytestmark = pytest.mark.django_db

SERVICE_DIR = Path(__file__).resolve().parent.parent


def signing_keys(*args: str) -> str:
    out = StringIO()
    call_command("signing_keys", *args, stdout=out)
    return out.getvalue()


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def test_kid_is_the_rfc_7638_thumbprint():
    # The example key of RFC 7638, section 3.1, and the thumbprint the RFC gives for it.
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF"
        "V4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9"
        "c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1"
        "jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    numbers = rsa.RSAPublicNumbers(e=65537, n=int.from_bytes(jwt.utils.base64url_decode(n), "big"))

    assert rfc7638_thumbprint(numbers.public_key()) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_ensure_is_idempotent(fresh_keyring):
    before = json.loads((fresh_keyring / "keyring.json").read_text())

    assert "already present" in signing_keys("ensure")
    assert json.loads((fresh_keyring / "keyring.json").read_text()) == before


def test_the_keyring_folder_holds_the_documented_files(fresh_keyring):
    keyring = json.loads((fresh_keyring / "keyring.json").read_text())
    kid = keyring["active_kid"]

    assert keyring["keys"][0]["kid"] == kid
    assert keyring["keys"][0]["retired_at"] is None
    assert (fresh_keyring / "private" / f"{kid}.pem").stat().st_mode & 0o777 == 0o600
    assert (fresh_keyring / "public" / f"{kid}.pem").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert [key["kid"] for key in json.loads((fresh_keyring / "jwks.json").read_text())["keys"]] == [kid]


def test_jwks_publishes_public_parts_only_with_a_cache_lifetime(api_client, fresh_keyring):
    response = api_client.get("/auth/.well-known/jwks.json")

    assert response.status_code == HTTPStatus.OK
    assert "max-age=" in response["Cache-Control"]
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "kid", "use", "alg", "n", "e"}
    assert (key["kty"], key["use"], key["alg"]) == ("RSA", "sig", "RS256")
    assert api_client.get("/auth/.well-known/jwks.json/").status_code == HTTPStatus.OK


def test_a_token_signed_before_a_rotation_still_verifies_after_it(api_client, user, fresh_keyring):
    before = services.token_pair_for_user(user=user)

    signing_keys("rotate")
    after = services.token_pair_for_user(user=user)
    jwks = api_client.get("/auth/.well-known/jwks.json").json()

    assert kid_of(after["access"]) != kid_of(before["access"])
    assert kid_of(after["access"]) == jwks["keys"][0]["kid"]
    assert {key["kid"] for key in jwks["keys"]} == {kid_of(before["access"]), kid_of(after["access"])}
    assert verify_with_jwks(before["access"], jwks)["sub"] == str(user.pk)
    assert verify_with_jwks(after["access"], jwks)["sub"] == str(user.pk)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {before['access']}")
    assert api_client.get("/auth/me/").status_code == HTTPStatus.OK


def test_a_refresh_token_signed_by_a_retired_key_still_refreshes_into_the_new_key(api_client, user, fresh_keyring):
    before = services.token_pair_for_user(user=user)
    signing_keys("rotate")

    response = api_client.post("/auth/refresh/", {"refresh": before["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert kid_of(response.json()["access"]) != kid_of(before["access"])


def test_rotation_drops_the_retired_private_key(fresh_keyring):
    old_kid = json.loads((fresh_keyring / "keyring.json").read_text())["active_kid"]

    signing_keys("rotate")

    assert not (fresh_keyring / "private" / f"{old_kid}.pem").exists()
    assert (fresh_keyring / "public" / f"{old_kid}.pem").exists()
    assert "retired" in signing_keys("list")


def test_prune_keeps_recently_retired_keys_and_drops_old_ones(api_client, user, fresh_keyring):
    old_pair = services.token_pair_for_user(user=user)
    signing_keys("rotate")
    assert "No key retired" in signing_keys("prune")
    keyring_file = fresh_keyring / "keyring.json"
    keyring = json.loads(keyring_file.read_text())
    long_ago = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    keyring["keys"][0]["retired_at"] = long_ago
    keyring_file.write_text(json.dumps(keyring))

    assert "Removed 1" in signing_keys("prune")

    jwks = api_client.get("/auth/.well-known/jwks.json").json()
    assert [key["kid"] for key in jwks["keys"]] == [keyring["active_kid"]]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {old_pair['access']}")
    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


def test_the_service_notices_a_rotation_made_by_another_process(api_client, user, fresh_keyring, settings):
    settings.JWT_KEYRING_CHECK_INTERVAL = 1.0
    before = services.token_pair_for_user(user=user)

    subprocess.run(
        [sys.executable, "manage.py", "signing_keys", "rotate"],
        cwd=SERVICE_DIR,
        env={**os.environ, "JWT_KEYS_DIR": str(fresh_keyring), "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        check=True,
        capture_output=True,
    )
    time.sleep(1.1)
    after = services.token_pair_for_user(user=user)

    new_kid = json.loads((fresh_keyring / "keyring.json").read_text())["active_kid"]
    assert kid_of(after["access"]) == new_kid != kid_of(before["access"])


def test_login_without_a_keyring_is_a_json_503(api_client, user, settings, tmp_path):
    settings.JWT_KEYS_DIR = tmp_path / "empty"

    login = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")
    jwks = api_client.get("/auth/.well-known/jwks.json")

    for response in (login, jwks):
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response.json() == {"detail": "Signing keys are unavailable."}


def test_settings_never_sign_with_the_secret_key():
    assert settings.SIMPLE_JWT["SIGNING_KEY"] is None
    assert settings.SIMPLE_JWT["ALGORITHM"] == "RS256"
