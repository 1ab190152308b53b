from http import HTTPStatus

import jwt
import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting how often a password is hashed."""

    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


def test_login_returns_an_access_and_a_refresh_token(api_client, user):
    response = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert jwt.decode(body["access"], options={"verify_signature": False})["sub"] == str(user.pk)


def test_login_answers_without_a_trailing_slash(api_client, user):
    response = api_client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK


def test_wrong_password_and_unknown_user_get_the_same_401(api_client, user):
    wrong_password = api_client.post("/auth/login/", {"username": "alice", "password": "nope" * 4}, format="json")
    unknown_user = api_client.post("/auth/login/", {"username": "mallory", "password": "nope" * 4}, format="json")

    assert wrong_password.status_code == unknown_user.status_code == HTTPStatus.UNAUTHORIZED
    assert wrong_password.json() == unknown_user.json() == {"detail": "Invalid username or password."}


def test_unknown_user_costs_a_password_hash_like_a_wrong_password(api_client, user, settings):
    settings.PASSWORD_HASHERS = ["tests.test_login.CountingHasher"]
    user.set_password(PASSWORD)
    user.save()

    CountingHasher.calls = 0
    api_client.post("/auth/login/", {"username": "alice", "password": "wrong password!"}, format="json")
    wrong_password_hashes = CountingHasher.calls
    CountingHasher.calls = 0
    api_client.post("/auth/login/", {"username": "mallory", "password": "wrong password!"}, format="json")

    assert wrong_password_hashes == CountingHasher.calls == 1


def test_inactive_user_cannot_log_in(api_client, user):
    user.is_active = False
    user.save()

    response = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Invalid username or password."}


def test_a_stale_authorization_header_does_not_block_login(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")

    response = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK


def test_passwords_are_hashed_with_argon2id_at_owasp_minimum_cost(user, settings):
    from config.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    user.set_password(PASSWORD)

    assert user.password.startswith("argon2$argon2id$v=19$m=12288,t=3,p=1$")
    assert user.check_password(PASSWORD)
