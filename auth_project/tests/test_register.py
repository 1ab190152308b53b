from http import HTTPStatus

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db

STRONG = "plum orchard lantern 42"


def test_register_creates_a_user_and_never_returns_the_password(api_client):
    response = api_client.post(
        "/auth/register/", {"username": "bob", "email": "bob@example.com", "password": STRONG}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body == {"id": body["id"], "username": "bob", "email": "bob@example.com"}
    assert User.objects.get(pk=body["id"]).check_password(STRONG)


def test_register_answers_without_a_trailing_slash_and_without_a_redirect(api_client):
    response = api_client.post(
        "/auth/register", {"username": "bob", "email": "bob@example.com", "password": STRONG}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1A!", "too short"),
        ("password1234", "too common"),
        ("483920175830", "entirely numeric"),
        ("bobbybobby-example", "too similar to the username"),
    ],
)
def test_register_runs_the_password_validators(api_client, password, reason):
    response = api_client.post(
        "/auth/register/",
        {"username": "bobbybobby", "email": "bobby@example.com", "password": password},
        format="json",
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST, reason
    assert "password" in response.json()
    assert not User.objects.filter(username="bobbybobby").exists()


def test_register_refuses_a_taken_username_whatever_its_case(api_client, user):
    response = api_client.post(
        "/auth/register/", {"username": "ALICE", "email": "a2@example.com", "password": STRONG}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "username" in response.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "c@example.com", "password": STRONG}, "username"),
        ({"username": "carol", "password": STRONG}, "email"),
        ({"username": "carol", "email": "not-an-email", "password": STRONG}, "email"),
        ({"username": "carol", "email": "c@example.com"}, "password"),
        ({"username": "carol with spaces", "email": "c@example.com", "password": STRONG}, "username"),
    ],
)
def test_register_reports_field_errors(api_client, payload, field):
    response = api_client.post("/auth/register/", payload, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
