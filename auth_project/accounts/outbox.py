"""The outbox relay: publish recorded events to RabbitMQ, mark them sent once the broker confirms, prune old ones."""

import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import pika
from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.utils import timezone
from opentelemetry.trace import SpanKind
from pika.exceptions import AMQPError

from accounts.metrics import events_published
from accounts.models import OutboxEvent
from config.tracing import traced, traceparent_now

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.5


class EventPublisher:
    """One AMQP connection with publisher confirms, publishing to the durable topic exchange of account events."""

    def __init__(self, *, url: str, exchange: str) -> None:
        parameters = pika.URLParameters(url)
        parameters.connection_attempts = 1
        parameters.socket_timeout = 5
        # A broker that blocks publishers (low memory or disk) must fail the batch, not hang the relay.
        parameters.blocked_connection_timeout = 30
        self.exchange = exchange
        self.connection = pika.BlockingConnection(parameters)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.channel.confirm_delivery()

    def publish(self, body: dict) -> None:
        """Return once the broker has the message on disk; raise when it refuses or no queue would receive it."""
        traceparent = traceparent_now()
        self.channel.basic_publish(
            self.exchange,
            routing_key=body["type"],
            body=json.dumps(body).encode(),
            properties=pika.BasicProperties(
                content_type="application/json",
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=body["id"],
                type=body["type"],
                timestamp=int(time.time()),
                headers={"traceparent": traceparent} if traceparent else None,
            ),
            # Unroutable (no queue bound yet, e.g. before the consumer's first start) is an error, so the event
            # stays in the outbox instead of being dropped by the exchange.
            mandatory=True,
        )

    def sleep(self, seconds: float) -> None:
        """Wait while answering the broker's heartbeats."""
        self.connection.sleep(seconds)

    def close(self) -> None:
        if self.connection.is_open:
            try:
                self.connection.close()
            except AMQPError:
                logger.debug("closing a broken broker connection failed")


def outbox_publish_batch(*, publish: Callable[[dict], None], batch_size: int) -> int:
    """Publish the oldest unsent events and mark them sent in one transaction; returns how many.

    The rows stay locked until the commit, and other relays skip them (SKIP LOCKED), so relays never share work.
    When the process dies after publishing and before the commit, the rows stay unsent and go out again: the
    consumer ignores the duplicate by its event id.
    """
    # Looked at first without a transaction: an idle relay never takes SQLite's write lock (immediate transactions).
    if not OutboxEvent.objects.filter(sent_at__isnull=True).exists():
        return 0
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .order_by("id")[:batch_size]
        )
        for event in events:
            # A span of the recording request's trace, so the message's headers carry that trace on.
            event_type = event.payload.get("type", "unknown")
            with traced(f"publish {event_type}", traceparent=event.trace_parent, kind=SpanKind.PRODUCER):
                publish(event.payload)
        outbox_mark_sent(event_ids=[event.id for event in events])
    for event in events:
        events_published.labels(type=event.payload.get("type", "unknown")).inc()
    return len(events)


def outbox_mark_sent(*, event_ids: list[int]) -> None:
    if event_ids:
        OutboxEvent.objects.filter(id__in=event_ids).update(sent_at=timezone.now())


def outbox_prune(*, retention: timedelta) -> int:
    """Delete events sent longer ago than the retention period; returns how many."""
    deleted, _ = OutboxEvent.objects.filter(sent_at__lt=timezone.now() - retention).delete()
    return deleted


def outbox_relay_run(*, should_stop: Callable[[], bool]) -> None:
    """Relay until should_stop() says so, reconnecting with exponential backoff while the broker or database fails."""
    delay = FIRST_RETRY_DELAY
    next_prune = 0.0
    while not should_stop():
        publisher = None
        try:
            publisher = EventPublisher(url=settings.AMQP_URL, exchange=settings.EVENTS_EXCHANGE)
            logger.info("relay connected to the broker", extra={"exchange": settings.EVENTS_EXCHANGE})
            while not should_stop():
                close_old_connections()
                sent = outbox_publish_batch(publish=publisher.publish, batch_size=settings.OUTBOX_BATCH_SIZE)
                if sent:
                    logger.info("outbox events published", extra={"count": sent})
                delay = FIRST_RETRY_DELAY
                if time.monotonic() >= next_prune:
                    pruned = outbox_prune(retention=timedelta(seconds=settings.OUTBOX_RETENTION))
                    if pruned:
                        logger.info("sent outbox events pruned", extra={"count": pruned})
                    next_prune = time.monotonic() + 60
                if sent < settings.OUTBOX_BATCH_SIZE:
                    publisher.sleep(settings.OUTBOX_POLL_INTERVAL)
        except (AMQPError, OSError, DatabaseError) as exc:
            logger.warning(
                "relay cannot publish; the events wait in the outbox",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": delay},
            )
        finally:
            if publisher is not None:
                publisher.close()
        if should_stop():
            break
        _sleep_unless_stopped(delay, should_stop)
        delay = min(delay * 2, settings.OUTBOX_RETRY_MAX_DELAY)


def _sleep_unless_stopped(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, deadline - time.monotonic()))
