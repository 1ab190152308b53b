"""The services' domain errors reach the client as the API's usual statuses and JSON bodies."""

import ast
import uuid
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from config.errors import DOMAIN_ERRORS, api_exception_handler
from todos.exceptions import (
    IdempotencyKeyInUse,
    IdempotencyKeyInvalid,
    IdempotencyKeyMismatch,
    TodoError,
    TodoNotFound,
    TodoVersionMismatch,
)
from todos.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

APP = Path(__file__).resolve().parent.parent / "todos"
# The modules below the views: they raise domain errors and take plain values, never HTTP ones.
BELOW_THE_VIEWS = ("services", "selectors", "events", "consumer", "keyring", "exceptions")
NOT_FOUND = {"detail": "Not found."}
STALE = {"detail": "The todo has changed since you read it: If-Match does not match its ETag. Nothing was changed."}


@pytest.mark.parametrize(("method", "body"), [("get", None), ("put", {"title": "x"}), ("patch", {}), ("delete", None)])
def test_an_unknown_todo_is_404_not_found(alice: APIClient, method: str, body: dict | None) -> None:
    response = getattr(alice, method)(f"/todos/{uuid.uuid4()}/", body, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(("method", "body"), [("put", {"title": "x"}), ("patch", {}), ("delete", None)])
def test_an_if_match_on_an_unknown_todo_is_404_not_found(alice: APIClient, method: str, body: dict | None) -> None:
    response = getattr(alice, method)(f"/todos/{uuid.uuid4()}/", body, format="json", HTTP_IF_MATCH='"1"')

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize(("method", "body"), [("put", {"title": "x"}), ("patch", {}), ("delete", None)])
def test_a_stale_if_match_is_412_saying_nothing_changed(
    alice: APIClient, make_todo: Callable, method: str, body: dict | None
) -> None:
    todo = make_todo()

    response = getattr(alice, method)(f"/todos/{todo.id}/", body, format="json", HTTP_IF_MATCH='"999"')

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response.json() == STALE


def test_a_malformed_idempotency_key_is_400(alice: APIClient) -> None:
    response = alice.post("/todos/", {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="caf\u00e9")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Idempotency-Key must be 1 to 255 printable ASCII characters."}


def test_an_idempotency_key_sent_again_with_another_body_is_422(alice: APIClient) -> None:
    alice.post("/todos/", {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    response = alice.post("/todos/", {"title": "y"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert response.json() == {"detail": "This Idempotency-Key was already used with a different request."}


def test_an_idempotency_key_whose_request_still_runs_is_409(alice: APIClient) -> None:
    alice.post("/todos/", {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    IdempotencyRecord.objects.update(status_code=None)

    response = alice.post("/todos/", {"title": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json() == {"detail": "A request with this Idempotency-Key is still being processed; retry later."}


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (TodoNotFound(), HTTPStatus.NOT_FOUND, NOT_FOUND),
        (TodoVersionMismatch(), HTTPStatus.PRECONDITION_FAILED, STALE),
        (
            IdempotencyKeyInvalid(),
            HTTPStatus.BAD_REQUEST,
            {"detail": "Idempotency-Key must be 1 to 255 printable ASCII characters."},
        ),
        (
            IdempotencyKeyInUse(),
            HTTPStatus.CONFLICT,
            {"detail": "A request with this Idempotency-Key is still being processed; retry later."},
        ),
        (
            IdempotencyKeyMismatch(),
            HTTPStatus.UNPROCESSABLE_ENTITY,
            {"detail": "This Idempotency-Key was already used with a different request."},
        ),
        (TodoNotFound("No such todo here."), HTTPStatus.NOT_FOUND, {"detail": "No such todo here."}),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, TodoError) else None,
)
def test_the_exception_handler_answers_each_domain_error_with_its_status_and_body(
    error: TodoError, status: HTTPStatus, body: dict
) -> None:
    response = api_exception_handler(error, {})

    assert response.status_code == status
    assert response.data == body
    assert not response.has_header("WWW-Authenticate")


def test_every_domain_error_has_an_answer() -> None:
    assert set(TodoError.__subclasses__()) == set(DOMAIN_ERRORS)


def test_an_error_that_is_not_a_domain_error_is_left_to_drf() -> None:
    assert api_exception_handler(ValueError("a bug"), {}) is None


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return modules | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}


@pytest.mark.parametrize("module", BELOW_THE_VIEWS)
def test_the_modules_below_the_views_neither_raise_http_errors_nor_take_a_request(module: str) -> None:
    http_modules = {
        name
        for name in imported_modules(APP / f"{module}.py")
        if name == "django.http" or name.split(".")[0] == "rest_framework"
    }

    assert not http_modules


def test_the_idempotency_decorator_raises_domain_errors_not_drfs() -> None:
    assert "rest_framework.exceptions" not in imported_modules(APP / "idempotency.py")


def test_the_views_hold_no_try_except() -> None:
    tree = ast.parse((APP / "apis.py").read_text())

    assert not [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Try)]
