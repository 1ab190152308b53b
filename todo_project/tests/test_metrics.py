"""Prometheus metrics: requests by route template with bounded labels, refused tokens by reason, queries timed."""

import time
import uuid
from http import HTTPStatus

import pytest
from django.db import connection
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from config.metrics import _time_query

pytestmark = pytest.mark.django_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def route_labels() -> set[str]:
    """Every route label of the request metrics."""
    return {
        each.labels["route"]
        for family in REGISTRY.collect()
        if family.name.startswith("http_request")
        for each in family.samples
        if "route" in each.labels
    }


def request_series() -> int:
    return sum(1 for family in REGISTRY.collect() if family.name == "http_requests" for _ in family.samples)


def test_a_todo_is_counted_under_its_route_template_not_its_id(alice, make_todo):
    todo = make_todo()
    labels = {"route": "todos/<todo_id>/", "method": "GET", "status": "200"}
    before = sample("http_requests_total", **labels)

    response = alice.get(f"/todos/{todo.pk}/")

    assert response.status_code == HTTPStatus.OK
    assert sample("http_requests_total", **labels) == before + 1
    assert sample("http_request_duration_seconds_count", **labels) >= 1
    assert not any(str(todo.pk) in route for route in route_labels())


def test_a_thousand_different_todo_ids_add_no_series(alice, make_todo):
    alice.get(f"/todos/{make_todo().pk}/")
    alice.get(f"/todos/{uuid.uuid4()}/")
    series = request_series()

    for _ in range(1000):
        assert alice.get(f"/todos/{uuid.uuid4()}/").status_code == HTTPStatus.NOT_FOUND

    assert request_series() == series


def test_database_queries_are_timed(alice, make_todo):
    before = sample("db_query_duration_seconds_count", outcome="ok")

    alice.get("/todos/")

    assert sample("db_query_duration_seconds_count", outcome="ok") > before


@pytest.mark.django_db(transaction=True)
def test_a_query_is_timed_once_however_often_its_connection_was_reopened():
    # Django keeps a thread's connection object across reconnections (CONN_MAX_AGE, a restarted database); a timer
    # added at each one nested a layer per reconnection until every query hit the recursion limit.
    for _ in range(5):
        connection.close()
        connection.ensure_connection()
    before = sample("db_query_duration_seconds_count", outcome="ok")

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")

    assert connection.execute_wrappers.count(_time_query) == 1
    assert sample("db_query_duration_seconds_count", outcome="ok") == before + 1


def test_an_expired_token_is_counted_as_refused_because_expired(api_client_with, make_token):
    before = sample("todo_token_refusals_total", reason="expired")
    expired = make_token(iat=int(time.time()) - 900, exp=int(time.time()) - 600)

    response = api_client_with(expired).get("/todos/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sample("todo_token_refusals_total", reason="expired") == before + 1


def test_a_token_from_an_unknown_key_is_counted_as_refused_by_its_reason(api_client_with, make_token):
    before = sample("todo_token_refusals_total", reason="unknown_key")

    response = api_client_with(make_token(headers={"kid": "no-such-key"})).get("/todos/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sample("todo_token_refusals_total", reason="unknown_key") == before + 1


def test_a_garbage_token_is_counted_as_invalid(api_client_with):
    before = sample("todo_token_refusals_total", reason="invalid")

    response = api_client_with("not-a-token").get("/todos/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sample("todo_token_refusals_total", reason="invalid") == before + 1


def test_the_service_has_no_metrics_page_of_its_own(alice):
    response = alice.get("/todos/metrics")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


@pytest.fixture
def api_client_with():
    def build(token: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return build
