"""Prometheus metrics: requests by route template, refused logins and tokens, the outbox backlog, their own address."""

import socket
import urllib.request
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry

from accounts.metrics import OutboxBacklogCollector
from accounts.models import OutboxEvent
from accounts.outbox import outbox_publish_batch
from config.metrics import _time_query, metrics_serve
from tests.conftest import PASSWORD

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


def test_a_request_is_counted_and_timed_under_its_route_template(api_client, user):
    labels = {"route": "auth/login/", "method": "POST", "status": "200"}
    counted, timed = sample("http_requests_total", **labels), sample("http_request_duration_seconds_count", **labels)

    response = api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK
    assert sample("http_requests_total", **labels) == counted + 1
    assert sample("http_request_duration_seconds_count", **labels) == timed + 1


def test_a_path_no_route_matches_is_counted_as_unmatched_not_by_its_path(api_client):
    before = sample("http_requests_total", route="unmatched", method="GET", status="404")

    response = api_client.get("/auth/no-such-page-4711/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert sample("http_requests_total", route="unmatched", method="GET", status="404") == before + 1
    assert not any("no-such-page" in route for route in route_labels())


def test_an_unknown_method_is_counted_as_other(api_client):
    before = sample("http_requests_total", route="auth/health/", method="other", status="405")

    response = api_client.generic("BREW", "/auth/health/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert sample("http_requests_total", route="auth/health/", method="other", status="405") == before + 1


def test_database_queries_are_timed(api_client, user):
    before = sample("db_query_duration_seconds_count", outcome="ok")

    api_client.post("/auth/login/", {"username": "alice", "password": PASSWORD}, format="json")

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


def test_failed_logins_are_counted_by_reason(api_client, user):
    before = sample("auth_login_failures_total", reason="invalid_credentials")

    response = api_client.post("/auth/login/", {"username": "alice", "password": "wrong-" * 3}, format="json")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sample("auth_login_failures_total", reason="invalid_credentials") == before + 1


def test_a_reused_refresh_token_is_counted_as_refused(api_client, token_pair):
    before = sample("auth_token_refusals_total", reason="reused")
    first = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    again = api_client.post("/auth/refresh/", {"refresh": token_pair["refresh"]}, format="json")

    assert first.status_code == HTTPStatus.OK
    assert again.status_code == HTTPStatus.UNAUTHORIZED
    assert sample("auth_token_refusals_total", reason="reused") == before + 1


def test_the_outbox_collector_reports_the_unsent_events_and_the_oldest_ones_age():
    registry = CollectorRegistry()
    registry.register(OutboxBacklogCollector())
    now = timezone.now()
    OutboxEvent.objects.create(event_type="user.deleted.v1", payload={}, occurred_at=now)
    OutboxEvent.objects.create(event_type="user.deleted.v1", payload={}, occurred_at=now - timedelta(minutes=10))
    OutboxEvent.objects.create(event_type="user.deleted.v1", payload={}, occurred_at=now, sent_at=now)

    assert registry.get_sample_value("outbox_events_pending") == 2
    assert 599 < registry.get_sample_value("outbox_oldest_pending_age_seconds") < 700


def test_published_events_are_counted_by_type():
    before = sample("outbox_events_published_total", type="user.deleted.v1")
    OutboxEvent.objects.create(
        event_type="user.deleted.v1", payload={"type": "user.deleted.v1"}, occurred_at=timezone.now()
    )

    published = outbox_publish_batch(publish=lambda body: None, batch_size=10)

    assert published == 1
    assert sample("outbox_events_published_total", type="user.deleted.v1") == before + 1


def test_the_service_has_no_metrics_page_of_its_own(api_client):
    response = api_client.get("/auth/metrics")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


def test_metrics_are_served_on_their_own_address(api_client):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api_client.get("/auth/health/")

    metrics_serve(bind=f"127.0.0.1:{port}")

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    assert response.status == HTTPStatus.OK
    assert 'http_requests_total{method="GET",route="auth/health/",status="200"}' in text
