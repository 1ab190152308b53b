"""The W3C trace context without a tracer: log lines, outbox rows and AMQP messages carry the caller's trace."""

import json
import logging
import time
import uuid
from http import HTTPStatus

import pytest
from django.db import connection, transaction

from accounts import outbox, services
from accounts.models import OutboxEvent
from config.logs import JsonFormatter
from config.tracing import _query_span, _trace_queries, incoming_traceparent
from tests.conftest import PASSWORD
from tests.events_support import bind_queue, drain

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The JSON lines the service's log handler writes during the test."""
    lines: list[dict] = []
    handler = next(handler for handler in logging.getLogger().handlers if isinstance(handler.formatter, JsonFormatter))
    monkeypatch.setattr(handler, "emit", lambda record: lines.append(json.loads(handler.format(record))))
    return lines


@pytest.mark.django_db
def test_every_log_line_of_a_request_carries_the_callers_trace_and_span_ids(api_client, log_lines):
    api_client.get("/auth/health/", HTTP_TRACEPARENT=TRACEPARENT, HTTP_X_REQUEST_ID="trace-log-1")

    lines = [line for line in log_lines if line["request_id"] == "trace-log-1"]
    assert lines
    assert {(line["trace_id"], line["span_id"]) for line in lines} == {(TRACE_ID, "00f067aa0ba902b7")}


@pytest.mark.django_db
def test_a_malformed_traceparent_is_ignored_in_the_logs(api_client, log_lines):
    api_client.get("/auth/health/", HTTP_TRACEPARENT="00-not-a-trace-01", HTTP_X_REQUEST_ID="trace-log-2")

    lines = [line for line in log_lines if line["request_id"] == "trace-log-2"]
    assert lines
    assert {line["trace_id"] for line in lines} == {"-"}


@pytest.mark.django_db
def test_an_account_deletion_records_the_requests_trace_on_its_outbox_row(auth_client, user):
    response = auth_client.delete("/auth/me/", {"password": PASSWORD}, format="json", HTTP_TRACEPARENT=TRACEPARENT)

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert OutboxEvent.objects.get(event_type="user.deleted.v1").trace_parent == TRACEPARENT


@pytest.mark.django_db(transaction=True)
def test_the_relay_publishes_the_rows_trace_in_the_messages_traceparent_header(broker, settings):
    queue = f"test-queue-{uuid.uuid4().hex[:8]}"
    bind_queue(broker, exchange=settings.EVENTS_EXCHANGE, queue=queue)
    token = incoming_traceparent.set(TRACEPARENT)
    try:
        with transaction.atomic():
            services.outbox_event_record(event_type="user.deleted.v1", user_id=7)
    finally:
        incoming_traceparent.reset(token)
    deadline = time.monotonic() + 20

    outbox.outbox_relay_run(
        should_stop=lambda: not OutboxEvent.objects.filter(sent_at__isnull=True).exists() or time.monotonic() > deadline
    )

    [(properties, _)] = drain(broker, queue)
    assert properties.headers == {"traceparent": TRACEPARENT}


def test_a_connection_gets_the_query_span_once_however_often_it_is_set_up():
    """As the query timer (test_metrics): Django keeps a connection object across reconnections; the span's wrapper
    must not nest a layer per reconnection. (config/tracing.py is a twin: the todo service's is the same.)"""
    try:
        for _ in range(3):
            _trace_queries(sender=None, connection=connection)

        assert connection.execute_wrappers.count(_query_span) == 1
    finally:
        while _query_span in connection.execute_wrappers:
            connection.execute_wrappers.remove(_query_span)
