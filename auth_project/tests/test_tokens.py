"""Token contents, refresh rotation, reuse, logout and password change."""

import base64
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http import HTTPStatus

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection, connections, transaction
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts import services
from accounts.tokens import RefreshToken
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def verify_with_jwks(token: str, jwks: dict) -> dict:
    """Verify a token as the todo service would: the public key named by its kid, from the JWKS."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in jwks["keys"] if key["kid"] == kid)
    public_key = jwt.PyJWK(jwk).key
    return jwt.decode(
        token, public_key, algorithms=["RS256"], audience="todo-microservices", issuer="todo-microservices-auth"
    )


def test_tokens_carry_the_contract_claims_and_a_kid_from_the_jwks(api_client, user, token_pair):
    jwks = api_client.get("/auth/.well-known/jwks.json").json()

    access = verify_with_jwks(token_pair["access"], jwks)
    refresh = verify_with_jwks(token_pair["refresh"], jwks)

    assert jwt.get_unverified_header(token_pair["access"])["alg"] == "RS256"
    assert access["sub"] == refresh["sub"] == str(user.pk)
    assert access["token_type"] == "access"
    assert refresh["token_type"] == "refresh"
    assert access["exp"] - access["iat"] == 5 * 60
    assert refresh["exp"] - refresh["iat"] == 24 * 60 * 60
    assert access["jti"] != refresh["jti"]
    assert "user_id" not in access


def test_me_returns_the_caller(auth_client, user):
    response = auth_client.get("/auth/me/")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["id"] == user.pk
    assert body["username"] == "alice"
    assert body["email"] == "alice@example.com"
    assert body["date_joined"]
    assert "password" not in body


def test_me_answers_without_a_trailing_slash(auth_client):
    assert auth_client.get("/auth/me").status_code == HTTPStatus.OK


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer not-a-jwt", "Basic YWxpY2U6cGFzcw=="])
def test_me_without_a_valid_token_is_401_json(api_client, header):
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get("/auth/me/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "detail" in response.json()


def test_a_refresh_token_is_not_an_access_token(api_client, token_pair):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair['refresh']}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


def test_a_token_for_another_audience_is_refused(api_client, token_pair, session_keyring):
    claims = jwt.decode(token_pair["access"], options={"verify_signature": False})
    private_key = next((session_keyring / "private").glob("*.pem")).read_bytes()
    kid = jwt.get_unverified_header(token_pair["access"])["kid"]
    forged = jwt.encode({**claims, "aud": "someone-else"}, private_key, algorithm="RS256", headers={"kid": kid})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    "claims",
    [{"exp": 1e30}, {"exp": 10**30}, {"iat": 1e30}, {"sub": "admin"}, {"sub": "-1"}, {"sub": "1" * 30}],
    ids=["exp-beyond-any-datetime", "exp-huge", "iat-beyond-any-datetime", "sub-a-name", "sub-negative", "sub-huge"],
)
def test_a_token_signed_with_our_own_key_but_out_of_range_is_401_not_500(
    api_client, token_pair, session_keyring, claims
):
    # Only a token signed with the service's own key gets this far: a bug or a leaked key, never a 500.
    valid = jwt.decode(token_pair["access"], options={"verify_signature": False})
    private_key = next((session_keyring / "private").glob("*.pem")).read_bytes()
    kid = jwt.get_unverified_header(token_pair["access"])["kid"]
    forged = jwt.encode({**valid, **claims}, private_key, algorithm="RS256", headers={"kid": kid})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("segment", [0, 1, 2], ids=["header", "payload", "signature"])
def test_a_valid_token_respelled_with_base64_padding_is_refused(api_client, token_pair, segment):
    # JWS compact form has no padding (RFC 7515); PyJWT decodes it anyway, so one token had many spellings. The
    # gateway refuses them too.
    parts = token_pair["access"].split(".")
    parts[segment] += "=="
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {'.'.join(parts)}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED
    assert api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"] + "=="}, format="json").status_code == (
        HTTPStatus.UNAUTHORIZED
    )


def test_an_hs256_token_signed_with_the_public_key_is_refused(api_client, token_pair, session_keyring):
    claims = jwt.decode(token_pair["access"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(token_pair["access"])["kid"]
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    public_pem = (session_keyring / "public" / f"{kid}.pem").read_bytes()

    # PyJWT refuses to HMAC with a PEM key, so build the classic algorithm-confusion token by hand.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {signing_input}.{b64(signature)}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


def test_a_token_naming_an_unknown_kid_is_refused(api_client, token_pair):
    claims = jwt.decode(token_pair["access"], options={"verify_signature": False})
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "made-up"})
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert api_client.get("/auth/me/").status_code == HTTPStatus.UNAUTHORIZED


def test_refresh_rotates_the_pair_within_its_session(api_client, token_pair):
    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != token_pair["refresh"]
    old, new = (
        jwt.decode(token, options={"verify_signature": False}) for token in (token_pair["refresh"], body["refresh"])
    )
    assert new["sid"] == old["sid"]
    assert api_client.post("/auth/refresh", {"refresh": body["refresh"]}, format="json").status_code == HTTPStatus.OK


def test_a_refresh_signs_each_new_token_once_and_never_the_used_one_again(api_client, token_pair, monkeypatch):
    signed: list[str] = []
    real_encode = jwt.encode
    monkeypatch.setattr(jwt, "encode", lambda payload, *args, **kwargs: signed.append(payload["token_type"])
                        or real_encode(payload, *args, **kwargs))  # fmt: skip

    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert sorted(signed) == ["access", "refresh"]


def test_a_reused_refresh_token_is_401(api_client, token_pair):
    api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "detail" in response.json()


def test_refreshing_with_an_access_token_is_401(api_client, token_pair):
    response = api_client.post("/auth/refresh/", {"refresh": token_pair["access"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_an_expired_refresh_token_is_401(api_client, user):
    refresh = RefreshToken.for_user(user)
    refresh.set_exp(from_time=refresh.current_time - timedelta(days=2))

    response = api_client.post("/auth/refresh/", {"refresh": str(refresh)}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_a_refresh_token_of_a_deactivated_user_is_401(api_client, user, token_pair):
    user.is_active = False
    user.save()

    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_logout_blacklists_the_refresh_token(auth_client, api_client, token_pair):
    response = auth_client.post("/auth/logout/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT
    refresh = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")
    assert refresh.status_code == HTTPStatus.UNAUTHORIZED


def test_logout_answers_without_a_trailing_slash(auth_client, token_pair):
    response = auth_client.post("/auth/logout", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_logout_needs_an_access_token(api_client, token_pair):
    response = api_client.post("/auth/logout/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_logout_cannot_revoke_another_users_token(auth_client, django_user_model):
    other = django_user_model.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    others_pair = services.token_pair_for_user(user=other)

    response = auth_client.post("/auth/logout/", {"refresh": others_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert (
        APIClient().post("/auth/refresh/", {"refresh": others_pair["refresh"]}, format="json").status_code
        == HTTPStatus.OK
    )


def test_password_change_signs_out_every_session(auth_client, api_client, user, token_pair):
    second_session = services.token_pair_for_user(user=user)

    response = auth_client.post(
        "/auth/password/", {"old_password": PASSWORD, "new_password": "a brand new passphrase"}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    for pair in (token_pair, second_session):
        refresh = api_client.post("/auth/refresh/", {"refresh": pair["refresh"]}, format="json")
        assert refresh.status_code == HTTPStatus.UNAUTHORIZED
    login = api_client.post("/auth/login/", {"username": "alice", "password": "a brand new passphrase"}, format="json")
    assert login.status_code == HTTPStatus.OK


def test_password_change_answers_without_a_trailing_slash(auth_client):
    response = auth_client.post(
        "/auth/password", {"old_password": PASSWORD, "new_password": "a brand new passphrase"}, format="json"
    )

    assert response.status_code == HTTPStatus.NO_CONTENT


def test_password_change_with_a_wrong_old_password_is_400(auth_client, user):
    response = auth_client.post(
        "/auth/password/", {"old_password": "not my password", "new_password": "a brand new passphrase"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "old_password" in response.json()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_to_a_weak_password_is_400(auth_client, user, token_pair, api_client):
    response = auth_client.post("/auth/password/", {"old_password": PASSWORD, "new_password": "short"}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "new_password" in response.json()
    assert (
        api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json").status_code
        == HTTPStatus.OK
    )


def test_password_change_needs_an_access_token(api_client):
    response = api_client.post(
        "/auth/password/", {"old_password": PASSWORD, "new_password": "a brand new passphrase"}, format="json"
    )

    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_password_change_waits_for_a_refresh_in_flight_and_blacklists_its_new_token(user):
    issued: dict[str, str] = {}
    locked, release = threading.Event(), threading.Event()

    def refresh_in_flight() -> None:
        # What token_refresh does: the shared lock, then a new outstanding token, committed later.
        with transaction.atomic():
            services._user_row_lock(user=user, exclusive=False)
            issued["refresh"] = str(RefreshToken.for_user(user))
            locked.set()
            release.wait(timeout=10)
        connections.close_all()

    def change_password() -> None:
        services.user_password_change(
            user=user, old_password=PASSWORD, new_password="a brand new passphrase 7", client_ip="127.0.0.1"
        )
        connections.close_all()

    refresher = threading.Thread(target=refresh_in_flight)
    refresher.start()
    assert locked.wait(timeout=10)
    changer = threading.Thread(target=change_password)
    changer.start()
    changer.join(timeout=0.5)
    assert changer.is_alive(), "the password change waits for the refresh in flight"

    release.set()
    refresher.join(timeout=10)
    changer.join(timeout=10)

    assert not changer.is_alive()
    assert BlacklistedToken.objects.filter(token__token=issued["refresh"]).exists()
