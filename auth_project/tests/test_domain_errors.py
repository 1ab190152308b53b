"""The services' domain errors reach the client as the API's usual statuses, JSON bodies and headers."""

import ast
import re
import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.exceptions import (
    AccountError,
    InvalidCredentials,
    InvalidFields,
    LoginThrottled,
    SessionNotFound,
    TokenOfAnotherUser,
    TokenRejected,
)
from accounts.models import User
from config.errors import DOMAIN_ERRORS, api_exception_handler
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

APP = Path(__file__).resolve().parent.parent / "accounts"
# The modules below the views: they raise domain errors and take plain values, never HTTP ones.
BELOW_THE_VIEWS = ("services", "selectors", "events", "outbox", "throttling", "keyring", "tokens", "exceptions")


def login(client: APIClient, password: str) -> object:
    return client.post("/auth/login/", {"username": "alice", "password": password}, format="json")


def test_a_wrong_password_is_401_without_a_bearer_challenge(api_client, user):
    response = login(api_client, "not the password")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Invalid username or password."}
    assert "WWW-Authenticate" not in response


def test_a_spent_login_budget_is_429_saying_how_long_to_wait_in_the_detail_and_retry_after(api_client, user, settings):
    settings.LOGIN_RATE_PER_USERNAME_AND_IP = "1/m"
    login(api_client, "not the password")

    response = login(api_client, PASSWORD)

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    match = re.fullmatch(r"Too many failed login attempts\. Try again in (\d+) seconds?\.", response.json()["detail"])
    assert match is not None, response.json()
    assert response["Retry-After"] == match.group(1)
    assert list(response.json()) == ["detail"]


def test_a_malformed_refresh_token_is_401_with_simplejwts_reason(api_client, db):
    response = api_client.post("/auth/refresh/", {"refresh": "not.a.token"}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Token is invalid"}
    assert "WWW-Authenticate" not in response


def test_a_reused_refresh_token_is_401_saying_the_session_ended(api_client, token_pair):
    assert api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json").status_code == 200

    response = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": services.REUSE_DETECTED}


def test_logging_out_another_users_refresh_token_is_403(auth_client, db):
    bob = User.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)

    response = auth_client.post(
        "/auth/logout/", {"refresh": services.token_pair_for_user(user=bob)["refresh"]}, format="json"
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json() == {"detail": "This refresh token was issued to another user."}


def test_ending_an_unknown_session_is_404(auth_client):
    response = auth_client.delete(f"/auth/sessions/{uuid.uuid4()}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "No such session."}


def test_a_taken_username_and_email_are_400_field_errors(api_client, user):
    body = {"username": "ALICE", "email": "ALICE@example.com", "password": "a long enough passphrase"}

    response = api_client.post("/auth/register/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {
        "username": ["A user with that username already exists."],
        "email": ["A user with that email address already exists."],
    }


def test_a_wrong_old_password_is_a_400_field_error(auth_client, user):
    body = {"old_password": "not the password", "new_password": "a brand new passphrase"}

    response = auth_client.post("/auth/password/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"old_password": ["The old password is wrong."]}


def test_a_weak_new_password_is_a_400_field_error_with_the_validators_messages(auth_client, user):
    body = {"old_password": PASSWORD, "new_password": "123456789012"}

    response = auth_client.post("/auth/password/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()) == ["new_password"]
    assert "This password is entirely numeric." in response.json()["new_password"]
    assert all(isinstance(message, str) for message in response.json()["new_password"])


@pytest.mark.parametrize(
    ("error", "status", "body", "headers"),
    [
        (InvalidCredentials(), HTTPStatus.UNAUTHORIZED, {"detail": "Invalid username or password."}, {}),
        (TokenRejected(), HTTPStatus.UNAUTHORIZED, {"detail": "Token is invalid or expired."}, {}),
        (TokenRejected("Token is blacklisted"), HTTPStatus.UNAUTHORIZED, {"detail": "Token is blacklisted"}, {}),
        (TokenOfAnotherUser(), HTTPStatus.FORBIDDEN, {"detail": "This refresh token was issued to another user."}, {}),
        (SessionNotFound(), HTTPStatus.NOT_FOUND, {"detail": "No such session."}, {}),
        (
            LoginThrottled(retry_after=1),
            HTTPStatus.TOO_MANY_REQUESTS,
            {"detail": "Too many failed login attempts. Try again in 1 second."},
            {"Retry-After": "1"},
        ),
        (
            LoginThrottled(retry_after=42),
            HTTPStatus.TOO_MANY_REQUESTS,
            {"detail": "Too many failed login attempts. Try again in 42 seconds."},
            {"Retry-After": "42"},
        ),
        (
            InvalidFields({"email": ["Taken."], "password": ["Short.", "Common."]}),
            HTTPStatus.BAD_REQUEST,
            {"email": ["Taken."], "password": ["Short.", "Common."]},
            {},
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, AccountError) else None,
)
def test_the_exception_handler_answers_each_domain_error_with_its_status_body_and_headers(error, status, body, headers):
    response = api_exception_handler(error, {})

    assert response.status_code == status
    assert response.data == body
    assert {name: response[name] for name in headers} == headers
    assert "WWW-Authenticate" not in response


def test_every_domain_error_has_an_answer() -> None:
    assert set(AccountError.__subclasses__()) == set(DOMAIN_ERRORS)


def test_an_error_that_is_not_a_domain_error_is_left_to_drf() -> None:
    assert api_exception_handler(ValueError("a bug"), {}) is None


@pytest.mark.parametrize("module", BELOW_THE_VIEWS)
def test_the_modules_below_the_views_neither_raise_http_errors_nor_take_a_request(module):
    tree = ast.parse((APP / f"{module}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}

    http_modules = {name for name in imported if name == "django.http" or name.split(".")[0] == "rest_framework"}
    assert not http_modules


def test_the_views_hold_no_try_except() -> None:
    tree = ast.parse((APP / "apis.py").read_text())

    assert not [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Try)]
