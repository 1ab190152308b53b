"""The todo resource: create, read, replace, update, delete, bulk delete, and isolation between owners."""

import uuid
from collections.abc import Callable
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from todos.models import Todo

pytestmark = pytest.mark.django_db

TODO_FIELDS = {"id", "url", "title", "description", "completed", "due_date", "order", "created_at", "updated_at"}


def test_creating_a_todo_returns_the_whole_todo_with_its_location_and_etag(alice: APIClient) -> None:
    response = alice.post(
        "/todos/",
        {"title": "Buy milk", "description": "2 litres", "completed": False, "due_date": "2030-01-31", "order": 3},
        format="json",
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == TODO_FIELDS
    assert body["title"] == "Buy milk"
    assert body["due_date"] == "2030-01-31"
    assert body["order"] == 3
    assert body["url"] == f"http://testserver/todos/{body['id']}/"
    assert response["Location"] == body["url"]
    assert response["ETag"]
    assert Todo.objects.get(id=body["id"]).owner_id == "alice"


def test_creating_with_only_a_title_uses_the_defaults(alice: APIClient) -> None:
    body = alice.post("/todos/", {"title": "Call mum"}, format="json").json()

    assert (body["description"], body["completed"], body["due_date"], body["order"]) == ("", False, None, 0)


def test_the_id_and_timestamps_are_never_taken_from_input(alice: APIClient) -> None:
    chosen_id = str(uuid.uuid4())
    body = alice.post(
        "/todos/", {"title": "t", "id": chosen_id, "created_at": "2000-01-01T00:00:00Z"}, format="json"
    ).json()

    todo = Todo.objects.get(id=body["id"])
    assert body["id"] != chosen_id
    assert todo.owner_id == "alice"
    assert todo.created_at.year > 2000
    assert todo.version == 1


def test_an_owner_id_or_version_in_the_body_is_refused(alice: APIClient) -> None:
    response = alice.post("/todos/", {"title": "t", "owner_id": "bob", "version": 99}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert set(response.json()) == {"owner_id", "version"}
    assert not Todo.objects.exists()


def test_getting_a_todo_returns_it_with_an_etag(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(title="Read", due_date="2030-05-01")

    response = alice.get(f"/todos/{todo.id}/")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "Read"
    assert response.json()["id"] == str(todo.id)
    assert response["ETag"] == todo.etag


def test_an_upper_case_id_finds_the_same_todo(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(title="Read")

    response = alice.get(f"/todos/{str(todo.id).upper()}")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["id"] == str(todo.id)


def test_an_unknown_id_is_404_json(alice: APIClient) -> None:
    response = alice.get(f"/todos/{uuid.uuid4()}/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_putting_replaces_the_todo_and_resets_left_out_fields(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(description="old", completed=True, order=5, due_date="2030-01-01")

    response = alice.put(f"/todos/{todo.id}/", {"title": "New title"}, format="json")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["title"], body["description"], body["completed"], body["order"], body["due_date"]) == (
        "New title",
        "",
        False,
        0,
        None,
    )
    assert response["ETag"] != todo.etag


def test_putting_without_a_title_is_400(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.put(f"/todos/{todo.id}/", {"completed": True}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in response.json()


def test_patching_changes_only_the_given_fields(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(title="Keep", description="keep too", order=7)

    response = alice.patch(f"/todos/{todo.id}/", {"completed": True}, format="json")

    assert response.status_code == HTTPStatus.OK
    todo.refresh_from_db()
    assert (todo.title, todo.description, todo.order, todo.completed) == ("Keep", "keep too", 7, True)
    assert response.json()["completed"] is True


def test_deleting_a_todo_removes_it(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.delete(f"/todos/{todo.id}/")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert not Todo.objects.filter(id=todo.id).exists()
    assert alice.get(f"/todos/{todo.id}/").status_code == HTTPStatus.NOT_FOUND


def test_every_endpoint_answers_with_and_without_its_trailing_slash(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    for path in ("/todos", "/todos/", f"/todos/{todo.id}", f"/todos/{todo.id}/", "/todos/health", "/todos/health/"):
        assert alice.get(path).status_code == HTTPStatus.OK, path
    assert alice.post("/todos", {"title": "no slash"}, format="json").status_code == HTTPStatus.CREATED


# Isolation: another owner's todo behaves exactly like a todo that does not exist, and stays untouched.


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("get", None),
        ("put", {"title": "hijacked", "completed": True}),
        ("patch", {"title": "hijacked"}),
        ("delete", None),
    ],
)
def test_another_owners_todo_is_404_and_unchanged(
    bob: APIClient, make_todo: Callable, method: str, body: dict | None
) -> None:
    todo = make_todo(owner_id="alice", title="Alice's", completed=False)
    before = Todo.objects.filter(id=todo.id).values().get()

    response = getattr(bob, method)(f"/todos/{todo.id}/", body, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}
    assert Todo.objects.filter(id=todo.id).values().get() == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_another_owners_todo_is_404_even_with_its_current_etag(
    bob: APIClient, make_todo: Callable, method: str
) -> None:
    todo = make_todo(owner_id="alice")
    before = Todo.objects.filter(id=todo.id).values().get()

    response = getattr(bob, method)(f"/todos/{todo.id}/", {"title": "x"}, format="json", HTTP_IF_MATCH=todo.etag)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert Todo.objects.filter(id=todo.id).values().get() == before


def test_another_owners_todos_are_not_listed_nor_bulk_deleted(
    alice: APIClient, bob: APIClient, make_todo: Callable
) -> None:
    make_todo(owner_id="alice", completed=True)
    make_todo(owner_id="bob", completed=True)

    assert bob.get("/todos/").json()["count"] == 1
    assert bob.delete("/todos/").status_code == HTTPStatus.NO_CONTENT
    assert Todo.objects.filter(owner_id="alice").count() == 1
    assert alice.get("/todos/").json()["count"] == 1


# Bulk delete honours the list filters.


def test_bulk_delete_with_completed_true_clears_only_the_done_todos(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="done", completed=True)
    open_todo = make_todo(title="open", completed=False)

    response = alice.delete("/todos/?completed=true")

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert list(Todo.objects.values_list("id", flat=True)) == [open_todo.id]


def test_bulk_delete_honours_search(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="groceries: milk")
    kept = make_todo(title="call the bank")

    alice.delete("/todos/?search=milk")

    assert list(Todo.objects.values_list("id", flat=True)) == [kept.id]


def test_bulk_delete_without_filters_clears_the_callers_todos(alice: APIClient, make_todo: Callable) -> None:
    make_todo()
    make_todo()

    assert alice.delete("/todos").status_code == HTTPStatus.NO_CONTENT
    assert not Todo.objects.exists()


def test_bulk_delete_with_a_bad_filter_is_400_and_deletes_nothing(alice: APIClient, make_todo: Callable) -> None:
    make_todo(completed=True)

    response = alice.delete("/todos/?completed=yes")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "completed" in response.json()
    assert Todo.objects.count() == 1
