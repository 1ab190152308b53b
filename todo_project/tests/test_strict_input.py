"""Bad input is a JSON 4xx, never coerced and never a 500."""

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from rest_framework.test import APIClient

from todos.models import Todo

pytestmark = pytest.mark.django_db


def post_raw(client: APIClient, body: bytes | str, content_type: str = "application/json") -> Any:
    return client.generic("POST", "/todos/", body, content_type=content_type)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 5),
        ("title", True),
        ("title", None),
        ("title", ["a"]),
        ("title", ""),
        ("title", "   "),
        ("title", "x" * 201),
        ("title", "nul\u0000byte"),
        ("description", 5),
        ("description", "x" * 10_001),
        ("description", "nul\u0000"),
        ("completed", "yes"),
        ("completed", "true"),
        ("completed", 1),
        ("completed", None),
        ("order", "5"),
        ("order", 5.5),
        ("order", True),
        ("order", 2**31),
        ("order", -(2**31) - 1),
        ("order", 10**40),
        ("due_date", 20300101),
        ("due_date", "2030-02-30"),
        ("due_date", "tomorrow"),
        ("due_date", "2030-01-01T10:00:00"),
        ("due_date", "2030-01-01\u0000"),
        ("due_date", "2030-1-1"),
        ("due_date", "20300101"),
        ("due_date", "2030-W01-1"),
        ("due_date", "\uff12030-01-01"),
        ("due_date", "\u0662\u0660\u0663\u0660-01-01"),
        ("due_date", "2030-01-01\n"),
    ],
)
def test_a_wrong_value_is_400_naming_the_field_and_nothing_is_created(alice: APIClient, field: str, value: Any) -> None:
    response = alice.post("/todos/", {"title": "ok", field: value}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()
    assert not Todo.objects.exists()


@pytest.mark.parametrize("body", [rb'{"title": "\ud800"}', rb'{"title": "a\u0000b"}'], ids=["lone-surrogate", "nul"])
def test_escaped_characters_that_cannot_be_stored_are_400(alice: APIClient, body: bytes) -> None:
    response = post_raw(alice, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in response.json()


def test_boundary_values_are_accepted(alice: APIClient) -> None:
    body = {"title": "x" * 200, "description": "d" * 10_000, "order": 2**31 - 1, "due_date": "9999-12-31"}

    response = alice.post("/todos/", body, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert alice.patch(response["Location"], {"order": -(2**31)}, format="json").status_code == HTTPStatus.OK


def test_unknown_fields_are_400_naming_them_and_nothing_is_stored(alice: APIClient) -> None:
    response = alice.post("/todos/", {"title": "ok", "colour": "red", "priority": 3}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"colour", "priority"}
    assert not Todo.objects.exists()


def test_a_put_of_what_a_get_returned_is_accepted_and_its_read_only_fields_ignored(
    alice: APIClient, make_todo: Callable
) -> None:
    todo = make_todo(title="before")
    shown = alice.get(f"/todos/{todo.id}/").json()

    response = alice.put(
        f"/todos/{todo.id}/",
        {**shown, "title": "after", "id": "00000000-0000-0000-0000-000000000000", "created_at": "2000-01-01T00:00:00Z"},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == str(todo.id)
    assert response.json()["created_at"] == shown["created_at"]
    assert response.json()["title"] == "after"


def test_unicode_titles_round_trip(alice: APIClient) -> None:
    response = alice.post("/todos/", {"title": "Acheter du pain \U0001f956 et du thé"}, format="json")

    assert response.json()["title"] == "Acheter du pain \U0001f956 et du thé"


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"title": "a",}', b"not json", b"\xff\xfe\x00", b'{"title": NaN}', b"[" * 100_000 + b"]" * 100_000],
    ids=["truncated", "trailing-comma", "text", "bad-utf8", "nan", "deeply-nested"],
)
def test_malformed_json_is_400(alice: APIClient, body: bytes) -> None:
    response = post_raw(alice, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "body",
    [rb'{"title": "a", "\ud800": 1}', rb'{"title": "a", "x\u0000": 1}', rb'{"title": "a", "title": "b"}'],
    ids=["lone-surrogate-in-a-key", "nul-in-a-key", "a-key-twice"],
)
def test_keys_that_cannot_be_echoed_or_are_given_twice_are_400_and_nothing_is_created(
    alice: APIClient, body: bytes
) -> None:
    # A lone surrogate in a key was echoed in "Unknown field." and the answer could not be encoded: a 500.
    response = post_raw(alice, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"].startswith("JSON parse error - ")
    assert not Todo.objects.exists()


def test_a_patch_with_a_key_given_twice_is_400_and_changes_nothing(alice: APIClient) -> None:
    location = alice.post("/todos/", {"title": "kept"}, format="json")["Location"]

    response = alice.generic("PATCH", location, b'{"title": "a", "title": "b"}', content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert alice.get(location).json()["title"] == "kept"


@pytest.mark.parametrize("body", [b"[]", b'"title"', b"5", b"null"])
def test_json_that_is_not_an_object_is_400(alice: APIClient, body: bytes) -> None:
    response = post_raw(alice, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_a_non_json_content_type_is_415(alice: APIClient, content_type: str) -> None:
    response = post_raw(alice, '{"title": "a"}', content_type=content_type)

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert "detail" in response.json()
    assert not Todo.objects.exists()


def test_a_body_without_a_content_type_is_415(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.generic("PATCH", f"/todos/{todo.id}/", b'{"title": "x"}', content_type="")

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    todo.refresh_from_db()
    assert todo.title == "Buy milk"


def test_an_oversized_body_is_413_json(alice: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = alice.post("/todos/", {"title": "x", "description": "d" * 2000}, format="json")

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "detail" in response.json()


@pytest.mark.parametrize("query", ["search=a%00b", "ordering=title%00", "completed=true%00", "search=" + "x" * 201])
def test_a_bad_query_parameter_is_400_not_a_database_error(alice: APIClient, query: str) -> None:
    response = alice.get(f"/todos/?{query}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "path",
    ["/todos/not-a-uuid/", "/todos/00000000-0000-0000-0000-00000000000g/", "/todos/1/", "/todos/%00/", "/nope/"],
)
def test_a_malformed_id_or_unknown_path_is_404_json(alice: APIClient, path: str) -> None:
    response = alice.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_an_unsupported_method_is_405_json(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    assert alice.post(f"/todos/{todo.id}/", {"title": "x"}, format="json").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    response = alice.put("/todos/", {"title": "x"}, format="json")
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "detail" in response.json()
