"""Unknown query parameters are a 400 naming them; absolute URLs come from PUBLIC_BASE_URL, not the Host."""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from rest_framework.test import APIClient

from todos.models import Todo

pytestmark = pytest.mark.django_db


def test_a_bulk_delete_with_a_misspelt_filter_is_400_and_deletes_nothing(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="open")
    make_todo(title="done", completed=True)

    response = alice.delete("/todos/?Completed=true")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Completed" in response.json()["detail"]
    assert Todo.objects.count() == 2


def test_a_bulk_delete_refuses_page_parameters(alice: APIClient, make_todo: Callable) -> None:
    make_todo()

    response = alice.delete("/todos/?page=2")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert Todo.objects.count() == 1


def test_a_bulk_delete_with_known_filters_still_works(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="open")
    make_todo(title="done", completed=True)

    response = alice.delete("/todos/?completed=true")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert list(Todo.objects.values_list("title", flat=True)) == ["open"]


@pytest.mark.parametrize(
    "query", ["?completed=true&completed=", "?completed=true&completed=false", "?search=zz&search="]
)
def test_a_bulk_delete_with_a_filter_given_twice_is_400_and_deletes_nothing(
    alice: APIClient, make_todo: Callable, query: str
) -> None:
    # Django reads the last of the two: the bulk delete would have run with the filter the client did not mean.
    make_todo(title="open")
    make_todo(title="done", completed=True)

    response = alice.delete(f"/todos/{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"] == (
        f"Query parameter given more than once: {query[1:].split('=')[0]}. Give each one once."
    )
    assert Todo.objects.count() == 2


@pytest.mark.parametrize("query", ["?page=1&page=2", "?ordering=title&ordering=-title", "?page_size=5&page_size=50"])
def test_the_list_refuses_a_parameter_given_twice(alice: APIClient, query: str) -> None:
    response = alice.get(f"/todos/{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "more than once" in response.json()["detail"]


def test_a_conditional_list_with_a_parameter_given_twice_is_refused_not_answered_304(alice: APIClient) -> None:
    etag = alice.get("/todos/?page=1")["ETag"]

    response = alice.get("/todos/?page=1&page=1", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("query", ["?colour=red", "?page=1&pagesize=5"])
def test_the_list_refuses_an_unknown_query_parameter(alice: APIClient, query: str) -> None:
    response = alice.get(f"/todos/{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


def test_the_list_takes_its_own_parameters(alice: APIClient) -> None:
    response = alice.get("/todos/?completed=false&search=x&ordering=-title&page=1&page_size=5")

    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize("path", ["/todos/health/", "/todos/00000000-0000-0000-0000-000000000000/"])
def test_endpoints_without_parameters_refuse_any(alice: APIClient, path: str) -> None:
    response = alice.get(f"{path}?x=1")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "x" in response.json()["detail"]


def test_a_foreign_host_is_json_400_with_debug_on(settings: Any) -> None:
    settings.DEBUG = True

    response = APIClient().get("/todos/", HTTP_HOST="evil.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


def test_absolute_urls_come_from_the_public_base_url_not_the_host(
    alice: APIClient, make_todo: Callable, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = "https://todo.example.com"
    settings.ALLOWED_HOSTS = ["*"]
    make_todo()

    created = alice.post("/todos/", {"title": "x"}, format="json", HTTP_HOST="localhost:6666")
    listed = alice.get("/todos/?page_size=1", HTTP_HOST="localhost:6666").json()

    assert created["Location"].startswith("https://todo.example.com/todos/")
    assert created.json()["url"] == created["Location"]
    assert listed["next"] == "https://todo.example.com/todos/?page=2&page_size=1"
    assert all(todo["url"].startswith("https://todo.example.com/todos/") for todo in listed["results"])


@pytest.mark.parametrize("method", ["TRACE", "BREW"])
def test_an_unknown_method_is_405_with_allow_even_without_a_token(method: str) -> None:
    response = APIClient().generic(method, "/todos/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, POST, DELETE, HEAD, OPTIONS"
    assert response.json()["detail"]


def test_options_on_a_todo_describes_it(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.options(f"/todos/{todo.id}/")

    assert response.status_code == HTTPStatus.OK
    assert response["Allow"] == "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"
