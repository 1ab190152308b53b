"""The consumer's metrics and trace context, against the real RabbitMQ: counted, gauged, and in the sender's trace."""

import json
import logging
import time
from typing import Any

import pika
import pytest
from prometheus_client import REGISTRY

from config.logs import JsonFormatter
from tests.events_support import event_body, publish
from todos import consumer
from todos.models import ProcessedEvent

pytestmark = pytest.mark.django_db(transaction=True)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def run_consumer_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    consumer.EventConsumer(should_stop=lambda: condition() or time.monotonic() > deadline).run()


def declare_queues(url: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        consumer.events_topology_declare(connection.channel())
    finally:
        connection.close()


@pytest.fixture
def log_lines(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The JSON lines the service's log handler writes during the test."""
    lines: list[dict] = []
    handler = next(handler for handler in logging.getLogger().handlers if isinstance(handler.formatter, JsonFormatter))
    monkeypatch.setattr(handler, "emit", lambda record: lines.append(json.loads(handler.format(record))))
    return lines


def test_the_consumers_log_lines_carry_the_trace_of_the_messages_traceparent(broker: str, settings: Any, log_lines):
    declare_queues(broker)
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", "77"), headers={"traceparent": TRACEPARENT})

    run_consumer_until(lambda: ProcessedEvent.objects.count() >= 1)

    applied = [line for line in log_lines if line["message"] == "event applied"]
    assert applied
    assert applied[0]["trace_id"] == TRACE_ID


def test_consumed_and_dead_lettered_events_are_counted_and_the_queues_depths_gauged(broker: str, settings: Any):
    declare_queues(broker)
    consumed = sample("events_consumed_total", type="user.deleted.v1", outcome="applied")
    dead_lettered = sample("events_dead_lettered_total", reason="invalid")

    publish(broker, settings.EVENTS_EXCHANGE, b"{not json", routing_key="user.deleted.v1")
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", "78"))
    run_consumer_until(
        lambda: (
            ProcessedEvent.objects.count() >= 1
            and sample("events_queue_messages", queue=settings.EVENTS_DEAD_LETTER_QUEUE) == 1
            and sample("events_queue_messages", queue=settings.EVENTS_QUEUE) == 0
        )
    )

    assert sample("events_consumed_total", type="user.deleted.v1", outcome="applied") == consumed + 1
    assert sample("events_dead_lettered_total", reason="invalid") == dead_lettered + 1
    assert sample("events_queue_messages", queue=settings.EVENTS_DEAD_LETTER_QUEUE) == 1
    assert sample("events_queue_messages", queue=settings.EVENTS_QUEUE) == 0
