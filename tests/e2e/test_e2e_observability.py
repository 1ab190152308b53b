"""OBSERVABILITY=on: Debian's Prometheus scrapes every process of a real stack, and the gateway hides the metrics."""

import json
import time
import urllib.parse
import urllib.request
import uuid
from http import HTTPStatus

import pytest
from e2e_stack import PASSWORD, Client, Stack, next_client_address, register_and_login, wait_for

EXPECTED_TARGETS = {"auth": 2, "todo": 1, "relay": 1, "consumer": 1, "nginx": 1}


def prometheus(stack: Stack, path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{stack.env['PROMETHEUS_PORT']}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)["data"]


def query(stack: Stack, promql: str) -> dict[str, float]:
    """An instant query's result, by the job label (or "" when the result has none)."""
    result = prometheus(stack, "query", query=promql)["result"]
    return {series["metric"].get("job", ""): float(series["value"][1]) for series in result}


def targets_up(stack: Stack) -> dict[str, int]:
    active = prometheus(stack, "targets", state="active")["activeTargets"]
    counts: dict[str, int] = {}
    for target in active:
        if target["health"] == "up":
            counts[target["labels"]["job"]] = counts.get(target["labels"]["job"], 0) + 1
    return counts


@pytest.fixture(scope="module")
def client(observed_stack: Stack) -> Client:
    return Client(observed_stack.url, next_client_address())


def test_prometheus_scrapes_every_process_of_the_stack_and_each_instance(observed_stack):
    assert wait_for(lambda: targets_up(observed_stack) == EXPECTED_TARGETS, timeout=60), targets_up(observed_stack)


def test_after_traffic_prometheus_shows_the_request_counters_of_both_services_and_the_gateway(observed_stack, client):
    user = register_and_login(client)
    assert client.post("/todos/", json={"title": "observe me"}, headers=user.auth).status_code == HTTPStatus.CREATED
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK

    def counted() -> bool:
        services = query(observed_stack, 'sum by (job) (http_requests_total{route=~"auth/login/|todos/"})')
        gateway = query(observed_stack, "sum by (job) (nginx_http_requests_total)")
        return services.get("auth", 0) >= 1 and services.get("todo", 0) >= 2 and gateway.get("nginx", 0) >= 4

    assert wait_for(counted, timeout=30), query(observed_stack, "sum by (job, route) (http_requests_total)")


def test_the_relay_reports_the_outbox_and_the_consumer_the_events_it_applied(observed_stack, client):
    user = register_and_login(client)
    deleted = client.delete("/auth/me/", json={"password": PASSWORD}, headers=user.auth)
    assert deleted.status_code == HTTPStatus.NO_CONTENT, deleted.text

    def reported() -> bool:
        pending = query(observed_stack, "outbox_events_pending")
        consumed = query(observed_stack, 'sum by (job) (events_consumed_total{type="user.deleted.v1"})')
        return pending.get("relay") == 0 and consumed.get("consumer", 0) >= 1

    assert wait_for(reported, timeout=40), query(observed_stack, "{__name__=~'outbox_.*|events_.*'}")


def test_a_thousand_different_todo_ids_leave_the_series_count_flat(observed_stack, client):
    user = register_and_login(client)
    assert client.get(f"/todos/{uuid.uuid4()}/", headers=user.auth).status_code == HTTPStatus.NOT_FOUND
    series = 'count({job="todo", __name__=~"http_request.*"})'
    time.sleep(6)  # one scrape interval, so the detail route's series exist before the count
    before = query(observed_stack, series)[""]

    for _ in range(1000):
        assert client.get(f"/todos/{uuid.uuid4()}/", headers=user.auth).status_code == HTTPStatus.NOT_FOUND

    detail_404s = 'sum(http_requests_total{job="todo", route="todos/<todo_id>/", status="404"})'
    assert wait_for(lambda: query(observed_stack, detail_404s).get("", 0) >= 1001, timeout=30)
    assert query(observed_stack, series)[""] == before


@pytest.mark.parametrize("path", ["/metrics", "/auth/metrics", "/todos/metrics", "/auth/metrics/", "/todos/metrics/"])
def test_the_gateway_answers_404_in_json_to_every_metrics_path(observed_stack, client, path):
    response = client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.headers["Content-Type"].startswith("application/json")
    assert "http_requests_total" not in response.text
