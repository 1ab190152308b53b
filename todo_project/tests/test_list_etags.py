"""The conditional list: an ETag per page that every write of the caller's todos changes, 304 without the query."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.events_support import event_body
from todos import conditional, selectors, services
from todos.conditional import RenderedPages
from todos.events import account_event_parse
from todos.models import Todo

pytestmark = pytest.mark.django_db


def list_etag(client: APIClient, query: str = "") -> str:
    response = client.get(f"/todos/{query}")
    assert response.status_code == HTTPStatus.OK, response.content
    return response["ETag"]


def test_the_list_carries_an_etag_that_stays_while_nothing_changes(alice: APIClient, make_todo: Callable) -> None:
    make_todo()

    assert list_etag(alice) == list_etag(alice)
    assert list_etag(alice).startswith('"')


def test_a_matching_if_none_match_is_304_with_no_body_and_no_list_query(
    alice: APIClient, make_todo: Callable, django_assert_num_queries: Callable
) -> None:
    make_todo()
    etag = list_etag(alice, "?completed=false")

    # The token check's one query (the account's state and the list's stamp); neither the page nor its count.
    with django_assert_num_queries(1):
        response = alice.get("/todos/?completed=false", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert response["ETag"] == etag
    assert response.content == b""
    assert alice.get("/todos/?completed=false", HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == HTTPStatus.NOT_MODIFIED


def test_a_stale_or_foreign_if_none_match_gets_the_whole_page(alice: APIClient, make_todo: Callable) -> None:
    make_todo()

    response = alice.get("/todos/", HTTP_IF_NONE_MATCH='"not-this-one"')

    assert response.status_code == HTTPStatus.OK
    assert len(response.json()["results"]) == 1


def test_two_urls_never_share_an_etag_and_one_spelled_two_ways_does(alice: APIClient, make_todo: Callable) -> None:
    make_todo()
    queries = ["", "?page_size=5", "?completed=true", "?completed=false", "?search=x", "?ordering=title"]

    etags = [list_etag(alice, query) for query in queries]

    assert len(set(etags)) == len(queries)
    assert list_etag(alice, "?ordering=title&page_size=5") == list_etag(alice, "?page_size=5&ordering=title")
    assert list_etag(alice, "?completed=") == list_etag(alice)


def test_another_owners_etag_differs_and_their_writes_leave_the_callers_alone(alice: APIClient, bob: APIClient) -> None:
    before = list_etag(alice)
    assert list_etag(bob) != before

    bob.post("/todos/", {"title": "bob's"}, format="json")

    assert list_etag(alice) == before


def test_every_kind_of_write_changes_the_list_etag(alice: APIClient) -> None:
    etags = [list_etag(alice)]
    first = alice.post("/todos/", {"title": "one"}, format="json").json()
    etags.append(list_etag(alice))
    second = alice.post("/todos/", {"title": "two", "completed": True}, format="json").json()
    etags.append(list_etag(alice))
    alice.patch(first["url"], {"title": "one, edited"}, format="json")
    etags.append(list_etag(alice))
    alice.put(first["url"], {"title": "one, replaced"}, format="json")
    etags.append(list_etag(alice))
    alice.delete(second["url"])
    etags.append(list_etag(alice))
    alice.delete("/todos/")
    etags.append(list_etag(alice))

    assert len(set(etags)) == len(etags)
    assert alice.get("/todos/").json()["count"] == 0


def test_a_304_is_no_longer_given_once_a_todo_changed(alice: APIClient, make_todo: Callable) -> None:
    todo = make_todo(title="before")
    etag = list_etag(alice)

    alice.patch(f"/todos/{todo.id}/", {"title": "after"}, format="json")
    response = alice.get("/todos/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"][0]["title"] == "after"


def test_a_write_outside_the_api_changes_the_etag_and_the_page_served(alice: APIClient, make_todo: Callable) -> None:
    # Another instance's write, an operator's in the admin, a shell: the stamp is renewed by the database itself.
    todo = make_todo(title="before")
    etag = list_etag(alice)

    Todo.objects.filter(id=todo.id).update(title="after")

    assert list_etag(alice) != etag
    assert alice.get("/todos/").json()["results"][0]["title"] == "after"


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("patch", {}),
        ("patch", {"title": "same", "completed": False}),
        ("put", {"title": "same", "description": "", "completed": False, "due_date": None, "order": 0}),
        ("put", {"title": "same"}),
    ],
)
def test_a_write_that_changes_nothing_changes_no_etag(
    alice: APIClient, make_todo: Callable, method: str, body: dict
) -> None:
    todo = make_todo(title="same")
    list_before = list_etag(alice)

    response = getattr(alice, method)(f"/todos/{todo.id}/", body, format="json", HTTP_IF_MATCH=todo.etag)

    assert response.status_code == HTTPStatus.OK
    assert response["ETag"] == todo.etag
    assert list_etag(alice) == list_before
    # Another writer holding the same ETag is not refused.
    assert (
        alice.patch(f"/todos/{todo.id}/", {"title": "new"}, format="json", HTTP_IF_MATCH=todo.etag).status_code == 200
    )


def test_the_purge_of_a_deleted_account_changes_its_list_stamp(make_todo: Callable) -> None:
    make_todo(owner_id="4001")
    before = selectors.todo_list_stamp(owner_id="4001")

    event = account_event_parse(json.dumps(event_body("user.deleted.v1", "4001")).encode())
    services.account_event_apply(event=event)

    assert Todo.objects.filter(owner_id="4001").count() == 0
    assert selectors.todo_list_stamp(owner_id="4001") != before


def test_the_sweep_of_late_todos_of_a_deleted_account_changes_its_list_stamp(make_todo: Callable) -> None:
    event = account_event_parse(json.dumps(event_body("user.deleted.v1", "4002")).encode())
    services.account_event_apply(event=event)
    make_todo(owner_id="4002", title="late")
    before = selectors.todo_list_stamp(owner_id="4002")

    assert services.account_deleted_todos_purge(applied_since=datetime.now(UTC) - timedelta(minutes=5)) == 1
    assert selectors.todo_list_stamp(owner_id="4002") != before


def test_if_none_match_without_a_token_is_still_401(make_todo: Callable) -> None:
    make_todo()

    response = APIClient().get("/todos/", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_an_owner_who_never_wrote_has_an_empty_stamp() -> None:
    assert selectors.todo_list_stamp(owner_id=str(uuid.uuid4())) == ""


def test_rendered_pages_stay_within_their_byte_budget_dropping_the_least_recently_used() -> None:
    pages = RenderedPages(max_bytes=100, page_max_bytes=60)

    pages.put('"a"', "application/json", b"a" * 40)
    pages.put('"b"', "application/json", b"b" * 40)
    pages.get('"a"')
    pages.put('"c"', "application/json", b"c" * 40)
    pages.put('"big"', "application/json", b"x" * 61)

    assert pages.get('"a"') is not None
    assert pages.get('"b"') is None
    assert pages.get('"c"') is not None
    assert pages.get('"big"') is None
    assert pages.bytes == 80


def test_the_page_cache_keeps_no_more_bytes_than_the_setting_allows(settings: Any) -> None:
    settings.TODO_LIST_PAGE_CACHE_BYTES = 100
    pages = RenderedPages()

    for name in "abcd":
        pages.put(f'"{name}"', "application/json", name.encode() * 40)
    pages.put('"too-big"', "application/json", b"x" * 101)

    assert pages.bytes == 80
    assert [pages.get(f'"{name}"') is not None for name in "abcd"] == [False, False, True, True]
    assert pages.get('"too-big"') is None

    settings.TODO_LIST_PAGE_CACHE_BYTES = 50
    pages.put('"e"', "application/json", b"e" * 10)

    assert pages.bytes <= 50
    assert pages.get('"e"') is not None


def test_a_page_cache_of_zero_bytes_keeps_nothing(settings: Any) -> None:
    settings.TODO_LIST_PAGE_CACHE_BYTES = 0
    pages = RenderedPages()

    pages.put('"a"', "application/json", b"a")

    assert not pages.enabled
    assert pages.get('"a"') is None
    assert pages.bytes == 0


def test_the_same_page_again_is_sent_from_the_page_cache_after_the_token_checks_one_query(
    alice: APIClient, make_todo: Callable, django_assert_num_queries: Callable
) -> None:
    make_todo()
    first = alice.get("/todos/")

    with django_assert_num_queries(1):
        again = alice.get("/todos/")

    assert again.content == first.content
    assert again["ETag"] == first["ETag"]


def test_with_the_page_cache_off_every_list_request_runs_the_page_query(
    alice: APIClient, make_todo: Callable, settings: Any, django_assert_num_queries: Callable
) -> None:
    settings.TODO_LIST_PAGE_CACHE_BYTES = 0
    conditional.rendered_pages.clear()
    make_todo()
    first = alice.get("/todos/")

    for _ in range(2):
        # The token check's query and the page's (its count included), every time.
        with django_assert_num_queries(2):
            again = alice.get("/todos/")
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
    assert conditional.rendered_pages.bytes == 0
    etag = first["ETag"]
    assert alice.get("/todos/", HTTP_IF_NONE_MATCH=etag).status_code == HTTPStatus.NOT_MODIFIED


def test_the_lists_pages_stay_within_the_page_cache_setting(
    alice: APIClient, make_todo: Callable, settings: Any
) -> None:
    for number in range(6):
        make_todo(title=f"t{number}")
    conditional.rendered_pages.clear()
    one_page = len(alice.get("/todos/?page_size=2").content)
    settings.TODO_LIST_PAGE_CACHE_BYTES = 2 * one_page + one_page // 2

    for page in (1, 2, 3):
        assert alice.get(f"/todos/?page_size=2&page={page}").status_code == HTTPStatus.OK

    assert 0 < conditional.rendered_pages.bytes <= settings.TODO_LIST_PAGE_CACHE_BYTES
    assert len(conditional.rendered_pages.pages) == 2


def test_two_spellings_of_one_page_share_its_etag_but_each_keeps_its_own_links(alice: APIClient) -> None:
    for number in range(3):
        alice.post("/todos/", {"title": f"t{number}"}, format="json")

    plain = alice.get("/todos/?page_size=1")
    spelled_out = alice.get("/todos/?page_size=1&completed=")
    plain_again = alice.get("/todos/?page_size=1")

    assert plain["ETag"] == spelled_out["ETag"]
    assert plain.json()["next"] == "http://testserver/todos/?page=2&page_size=1"
    assert spelled_out.json()["next"] == "http://testserver/todos/?completed=&page=2&page_size=1"
    assert plain_again.json() == plain.json()
