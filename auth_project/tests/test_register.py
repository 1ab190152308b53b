"""Registration: validation, and accounts unique case-insensitively and after NFKC normalisation."""

import threading
from http import HTTPStatus

import pytest
from django.db import IntegrityError, connections, transaction
from rest_framework.test import APIClient

from accounts.models import User
from tests.conftest import PASSWORD

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
        (" " * 12, "only white space"),
        ("a" * 12, "one character repeated"),
        ("abcdabcdabcd", "four different characters"),
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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("field", ["username", "email"])
def test_two_registrations_racing_with_names_differing_in_case_never_both_succeed(field):
    start = threading.Barrier(2)
    statuses: list[int] = []

    def register(number: int, name: str) -> None:
        body = {"username": f"racer{number}", "email": f"racer{number}@example.com", "password": PASSWORD}
        body[field] = name
        start.wait(timeout=10)
        statuses.append(APIClient().post("/auth/register/", body, format="json").status_code)
        connections.close_all()

    names = {"username": ("racer0", "RACER0"), "email": ("racer@example.com", "RACER@example.com")}[field]
    threads = [threading.Thread(target=register, args=(number, name)) for number, name in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [HTTPStatus.CREATED, HTTPStatus.BAD_REQUEST]
    assert User.objects.count() == 1


def test_the_database_refuses_a_username_or_email_differing_only_in_case(db):
    User.objects.create_user(username="Alice", email="alice@example.com", password=PASSWORD)

    for duplicate in (
        {"username": "aLICE", "email": "new@example.com"},
        {"username": "new", "email": "ALICE@example.COM"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.create_user(**duplicate, password=PASSWORD)


def test_a_user_registered_with_a_fullwidth_name_logs_in_with_what_they_type_or_its_plain_form(api_client, db):
    fullwidth = "\uff43\uff41\uff52\uff4f\uff4c"  # what a Japanese keyboard types for "carol"
    body = {"username": fullwidth, "email": "carol@example.com", "password": PASSWORD}
    assert api_client.post("/auth/register/", body, format="json").status_code == HTTPStatus.CREATED

    for typed in (fullwidth, "carol", "Carol"):
        login = api_client.post("/auth/login/", {"username": typed, "password": PASSWORD}, format="json")
        assert login.status_code == HTTPStatus.OK, typed


def test_an_email_taken_in_another_case_is_400(api_client, user):
    body = {"username": "other", "email": "ALICE@example.com", "password": PASSWORD}

    response = api_client.post("/auth/register/", body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "email" in response.json()


def test_an_operator_giving_a_user_a_taken_email_gets_a_form_error_not_a_500(user, django_user_model):
    bob = django_user_model.objects.create_user(username="bob", email="bob@example.com", password=PASSWORD)
    operator = django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    admin = APIClient()
    admin.force_login(operator)
    joined = {"date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    form = {"username": "bob", "email": "ALICE@example.com", "is_active": "on", **joined}

    response = admin.post(f"/auth/admin/accounts/user/{bob.pk}/change/", form)

    assert response.status_code == HTTPStatus.OK
    assert b"A user with that email address already exists." in response.content
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"


def test_a_password_with_five_different_characters_is_enough_for_that_validator(api_client):
    response = api_client.post(
        "/auth/register/",
        {"username": "bobbybobby", "email": "bobby@example.com", "password": "vwxyz vwxyz vwxyz"},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
