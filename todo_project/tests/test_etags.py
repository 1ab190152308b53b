"""Lost updates: ETag on every single-todo response, If-Match (412, nothing changed) and If-None-Match (304)."""

from collections.abc import Callable
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from todos.models import Todo

pytestmark = pytest.mark.django_db


def test_every_write_changes_the_etag(alice: APIClient) -> None:
    created = alice.post("/todos/", {"title": "v1"}, format="json")
    url = created.json()["url"]
    patched = alice.patch(url, {"title": "v2"}, format="json")
    put = alice.put(url, {"title": "v3"}, format="json")

    etags = [created["ETag"], patched["ETag"], put["ETag"]]
    assert len(set(etags)) == 3
    assert alice.get(url)["ETag"] == put["ETag"]


def test_a_matching_if_none_match_is_304_without_a_body(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.get(f"/todos/{todo.id}/", HTTP_IF_NONE_MATCH=todo.etag)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["ETag"] == todo.etag
    assert response.content == b""


def test_a_weak_or_star_if_none_match_also_matches(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    assert alice.get(f"/todos/{todo.id}/", HTTP_IF_NONE_MATCH=f"W/{todo.etag}").status_code == HTTPStatus.NOT_MODIFIED
    assert alice.get(f"/todos/{todo.id}/", HTTP_IF_NONE_MATCH="*").status_code == HTTPStatus.NOT_MODIFIED


def test_a_stale_if_none_match_gets_the_current_todo(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()
    stale = todo.etag
    alice.patch(f"/todos/{todo.id}/", {"title": "changed"}, format="json")

    response = alice.get(f"/todos/{todo.id}/", HTTP_IF_NONE_MATCH=stale)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "changed"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_write_with_the_current_etag_succeeds(alice: APIClient, make_todo: Callable, method: str) -> None:
    todo = make_todo()

    response = getattr(alice, method)(f"/todos/{todo.id}/", {"title": "new"}, format="json", HTTP_IF_MATCH=todo.etag)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "new"


@pytest.mark.parametrize(
    ("method", "body"),
    [("put", {"title": "lost update"}), ("patch", {"completed": True}), ("delete", None)],
)
def test_a_write_with_a_stale_if_match_is_412_and_changes_nothing(
    alice: APIClient, make_todo: Callable, method: str, body: dict | None
) -> None:
    todo = make_todo()
    stale = todo.etag
    alice.patch(f"/todos/{todo.id}/", {"title": "someone else's change"}, format="json")
    before = Todo.objects.filter(id=todo.id).values().get()

    response = getattr(alice, method)(f"/todos/{todo.id}/", body, format="json", HTTP_IF_MATCH=stale)

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert "detail" in response.json()
    assert Todo.objects.filter(id=todo.id).values().get() == before


@pytest.mark.parametrize("if_match", ['W/"1"', "garbage", '"999"'])
def test_a_weak_or_malformed_if_match_never_matches(alice: APIClient, make_todo: Callable, if_match: str) -> None:
    todo = make_todo()

    response = alice.patch(f"/todos/{todo.id}/", {"title": "x"}, format="json", HTTP_IF_MATCH=if_match)

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    todo.refresh_from_db()
    assert todo.title == "Buy milk"


def test_if_match_star_or_a_list_containing_the_etag_matches(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    assert (
        alice.patch(f"/todos/{todo.id}/", {"order": 1}, format="json", HTTP_IF_MATCH="*").status_code == HTTPStatus.OK
    )
    todo.refresh_from_db()
    response = alice.delete(f"/todos/{todo.id}/", HTTP_IF_MATCH=f'"0", {todo.etag}')
    assert response.status_code == HTTPStatus.NO_CONTENT


def test_if_match_on_an_unknown_todo_is_404(alice: APIClient) -> None:
    response = alice.delete("/todos/00000000-0000-4000-8000-000000000000/", HTTP_IF_MATCH="*")

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_write_without_if_match_proceeds(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()
    alice.patch(f"/todos/{todo.id}/", {"title": "first"}, format="json")

    response = alice.patch(f"/todos/{todo.id}/", {"title": "second"}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "second"


@pytest.mark.parametrize(
    ("method", "body"),
    [("put", {"title": "overwritten"}), ("patch", {"completed": True}), ("delete", None)],
)
@pytest.mark.parametrize("form", ["star", "the-etag", "the-etag-weak", "the-etag-in-a-list"])
def test_a_write_whose_if_none_match_names_the_current_etag_or_star_is_412_and_changes_nothing(
    alice: APIClient, make_todo: Callable, method: str, body: dict | None, form: str
) -> None:
    # RFC 9110: If-None-Match: * on a write means "only if there is none"; it was ignored, and the write went ahead.
    todo = make_todo()
    before = Todo.objects.filter(id=todo.id).values().get()
    header = {
        "star": "*",
        "the-etag": todo.etag,
        "the-etag-weak": f"W/{todo.etag}",
        "the-etag-in-a-list": f'"0", {todo.etag}',
    }[form]

    response = getattr(alice, method)(f"/todos/{todo.id}/", body, format="json", HTTP_IF_NONE_MATCH=header)

    assert response.status_code == HTTPStatus.PRECONDITION_FAILED
    assert response.json() == {"detail": "The todo has an ETag that If-None-Match names. Nothing was changed."}
    assert Todo.objects.filter(id=todo.id).values().get() == before


def test_a_write_whose_if_none_match_names_other_etags_proceeds(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo()

    response = alice.patch(f"/todos/{todo.id}/", {"title": "new"}, format="json", HTTP_IF_NONE_MATCH='"0", "999"')

    assert response.status_code == HTTPStatus.OK
    assert response.json()["title"] == "new"


def test_if_none_match_on_a_write_to_an_unknown_todo_is_404(alice: APIClient) -> None:
    response = alice.put(
        "/todos/00000000-0000-4000-8000-000000000000/", {"title": "x"}, format="json", HTTP_IF_NONE_MATCH="*"
    )

    assert response.status_code == HTTPStatus.NOT_FOUND
