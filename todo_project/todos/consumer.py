"""The account-event consumer: apply each event in one transaction, acknowledge after the commit, dead-letter poison."""

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import pika
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils import timezone
from opentelemetry.trace import SpanKind
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from pika.spec import Basic, BasicProperties

from config.tracing import traced
from todos.events import InvalidEvent, account_event_parse
from todos.metrics import events_consumed, events_dead_lettered, events_queue_messages, events_redelivered
from todos.services import account_deleted_todos_purge, account_event_apply

logger = logging.getLogger(__name__)

FIRST_RETRY_DELAY = 0.5
# A request that passed its token check finishes within gunicorn's timeout (30 s), long before the window ends.
SWEEP_INTERVAL = 30.0
# How often the consumer reads its queues' depths for the metrics.
QUEUE_COUNT_INTERVAL = 5.0
SWEEP_WINDOW = timedelta(minutes=5)
# Errors that say the database is away, not that the event is bad: the event waits, it is never dead-lettered.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def events_topology_declare(channel: BlockingChannel) -> None:
    """The durable queue bound to the auth service's exchange, and its dead-letter queue (idempotent)."""
    dead_letter_exchange = f"{settings.EVENTS_QUEUE}.dead-letter"
    channel.exchange_declare(settings.EVENTS_EXCHANGE, exchange_type="topic", durable=True)
    channel.exchange_declare(dead_letter_exchange, exchange_type="fanout", durable=True)
    channel.queue_declare(settings.EVENTS_DEAD_LETTER_QUEUE, durable=True)
    channel.queue_bind(settings.EVENTS_DEAD_LETTER_QUEUE, dead_letter_exchange)
    channel.queue_declare(
        settings.EVENTS_QUEUE, durable=True, arguments={"x-dead-letter-exchange": dead_letter_exchange}
    )
    channel.queue_bind(settings.EVENTS_QUEUE, settings.EVENTS_EXCHANGE, routing_key="user.#")


def broker_connect() -> pika.BlockingConnection:
    parameters = pika.URLParameters(settings.AMQP_URL)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    return pika.BlockingConnection(parameters)


class EventConsumer:
    """Consume one message at a time; an event is acknowledged only once its transaction has committed."""

    def __init__(self, *, should_stop: Callable[[], bool]) -> None:
        self.should_stop = should_stop
        self.connection: pika.BlockingConnection | None = None
        self.next_sweep = 0.0
        self.next_queue_count = 0.0

    def run(self) -> None:
        """Consume until should_stop() says so, reconnecting with exponential backoff while the broker is away."""
        delay = FIRST_RETRY_DELAY
        while not self.should_stop():
            try:
                self.connection = broker_connect()
                channel = self.connection.channel()
                events_topology_declare(channel)
                # One unacknowledged message at a time: a failing event holds back the ones behind it only as long
                # as its retries last, and a crash redelivers at most one message.
                channel.basic_qos(prefetch_count=1)
                channel.basic_consume(settings.EVENTS_QUEUE, self.on_message)
                logger.info("consumer connected to the broker", extra={"queue": settings.EVENTS_QUEUE})
                delay = FIRST_RETRY_DELAY
                while not self.should_stop():
                    self.connection.process_data_events(time_limit=0.5)
                    self._sweep_when_due()
                    self._count_queues_when_due(channel)
            except (AMQPError, OSError) as exc:
                logger.warning(
                    "consumer cannot reach the broker; events wait in their queue",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": delay},
                )
            finally:
                self._close()
            if self.should_stop():
                break
            self._sleep(delay)
            delay = min(delay * 2, settings.EVENTS_RETRY_MAX_DELAY)

    def on_message(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        """Handle one message as a span of the trace its headers carry (the request that recorded the event)."""
        traceparent = (properties.headers or {}).get("traceparent", "")
        with traced(
            f"process {method.routing_key}",
            traceparent=traceparent if isinstance(traceparent, str) else "",
            kind=SpanKind.CONSUMER,
        ):
            self._handle(channel, method, properties, body)

    def _handle(
        self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        if method.redelivered:
            events_redelivered.inc()
        try:
            event = account_event_parse(body)
        except InvalidEvent as exc:
            logger.error(
                "event dead-lettered: invalid message",
                extra={"error": str(exc), "message_id": properties.message_id, "routing_key": method.routing_key},
            )
            channel.basic_nack(method.delivery_tag, requeue=False)
            events_dead_lettered.labels(reason="invalid").inc()
            return
        attempt = 0
        delay = FIRST_RETRY_DELAY
        while True:
            close_old_connections()
            try:
                applied = account_event_apply(event=event)
                break
            except DATABASE_UNAVAILABLE as exc:
                logger.warning(
                    "database unavailable; the event waits",
                    extra={"event_id": str(event.event_id), "error": str(exc), "retry_in": delay},
                )
            except Exception as exc:
                attempt += 1
                if attempt >= settings.EVENTS_MAX_ATTEMPTS:
                    logger.exception(
                        "event dead-lettered: it kept failing",
                        extra={"event_id": str(event.event_id), "event_type": event.event_type, "attempts": attempt},
                    )
                    channel.basic_nack(method.delivery_tag, requeue=False)
                    events_dead_lettered.labels(reason="failing").inc()
                    return
                logger.warning(
                    "event failed; retrying",
                    extra={
                        "event_id": str(event.event_id),
                        "error": f"{type(exc).__name__}: {exc}",
                        "attempt": attempt,
                    },
                )
            if self.should_stop():
                # Not acknowledged: the broker hands the event out again when this connection closes.
                return
            self._sleep(delay)
            delay = min(delay * 2, settings.EVENTS_RETRY_MAX_DELAY)
        channel.basic_ack(method.delivery_tag)
        events_consumed.labels(type=event.event_type, outcome="applied" if applied else "duplicate").inc()
        logger.info(
            "event applied" if applied else "event ignored: applied before",
            extra={"event_id": str(event.event_id), "event_type": event.event_type, "owner_id": event.owner_id},
        )

    def _sweep_when_due(self) -> None:
        """Purge todos written to recently deleted accounts by requests that were in flight during the deletion."""
        if time.monotonic() < self.next_sweep:
            return
        self.next_sweep = time.monotonic() + SWEEP_INTERVAL
        close_old_connections()
        try:
            purged = account_deleted_todos_purge(applied_since=timezone.now() - SWEEP_WINDOW)
        except DATABASE_UNAVAILABLE as exc:
            logger.warning("sweep skipped: database unavailable", extra={"error": str(exc)})
            return
        if purged:
            logger.info("late todos of deleted accounts purged", extra={"count": purged})

    def _count_queues_when_due(self, channel: BlockingChannel) -> None:
        """Read the depth of the queue and of its dead-letter queue for the metrics (a passive declare)."""
        if time.monotonic() < self.next_queue_count:
            return
        self.next_queue_count = time.monotonic() + QUEUE_COUNT_INTERVAL
        for queue in (settings.EVENTS_QUEUE, settings.EVENTS_DEAD_LETTER_QUEUE):
            declared = channel.queue_declare(queue, passive=True)
            events_queue_messages.labels(queue=queue).set(declared.method.message_count)

    def _sleep(self, seconds: float) -> None:
        """Wait, answering the broker's heartbeats while connected, and waking up early to stop."""
        deadline = time.monotonic() + seconds
        while not self.should_stop() and (remaining := deadline - time.monotonic()) > 0:
            if self.connection is not None and self.connection.is_open:
                self.connection.sleep(min(0.2, remaining))
            else:
                time.sleep(min(0.2, remaining))

    def _close(self) -> None:
        if self.connection is not None and self.connection.is_open:
            try:
                self.connection.close()
            except AMQPError:
                logger.debug("closing a broken broker connection failed")
        self.connection = None
