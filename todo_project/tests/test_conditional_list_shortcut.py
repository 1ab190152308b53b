"""The conditional list's shortcut (todos.middleware): its 304 is the view's, and whatever it is unsure of the view
answers exactly as it would without it."""

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from tests.events_support import event_body
from todos import services
from todos.apis import TodoListApi
from todos.events import account_event_parse

pytestmark = pytest.mark.django_db

SHORTCUT = "todos.middleware.ConditionalListMiddleware"
REQUEST_ID = {"HTTP_X_REQUEST_ID": "shortcut-parity"}


@pytest.fixture
def without_shortcut(settings: Any) -> Callable[[], Any]:
    """A context that takes the shortcut out of MIDDLEWARE; clients made inside it load the chain without it."""

    @contextmanager
    def context() -> Iterator[None]:
        kept = settings.MIDDLEWARE
        settings.MIDDLEWARE = [name for name in kept if name != SHORTCUT]
        try:
            yield
        finally:
            settings.MIDDLEWARE = kept

    return context


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def answer(client: APIClient, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    response = client.get(path, **REQUEST_ID, **headers)
    return response.status_code, dict(response.headers), response.content


def both_answers(
    client_for: Callable[[str], APIClient], without_shortcut: Callable, path: str, owner: str = "alice", **headers: str
) -> tuple[tuple, tuple]:
    """The same request answered with the shortcut in place and without it (a fresh client loads each chain)."""
    with_it = answer(client_for(owner), path, **headers)
    with without_shortcut():
        without_it = answer(client_for(owner), path, **headers)
    return with_it, without_it


def current_etag(client: APIClient, path: str, **headers: str) -> str:
    response = client.get(path, **headers)
    assert response.status_code == HTTPStatus.OK, response.content
    return response["ETag"]


@pytest.fixture
def answered_by_the_view(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The methods the list view was dispatched for: empty when only the shortcut answered."""
    dispatched: list[str] = []
    dispatch = TodoListApi.dispatch

    def recording(self: TodoListApi, request: Any, *args: Any, **kwargs: Any) -> Any:
        dispatched.append(request.method)
        return dispatch(self, request, *args, **kwargs)

    monkeypatch.setattr(TodoListApi, "dispatch", recording)
    return dispatched


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        ("", None),
        ("", "*/*"),
        ("", "application/json"),
        ("?completed=true&page_size=5", None),
        ("?search=milk&ordering=-title,created_at", "application/json"),
        ("?completed=&page=1", None),
    ],
)
def test_the_shortcuts_304_is_the_views_304_header_for_header(
    client_for: Callable,
    without_shortcut: Callable,
    make_todo: Callable,
    answered_by_the_view: list,
    query: str,
    accept: str | None,
) -> None:
    make_todo(title="milk")
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    etag = current_etag(client_for("alice"), f"/todos/{query}", **headers)
    answered_by_the_view.clear()

    with_it, without_it = both_answers(
        client_for, without_shortcut, f"/todos/{query}", HTTP_IF_NONE_MATCH=etag, **headers
    )

    assert with_it[0] == HTTPStatus.NOT_MODIFIED
    assert with_it == without_it
    assert answered_by_the_view == ["GET"], "only the request without the shortcut reached the view"


def test_the_shortcut_answers_with_one_query_and_counts_the_304_under_the_lists_route(
    alice: APIClient, make_todo: Callable, answered_by_the_view: list, django_assert_num_queries: Callable
) -> None:
    make_todo()
    etag = current_etag(alice, "/todos/")
    labels = {"route": "todos/", "method": "GET", "status": "304"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0.0
    answered_by_the_view.clear()

    with django_assert_num_queries(1):
        response = alice.get("/todos/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == HTTPStatus.NOT_MODIFIED
    assert answered_by_the_view == []
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 1


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("", {"HTTP_IF_NONE_MATCH": '"stale"'}),
        ("?colour=red", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?page=0", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?page_size=101", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?completed=maybe", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?ordering=password", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?search=%00", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?format=json", {"HTTP_IF_NONE_MATCH": "*"}),
        ("?page=2", {"HTTP_IF_NONE_MATCH": '"stale"'}),
        ("", {"HTTP_IF_NONE_MATCH": "*", "HTTP_ACCEPT": "text/html"}),
        ("", {"HTTP_IF_NONE_MATCH": "*", "HTTP_ACCEPT": "application/json; indent=2"}),
    ],
)
def test_what_the_shortcut_is_unsure_of_the_view_answers_exactly_as_without_it(
    client_for: Callable, without_shortcut: Callable, make_todo: Callable, query: str, headers: dict[str, str]
) -> None:
    make_todo()

    with_it, without_it = both_answers(client_for, without_shortcut, f"/todos/{query}", **headers)

    assert with_it == without_it


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda mint: mint(exp=int(time.time()) - 600, iat=int(time.time()) - 900), id="expired"),
        pytest.param(lambda mint: mint(headers={"kid": "no-such-key"}), id="unknown key"),
        pytest.param(lambda mint: mint(token_type="refresh"), id="refresh token"),
        pytest.param(lambda mint: "not-a-token", id="garbage"),
    ],
)
def test_a_refused_token_is_the_views_401_and_counted_once(
    make_token: Callable, without_shortcut: Callable, token: Callable
) -> None:
    raw = token(make_token)

    def refusals() -> float:
        return sum(
            sample.value
            for family in REGISTRY.collect()
            if family.name == "todo_token_refusals"
            for sample in family.samples
            if sample.name == "todo_token_refusals_total"
        )

    before = refusals()
    with_it = answer(bearer(raw), "/todos/", HTTP_IF_NONE_MATCH="*")
    assert refusals() == before + 1, "counted once, not by the shortcut and again by the view"
    with without_shortcut():
        without_it = answer(bearer(raw), "/todos/", HTTP_IF_NONE_MATCH="*")

    assert with_it[0] == HTTPStatus.UNAUTHORIZED
    assert with_it == without_it


def test_no_token_or_another_scheme_is_the_views_401(without_shortcut: Callable) -> None:
    anonymous = both_answers(lambda owner: APIClient(), without_shortcut, "/todos/", HTTP_IF_NONE_MATCH="*")
    basic = both_answers(
        lambda owner: APIClient(), without_shortcut, "/todos/", HTTP_IF_NONE_MATCH="*", HTTP_AUTHORIZATION="Basic eDp5"
    )

    assert anonymous[0][0] == basic[0][0] == HTTPStatus.UNAUTHORIZED
    assert anonymous[0] == anonymous[1]
    assert basic[0] == basic[1]


def test_a_database_that_fails_the_token_checks_query_is_the_views_503(
    client_for: Callable, without_shortcut: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(**kwargs: Any) -> Any:
        raise OperationalError("the database went away")

    monkeypatch.setattr("todos.authentication.account_check", unavailable)

    with_it, without_it = both_answers(client_for, without_shortcut, "/todos/", HTTP_IF_NONE_MATCH="*")

    assert with_it[0] == HTTPStatus.SERVICE_UNAVAILABLE
    assert with_it == without_it


def test_a_stale_etag_is_checked_and_queried_once_on_its_way_to_the_view(
    client_for: Callable, without_shortcut: Callable, make_todo: Callable, settings: Any
) -> None:
    settings.TODO_LIST_PAGE_CACHE_BYTES = 0  # each request renders its page, so both run the same queries
    make_todo()

    with CaptureQueriesContext(connection) as with_it:
        client_for("alice").get("/todos/", HTTP_IF_NONE_MATCH='"stale"')
    with without_shortcut(), CaptureQueriesContext(connection) as without_it:
        client_for("alice").get("/todos/", HTTP_IF_NONE_MATCH='"stale"')

    assert [query["sql"] for query in with_it] == [query["sql"] for query in without_it]


def test_another_owners_etag_never_gets_a_304(client_for: Callable, make_todo: Callable) -> None:
    make_todo(owner_id="bob")
    bobs = current_etag(client_for("bob"), "/todos/")

    response = client_for("alice").get("/todos/", HTTP_IF_NONE_MATCH=bobs)

    assert response.status_code == HTTPStatus.OK
    assert response.json()["count"] == 0


def test_a_deactivated_account_gets_the_views_401_not_a_304(
    make_token: Callable, without_shortcut: Callable, make_todo: Callable
) -> None:
    make_todo(owner_id="4003")
    issued = datetime.now(UTC) - timedelta(seconds=60)
    token = make_token("4003", iat=int(issued.timestamp()))
    etag = current_etag(bearer(token), "/todos/")
    deactivated = event_body("user.deactivated.v1", "4003", occurred_at=issued + timedelta(seconds=30))
    services.account_event_apply(event=account_event_parse(json.dumps(deactivated).encode()))

    with_it = answer(bearer(token), "/todos/", HTTP_IF_NONE_MATCH=etag)
    with without_shortcut():
        without_it = answer(bearer(token), "/todos/", HTTP_IF_NONE_MATCH=etag)

    assert with_it[0] == HTTPStatus.UNAUTHORIZED
    assert with_it == without_it


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html"])
def test_with_the_browsable_api_on_a_304_or_a_page_is_the_views_too(
    client_for: Callable, without_shortcut: Callable, make_todo: Callable, browsable_api: None, accept: str | None
) -> None:
    make_todo()
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    etag = current_etag(client_for("alice"), "/todos/", **headers)

    with_it, without_it = both_answers(client_for, without_shortcut, "/todos/", HTTP_IF_NONE_MATCH=etag, **headers)

    assert with_it[0] == HTTPStatus.NOT_MODIFIED
    assert with_it == without_it
