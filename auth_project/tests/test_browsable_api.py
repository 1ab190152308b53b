"""The browsable API in development: readable forms, and a browser signed in by HttpOnly, SameSite=Strict cookies."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.browser import ACCESS_COOKIE, REFRESH_COOKIE
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browsable_api")]

HTML = "text/html"


@pytest.fixture
def browser() -> APIClient:
    """A browser: CSRF checks on, as for a real one."""
    return APIClient(enforce_csrf_checks=True)


def csrf_token(client: APIClient) -> str:
    client.get("/auth/login/", HTTP_ACCEPT=HTML)
    return client.cookies["csrftoken"].value


def log_in(client: APIClient, next_page: str = "") -> object:
    token = csrf_token(client)
    return client.post(
        f"/auth/login/{next_page}",
        {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
        HTTP_ACCEPT=HTML,
    )


@pytest.mark.parametrize(
    ("path", "title", "fields"),
    [
        ("/auth/register/", "Register", ["username", "email", "password"]),
        ("/auth/login/", "Log in", ["username", "password"]),
        ("/auth/refresh/", "Refresh", ["refresh"]),
    ],
)
def test_the_public_pages_render_a_readable_title_and_an_html_form(
    browser: APIClient, path: str, title: str, fields: list[str]
) -> None:
    response = browser.get(path, HTTP_ACCEPT=HTML)

    page = response.content.decode()
    assert response["Content-Type"].startswith(HTML)
    assert f"<h1>{title}</h1>" in page
    for field in fields:
        assert f'name="{field}"' in page


def test_the_signed_in_pages_render_their_forms(browser: APIClient, user: object) -> None:
    log_in(browser)

    me = browser.get("/auth/me/", HTTP_ACCEPT=HTML).content.decode()
    password = browser.get("/auth/password/", HTTP_ACCEPT=HTML).content.decode()
    logout = browser.get("/auth/logout/", HTTP_ACCEPT=HTML).content.decode()

    assert "<h1>Me</h1>" in me and "alice@example.com" in me
    assert 'name="old_password"' in password and 'name="new_password"' in password
    assert "<h1>Log out</h1>" in logout and 'name="refresh"' in logout


def test_the_login_form_signs_the_browser_in_with_httponly_strict_cookies(browser: APIClient, user: object) -> None:
    response = log_in(browser, "?next=/todos/")

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response["Location"] == "/todos/"
    access, refresh = response.cookies[ACCESS_COOKIE], response.cookies[REFRESH_COOKIE]
    assert access["httponly"] and access["samesite"] == "Strict" and access["path"] == "/"
    assert refresh["httponly"] and refresh["samesite"] == "Strict" and refresh["path"] == "/auth/"
    assert "access" not in response.content.decode()


def test_a_foreign_next_page_is_not_followed(browser: APIClient, user: object) -> None:
    response = log_in(browser, "?next=https://evil.example/")

    assert response["Location"] == "/auth/me/"


def test_the_login_form_without_the_csrf_token_is_refused(browser: APIClient, user: object) -> None:
    response = browser.post("/auth/login/", {"username": "alice", "password": PASSWORD}, HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert ACCESS_COOKIE not in response.cookies


def test_the_cookie_signs_in_html_requests_only(browser: APIClient, user: object) -> None:
    log_in(browser)

    assert browser.get("/auth/me/", HTTP_ACCEPT=HTML).status_code == HTTPStatus.OK
    assert browser.get("/auth/me/", HTTP_ACCEPT="application/json").status_code == HTTPStatus.UNAUTHORIZED


def test_a_json_login_still_answers_the_pair_and_sets_no_cookie(api_client: APIClient, user: object) -> None:
    response = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert set(response.json()) == {"access", "refresh"}
    assert not response.cookies


def test_an_empty_refresh_form_refreshes_the_browsers_cookies(browser: APIClient, user: object) -> None:
    log_in(browser)
    old_refresh = browser.cookies[REFRESH_COOKIE].value

    response = browser.post(
        "/auth/refresh/", {"refresh": "", "csrfmiddlewaretoken": csrf_token(browser)}, HTTP_ACCEPT=HTML
    )

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response.cookies[REFRESH_COOKIE].value != old_refresh


def test_logging_out_revokes_the_refresh_token_and_deletes_both_cookies(browser: APIClient, user: object) -> None:
    log_in(browser)

    response = browser.post(
        "/auth/logout/?next=/todos/", {"csrfmiddlewaretoken": csrf_token(browser)}, HTTP_ACCEPT=HTML
    )

    assert response.status_code == HTTPStatus.SEE_OTHER
    assert response["Location"] == "/todos/"
    assert response.cookies[ACCESS_COOKIE].value == ""
    assert response.cookies[REFRESH_COOKIE].value == ""
    assert BlacklistedToken.objects.count() == 1
    assert browser.get("/auth/me/", HTTP_ACCEPT=HTML).status_code == HTTPStatus.UNAUTHORIZED


def test_a_signed_in_browser_write_without_the_csrf_token_is_refused(browser: APIClient, user: object) -> None:
    log_in(browser)

    response = browser.post("/auth/logout/", {}, HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not BlacklistedToken.objects.exists()


def test_with_the_browsable_api_off_the_cookie_is_no_credential(browser: APIClient, user: object, settings) -> None:
    log_in(browser)
    settings.BROWSABLE_API = False

    assert browser.get("/auth/me/", HTTP_ACCEPT=HTML).status_code == HTTPStatus.UNAUTHORIZED
