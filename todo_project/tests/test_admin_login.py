"""The admin login spends the same login budgets as the auth service's logins (the twins in todos.throttling)."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "an operator's long passphrase"
WRONG = "definitely not it"


@pytest.fixture(autouse=True)
def small_budgets(settings):
    settings.LOGIN_RATE_PER_USERNAME_AND_IP = "3/m"
    settings.LOGIN_RATE_PER_USERNAME = "6/m"
    settings.LOGIN_RATE_PER_IP = "5/m"


@pytest.fixture
def operator():
    return get_user_model().objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)


def admin_login(client: APIClient, password: str, address: str = "203.0.113.66"):
    return client.post(
        "/todos/admin/login/",
        {"username": "root", "password": password},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_REAL_IP=address,
    )


def test_wrong_admin_passwords_are_throttled_and_then_the_right_one_is_refused_too(operator):
    client = APIClient()
    for _ in range(3):
        assert admin_login(client, WRONG).status_code == HTTPStatus.OK, "the form again, with an error"

    refused = admin_login(client, PASSWORD)

    assert refused.status_code == HTTPStatus.OK
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts. Try again in " in refused.content.decode()


def test_a_wrong_admin_password_before_the_budget_is_spent_is_the_usual_error(operator):
    response = admin_login(APIClient(), WRONG)

    assert "Please enter the correct username and password" in response.content.decode()
    assert "Too many failed login attempts" not in response.content.decode()


def test_an_attacker_spending_the_budget_does_not_lock_the_operator_out_of_their_own_address(operator):
    for _ in range(4):
        admin_login(APIClient(), WRONG)

    own = APIClient()
    response = admin_login(own, PASSWORD, address="198.51.100.7")

    assert response.status_code == HTTPStatus.FOUND
    assert "_auth_user_id" in own.session


def test_the_admin_without_its_trailing_slash_redirects_to_it_as_the_auth_services_does():
    response = APIClient().get("/todos/admin")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/todos/admin/"


def test_an_admin_login_whose_next_page_is_refused_lands_on_the_admin_index(operator):
    response = APIClient().post(
        "/todos/admin/login/?next=//evil.example/",
        {"username": "root", "password": PASSWORD, "next": "//evil.example/"},
        REMOTE_ADDR="127.0.0.1",
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/todos/admin/", "not another site, nor /accounts/profile/ (a 404)"
