"""The list: filters, search, ordering, pagination caps, a fixed number of queries, and the owner index."""

import datetime
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from todos.columns import LIST_FIELDS
from todos.models import Todo
from todos.serializers import TodoSerializer

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="checks PostgreSQL itself")


def titles(response: Any) -> list[str]:
    assert response.status_code == HTTPStatus.OK, response.content
    return [todo["title"] for todo in response.json()["results"]]


def test_the_list_is_paginated_with_count_next_and_previous(alice: APIClient, make_todo: Callable) -> None:
    for number in range(25):
        make_todo(title=f"todo {number:02}", order=number)

    first = alice.get("/todos/").json()
    second = alice.get(first["next"]).json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 25
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert first["next"] == "http://testserver/todos/?page=2"
    assert [todo["title"] for todo in second["results"]] == [f"todo {number:02}" for number in range(20, 25)]
    assert second["next"] is None
    assert second["previous"] == "http://testserver/todos/"


def test_page_size_is_honoured_up_to_100(alice: APIClient) -> None:
    Todo.objects.bulk_create(Todo(owner_id="alice", title=f"t{number}") for number in range(105))

    assert len(alice.get("/todos/?page_size=5").json()["results"]) == 5
    assert len(alice.get("/todos/?page_size=100").json()["results"]) == 100


@pytest.mark.parametrize("page_size", ["0", "101", "1000", "-1", "abc", "null", "", " 5", "5.0", "\u0665"])
def test_a_page_size_outside_1_to_100_is_400_naming_it(alice: APIClient, page_size: str) -> None:
    response = alice.get("/todos/", {"page_size": page_size})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "page_size" in response.json()


def test_a_page_past_the_end_is_404_json(alice: APIClient, make_todo: Callable) -> None:
    make_todo()

    response = alice.get("/todos/?page=2")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "detail" in response.json()


@pytest.mark.parametrize("page", ["0", "-1", "abc", "", "1000001"])
def test_an_invalid_page_number_is_400_naming_it(alice: APIClient, page: str) -> None:
    response = alice.get("/todos/", {"page": page})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "page" in response.json()


def test_completed_filters_done_and_open_todos(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="done", completed=True)
    make_todo(title="open", completed=False)

    assert titles(alice.get("/todos/?completed=true")) == ["done"]
    assert titles(alice.get("/todos/?completed=false")) == ["open"]


@pytest.mark.parametrize("value", ["yes", "1", "True", "null"])
def test_a_completed_filter_other_than_true_or_false_is_400(alice: APIClient, value: str) -> None:
    response = alice.get(f"/todos/?completed={value}")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "completed" in response.json()


def test_search_matches_title_or_description_case_insensitively(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="Buy MILK", order=1)
    make_todo(title="Errands", description="milk and bread", order=2)
    make_todo(title="Call the bank", order=3)

    assert titles(alice.get("/todos/?search=milk")) == ["Buy MILK", "Errands"]
    assert titles(alice.get("/todos/?search=milk&completed=true")) == []


def test_search_treats_like_wildcards_literally(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="100% done")
    make_todo(title="1000 things")

    assert titles(alice.get("/todos/?search=0%25")) == ["100% done"]


def test_the_default_order_is_order_then_creation_and_stable(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="second", order=2)
    make_todo(title="first-a", order=1)
    make_todo(title="first-b", order=1)

    assert titles(alice.get("/todos/")) == ["first-a", "first-b", "second"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("title", ["a", "b", "c"]),
        ("-title", ["c", "b", "a"]),
        ("due_date", ["c", "a", "b"]),
        ("-due_date", ["b", "a", "c"]),
        ("order", ["b", "c", "a"]),
        ("-order", ["a", "c", "b"]),
        ("created_at", ["b", "a", "c"]),
        ("-created_at", ["c", "a", "b"]),
        ("-updated_at", ["b", "c", "a"]),
        ("updated_at", ["a", "c", "b"]),
        ("-order,title", ["a", "c", "b"]),
    ],
)
def test_ordering_sorts_by_each_allowed_field(
    alice: APIClient, make_todo: Callable, ordering: str, expected: list[str]
) -> None:
    base = datetime.date(2030, 1, 1)
    b = make_todo(title="b", order=1, due_date=base + datetime.timedelta(days=2))
    a = make_todo(title="a", order=3, due_date=base + datetime.timedelta(days=1))
    c = make_todo(title="c", order=2, due_date=base)
    for todo in (a, c, b):  # updated_at: a < c < b
        todo.save()

    assert titles(alice.get(f"/todos/?ordering={ordering}")) == expected


@pytest.mark.parametrize("ordering", ["owner_id", "-version", "id;drop", "title,password"])
def test_ordering_by_anything_else_is_400(alice: APIClient, ordering: str) -> None:
    response = alice.get("/todos/", {"ordering": ordering})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "ordering" in response.json()


def test_pages_never_repeat_or_skip_todos_with_equal_sort_keys(alice: APIClient) -> None:
    Todo.objects.bulk_create(Todo(owner_id="alice", title="same", order=0) for _ in range(30))

    seen = []
    for page in (1, 2, 3):
        seen += [todo["id"] for todo in alice.get(f"/todos/?ordering=title&page_size=10&page={page}").json()["results"]]

    assert len(set(seen)) == 30


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_the_list_makes_one_query_beside_the_account_check_whatever_the_page_size(
    alice: APIClient, django_assert_num_queries: Callable, page_size: int
) -> None:
    Todo.objects.bulk_create(Todo(owner_id="alice", title=f"t{number}") for number in range(120))

    # The token check (the account's state and the list's stamp, by primary key, in one query), then the page with its
    # count as a window function.
    with django_assert_num_queries(2):
        response = alice.get(f"/todos/?page_size={page_size}")

    assert len(response.json()["results"]) == page_size
    assert response.json()["count"] == 120


def test_list_items_are_exactly_what_the_single_todo_endpoint_shows(alice: APIClient, make_todo: Callable) -> None:
    make_todo(title="dated", description="d", completed=True, due_date=datetime.date(2030, 2, 1), order=-4)
    make_todo(title="undated", order=9)
    todo = make_todo(title="round time", order=10)
    Todo.objects.filter(id=todo.id).update(created_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))

    listed = alice.get("/todos/").json()["results"]

    assert listed == [alice.get(item["url"]).json() for item in listed]
    assert listed[2]["created_at"] == "2030-01-01T00:00:00.000000Z"


@postgresql_only
def test_the_list_query_is_served_by_the_owner_index(client_for: Callable[[str], APIClient]) -> None:
    Todo.objects.bulk_create(
        Todo(owner_id=f"owner-{number % 200}", title=f"t{number}", order=number % 7) for number in range(20_000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE todos_todo")

    with CaptureQueriesContext(connection) as queries:
        assert client_for("owner-42").get("/todos/").json()["count"] == 100

    [_account_check, query] = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "todo_owner_default_order_idx" in plan, plan
    assert "Sort" not in plan, plan


def test_the_list_declares_the_fields_the_serializer_shows_in_its_order() -> None:
    assert ["id", "url", *LIST_FIELDS[1:]] == TodoSerializer.Meta.fields


def test_a_put_or_a_create_leaving_out_optional_fields_takes_the_models_defaults(alice: APIClient) -> None:
    created = alice.post("/todos/", {"title": "t", "description": "d", "order": 3}, format="json").json()

    replaced = alice.put(created["url"], {"title": "t2"}, format="json").json()

    defaults = {name: Todo._meta.get_field(name).get_default() for name in ("description", "completed", "order")}
    assert {name: replaced[name] for name in defaults} == defaults
    assert replaced["due_date"] is None
