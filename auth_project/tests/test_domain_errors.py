"""The services' domain errors reach the client as the API's usual statuses, JSON bodies and headers."""

import re
import uuid
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


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
