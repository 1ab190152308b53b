"""The outbox relay against the real RabbitMQ: confirmed publishing, nothing lost while the broker is away."""

import socket
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts import outbox, services
from accounts.models import OutboxEvent
from tests.events_support import bind_queue, contract_errors, drain

# The relay commits its own transactions, as it does in production.
pytestmark = pytest.mark.django_db(transaction=True)


def record(event_type: str = "user.deleted.v1", user_id: int = 7) -> OutboxEvent:
    with transaction.atomic():
        return services.outbox_event_record(event_type=event_type, user_id=user_id)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"amqp://guest:guest@127.0.0.1:{port}/%2F"


def relay_until(condition, timeout: float = 20.0) -> None:
    """Run the relay loop until condition() holds (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    outbox.outbox_relay_run(should_stop=lambda: condition() or time.monotonic() > deadline)


def unsent() -> int:
    return OutboxEvent.objects.filter(sent_at__isnull=True).count()


@pytest.fixture
def queue(broker, settings) -> str:
    name = f"test-queue-{uuid.uuid4().hex[:8]}"
    bind_queue(broker, exchange=settings.EVENTS_EXCHANGE, queue=name)
    return name


def test_the_relay_publishes_persistent_confirmed_events_in_order_and_marks_them_sent(broker, queue, settings):
    events = [record("user.deactivated.v1", 7), record("user.reactivated.v1", 7), record("user.deleted.v1", 8)]

    relay_until(lambda: unsent() == 0)

    messages = drain(broker, queue)
    assert [body for _, body in messages] == [event.payload for event in events]
    for properties, body in messages:
        assert contract_errors(body) == []
        assert properties.delivery_mode == 2, "persistent"
        assert properties.message_id == body["id"]
        assert properties.type == body["type"]
        assert properties.content_type == "application/json"
    assert unsent() == 0


def test_with_the_broker_unreachable_events_wait_in_the_outbox_and_go_out_once_it_is_back(broker, queue, settings):
    event = record()
    settings.AMQP_URL = closed_port_url()
    started = time.monotonic()

    relay_until(lambda: time.monotonic() - started > 1.5)

    assert unsent() == 1
    settings.AMQP_URL = broker
    relay_until(lambda: unsent() == 0)
    assert [body for _, body in drain(broker, queue)] == [event.payload]


def test_an_event_no_queue_would_receive_stays_in_the_outbox(broker, settings):
    record()
    started = time.monotonic()

    relay_until(lambda: time.monotonic() - started > 1.5)

    assert unsent() == 1, "the exchange would have dropped it: the relay keeps it until a queue is bound"
    queue = f"late-queue-{uuid.uuid4().hex[:8]}"
    bind_queue(broker, exchange=settings.EVENTS_EXCHANGE, queue=queue)
    relay_until(lambda: unsent() == 0)
    assert len(drain(broker, queue)) == 1


def test_a_relay_killed_between_publishing_and_marking_sends_the_event_again(broker, queue, settings, monkeypatch):
    event = record()

    def killed(**kwargs):
        raise KeyboardInterrupt  # the process dies: nothing after the publish runs

    monkeypatch.setattr(outbox, "outbox_mark_sent", killed)
    publisher = outbox.EventPublisher(url=broker, exchange=settings.EVENTS_EXCHANGE)
    try:
        with pytest.raises(KeyboardInterrupt):
            outbox.outbox_publish_batch(publish=publisher.publish, batch_size=10)
    finally:
        publisher.close()
    assert unsent() == 1
    monkeypatch.undo()

    relay_until(lambda: unsent() == 0)

    assert [body["id"] for _, body in drain(broker, queue)] == [event.payload["id"]] * 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED is PostgreSQL's; on SQLite one relay runs")
def test_two_relays_at_once_never_publish_the_same_event(broker, queue, settings):
    first, second = record(user_id=1), record(user_id=2)
    published: list[tuple[str, str]] = []
    first_holds_its_row = threading.Event()
    second_is_done = threading.Event()

    def slow_publish(body: dict) -> None:
        published.append(("slow", body["id"]))
        first_holds_its_row.set()
        second_is_done.wait(10)

    def slow_relay() -> None:
        try:
            outbox.outbox_publish_batch(publish=slow_publish, batch_size=1)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_relay)
    thread.start()
    first_holds_its_row.wait(10)
    count = outbox.outbox_publish_batch(publish=lambda body: published.append(("fast", body["id"])), batch_size=10)
    second_is_done.set()
    thread.join(10)

    assert count == 1, "the second relay skipped the row the first one holds"
    assert sorted(published) == sorted([("slow", first.payload["id"]), ("fast", second.payload["id"])])
    assert unsent() == 0


def test_sent_events_are_pruned_after_the_retention_period_and_unsent_ones_never(settings):
    old, recent, waiting = record(), record(), record()
    OutboxEvent.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timedelta(days=8))
    OutboxEvent.objects.filter(pk=recent.pk).update(sent_at=timezone.now() - timedelta(days=1))
    OutboxEvent.objects.filter(pk=waiting.pk).update(occurred_at=timezone.now() - timedelta(days=30))

    assert outbox.outbox_prune(retention=timedelta(days=7)) == 1

    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}


def test_the_backlog_command_says_how_many_events_wait_and_for_how_long():
    output = StringIO()
    call_command("outbox_backlog", stdout=output)
    assert output.getvalue().strip() == "outbox: nothing waiting (0 sent, kept until pruned)"

    record()
    OutboxEvent.objects.update(occurred_at=timezone.now() - timedelta(seconds=90))
    output = StringIO()
    call_command("outbox_backlog", stdout=output)
    assert output.getvalue().startswith("outbox: 1 event waiting, the oldest for 90 s")
