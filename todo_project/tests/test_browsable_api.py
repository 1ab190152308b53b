"""The browsable API in development: every page renders, a browser signs in by cookie, production has none of it."""

import os
import subprocess
import sys
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from todos.browser import ACCESS_COOKIE
from todos.models import Todo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("browsable_api")]

HTML = "text/html"
SERVICE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def browser(make_token: Callable[..., str]) -> APIClient:
    """A browser signed in as alice: the access token in its cookie, CSRF checks on as in a real browser."""
    client = APIClient(enforce_csrf_checks=True)
    client.cookies[ACCESS_COOKIE] = make_token("alice")
    return client


def csrf_token(client: APIClient) -> str:
    client.get("/todos/", HTTP_ACCEPT=HTML)
    return client.cookies["csrftoken"].value


def test_the_list_renders_with_its_create_form_filters_and_page_links(alice: APIClient, make_todo: Callable) -> None:
    for number in range(3):
        make_todo(title=f"todo {number}")

    response = alice.get("/todos/?page_size=2", HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert response["Content-Type"].startswith(HTML)
    assert "<h1>Todos</h1>" in page
    assert 'name="title"' in page and 'name="completed"' in page
    assert 'id="filter-search"' in page
    assert "page=2" in page and 'class="pagination' in page


def test_a_todo_renders_with_its_edit_form(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(title="Edit me")

    response = alice.get(f"/todos/{todo.id}/", HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.OK
    page = response.content.decode()
    assert "<h1>Todo</h1>" in page
    assert 'value="Edit me"' in page
    assert 'data-method="PUT"' in page


def test_a_browser_with_the_access_cookie_sees_its_todos(browser: APIClient, make_todo: Callable) -> None:
    make_todo(title="Mine")
    make_todo(owner_id="bob", title="Not mine")

    response = browser.get("/todos/", HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.OK
    assert "Mine" in response.content.decode()
    assert "Not mine" not in response.content.decode()


def test_the_cookie_is_no_credential_for_a_json_request(browser: APIClient) -> None:
    response = browser.get("/todos/", HTTP_ACCEPT="application/json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["detail"]


def test_a_browser_creates_a_todo_with_the_html_form(browser: APIClient) -> None:
    token = csrf_token(browser)

    response = browser.post(
        "/todos/",
        {"title": "From the form", "completed": "true", "order": "3", "csrfmiddlewaretoken": token},
        HTTP_ACCEPT=HTML,
    )

    assert response.status_code == HTTPStatus.CREATED
    todo = Todo.objects.get(owner_id="alice")
    assert (todo.title, todo.completed, todo.order) == ("From the form", True, 3)


def test_a_browser_write_without_the_csrf_token_is_refused(browser: APIClient) -> None:
    response = browser.post("/todos/", {"title": "Forged"}, HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "CSRF" in response.content.decode()
    assert not Todo.objects.exists()


def test_an_expired_cookie_is_a_401_page(make_token: Callable[..., str]) -> None:
    client = APIClient()
    client.cookies[ACCESS_COOKIE] = make_token("alice", exp=1)

    response = client.get("/todos/", HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_with_the_browsable_api_off_the_cookie_is_no_credential(browser: APIClient, settings: Any) -> None:
    settings.BROWSABLE_API = False

    response = browser.get("/todos/", HTTP_ACCEPT=HTML)

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_production_settings_have_no_browsable_api_and_no_cookie_credential() -> None:
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "JWT_"))},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-0123456789",
        "DJANGO_ALLOWED_HOSTS": "todos.example.com",
        "JWT_ISSUER": "todo-microservices-auth",
        "JWT_AUDIENCE": "todo-microservices",
    }
    program = (
        "from django.conf import settings; r = settings.REST_FRAMEWORK; "
        "print(settings.BROWSABLE_API, r['DEFAULT_RENDERER_CLASSES'], r['DEFAULT_AUTHENTICATION_CLASSES'])"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", program],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("False ")
    assert "BrowsableAPIRenderer" not in result.stdout
    assert "BrowserCookie" not in result.stdout
