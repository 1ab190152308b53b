"""The auth service's account events, consumed from the real RabbitMQ: todos purged, tokens refused, nothing lost."""

import json
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import pika
import pytest
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.test import Client
from rest_framework.test import APIClient

from tests.events_support import contract_errors, event_body, event_schema, publish, queue_depth
from todos import consumer, services
from todos.events import EVENT_TYPES, InvalidEvent, account_event_parse
from todos.models import AccountState, IdempotencyRecord, ProcessedEvent, Todo

SUB = "42"


def run_consumer(until: Callable[[], bool], timeout: float = 20.0) -> None:
    """Run the consumer until until() holds (checked between messages) or the timeout passes."""
    deadline = time.monotonic() + timeout
    consumer.EventConsumer(should_stop=lambda: until() or time.monotonic() > deadline).run()


def declare_queues(url: str) -> None:
    """What the consumer declares at its first start, so events published before it runs wait in its queue."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        consumer.events_topology_declare(connection.channel())
    finally:
        connection.close()


def processed(count: int) -> Callable[[], bool]:
    return lambda: ProcessedEvent.objects.count() >= count


def client_with_token(make_token: Callable[..., str], **claims: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(SUB, **claims)}")
    return client


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_consumer_reads_every_example_of_the_contract(event_type: str) -> None:
    [example] = event_schema(event_type)["examples"]

    event = account_event_parse(json.dumps(example).encode())

    assert (str(event.event_id), event.event_type, event.owner_id) == (example["id"], event_type, example["sub"])


@pytest.mark.parametrize(
    "change",
    [
        {"sub": 42},
        {"sub": ""},
        {"sub": "0"},
        {"id": "not-a-uuid"},
        {"id": "4F1C2B8E-7D0A-4C3E-9B61-2F5A8D9E0C17"},
        {"occurred_at": "2026-11-27T10:15:30Z"},
        {"occurred_at": "2026-13-45T10:15:30.000000Z"},
        {"type": "user.renamed.v1"},
        {"extra": "field"},
    ],
)
def test_the_consumer_refuses_what_the_contract_refuses(change: dict) -> None:
    body = {**event_schema("user.deleted.v1")["examples"][0], **change}

    with pytest.raises(InvalidEvent):
        account_event_parse(json.dumps(body).encode())
    if "occurred_at" not in change:  # the schema checks the shape of the time, the parser also the calendar
        assert contract_errors(body) != []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'"text"', b"\xff\xfe", b'{"id": null}'])
def test_the_consumer_refuses_a_message_that_is_no_event(body: bytes) -> None:
    with pytest.raises(InvalidEvent):
        account_event_parse(body)


@pytest.mark.django_db(transaction=True)
def test_user_deleted_purges_every_todo_of_the_user_and_refuses_their_tokens(
    broker: str, settings: Any, make_token: Callable[..., str], make_todo: Callable[..., Todo]
) -> None:
    make_todo(owner_id=SUB, title="mine")
    make_todo(owner_id=SUB, title="mine too")
    kept = make_todo(owner_id="43", title="someone else's")
    client = client_with_token(make_token)
    assert client.get("/todos/").json()["count"] == 2
    declare_queues(broker)

    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", SUB))
    run_consumer(until=processed(1))

    assert list(Todo.objects.values_list("id", flat=True)) == [kept.id]
    response = client.get("/todos/")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "detail": "The account of this token is deleted or deactivated",
        "code": "token_not_valid",
    }
    assert client.post("/todos/", {"title": "after"}, format="json").status_code == HTTPStatus.UNAUTHORIZED
    assert client_with_token(make_token).get("/todos/").status_code == HTTPStatus.UNAUTHORIZED
    assert queue_depth(broker, settings.EVENTS_QUEUE) == 0, "acknowledged"


@pytest.mark.django_db(transaction=True)
def test_deactivation_refuses_tokens_and_keeps_todos_and_reactivation_accepts_only_newer_tokens(
    broker: str, settings: Any, make_token: Callable[..., str], make_todo: Callable[..., Todo]
) -> None:
    make_todo(owner_id=SUB)
    now = datetime.now(UTC)
    before = client_with_token(make_token, iat=int(now.timestamp()) - 60)
    declare_queues(broker)

    publish(
        broker,
        settings.EVENTS_EXCHANGE,
        event_body("user.deactivated.v1", SUB, occurred_at=now - timedelta(seconds=30)),
    )
    run_consumer(until=processed(1))

    assert before.get("/todos/").status_code == HTTPStatus.UNAUTHORIZED
    assert Todo.objects.filter(owner_id=SUB).count() == 1, "a deactivation keeps the todos"

    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.reactivated.v1", SUB, occurred_at=now))
    run_consumer(until=processed(2))

    after = client_with_token(make_token, iat=int(now.timestamp()))
    assert after.get("/todos/").json()["count"] == 1, "a token issued after the reactivation works"
    assert before.get("/todos/").status_code == HTTPStatus.UNAUTHORIZED, "one issued before it stays refused"


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_event_changes_nothing(broker: str, settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    now = datetime.now(UTC)
    deactivated = event_body("user.deactivated.v1", SUB, occurred_at=now - timedelta(seconds=5))
    declare_queues(broker)

    publish(broker, settings.EVENTS_EXCHANGE, deactivated)
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.reactivated.v1", SUB, occurred_at=now))
    publish(broker, settings.EVENTS_EXCHANGE, deactivated)
    with caplog.at_level(logging.INFO, logger="todos.consumer"):
        run_consumer(until=lambda: "event ignored: applied before" in caplog.text)

    assert "event ignored: applied before" in caplog.text
    assert ProcessedEvent.objects.count() == 2
    assert AccountState.objects.get(owner_id=SUB).status == AccountState.Status.ACTIVE


@pytest.mark.django_db(transaction=True)
def test_an_event_older_than_the_state_it_meets_changes_nothing_and_a_deletion_is_final(
    broker: str, settings: Any, make_todo: Callable[..., Todo]
) -> None:
    now = datetime.now(UTC)
    declare_queues(broker)

    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.reactivated.v1", SUB, occurred_at=now))
    publish(
        broker, settings.EVENTS_EXCHANGE, event_body("user.deactivated.v1", SUB, occurred_at=now - timedelta(seconds=1))
    )
    run_consumer(until=processed(2))
    assert AccountState.objects.get(owner_id=SUB).status == AccountState.Status.ACTIVE

    publish(
        broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", SUB, occurred_at=now + timedelta(seconds=1))
    )
    publish(
        broker, settings.EVENTS_EXCHANGE, event_body("user.reactivated.v1", SUB, occurred_at=now + timedelta(seconds=2))
    )
    run_consumer(until=processed(4))
    assert AccountState.objects.get(owner_id=SUB).status == AccountState.Status.DELETED


@pytest.mark.django_db(transaction=True)
def test_events_published_while_the_consumer_is_stopped_wait_in_the_queue_and_apply_when_it_starts(
    broker: str, settings: Any, make_todo: Callable[..., Todo]
) -> None:
    make_todo(owner_id=SUB)
    make_todo(owner_id="43")
    declare_queues(broker)

    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", SUB))
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deactivated.v1", "43"))
    assert queue_depth(broker, settings.EVENTS_QUEUE) == 2
    assert Todo.objects.filter(owner_id=SUB).exists()

    run_consumer(until=processed(2))

    assert not Todo.objects.filter(owner_id=SUB).exists()
    assert AccountState.objects.get(owner_id="43").status == AccountState.Status.DEACTIVATED


@pytest.mark.django_db(transaction=True)
def test_an_invalid_message_is_dead_lettered_with_its_error_logged_and_the_next_event_still_applies(
    broker: str, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    declare_queues(broker)

    publish(broker, settings.EVENTS_EXCHANGE, b"{not json", routing_key="user.deleted.v1")
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", SUB))
    with caplog.at_level(logging.ERROR, logger="todos.consumer"):
        run_consumer(until=processed(1))

    assert queue_depth(broker, settings.EVENTS_DEAD_LETTER_QUEUE) == 1
    assert queue_depth(broker, settings.EVENTS_QUEUE) == 0
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert record.getMessage() == "event dead-lettered: invalid message"
    assert "not JSON" in record.error


@pytest.mark.django_db(transaction=True)
def test_an_event_that_keeps_failing_is_dead_lettered_after_its_attempts_with_the_error_logged(
    broker: str, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings.EVENTS_MAX_ATTEMPTS = 3
    attempts = []

    def failing(**kwargs: Any) -> bool:
        attempts.append(kwargs["event"].event_id)
        raise ValueError("the handler has a bug")

    monkeypatch.setattr(consumer, "account_event_apply", failing)
    declare_queues(broker)
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deleted.v1", SUB))

    with caplog.at_level(logging.WARNING, logger="todos.consumer"):
        run_consumer(until=lambda: queue_depth(broker, settings.EVENTS_DEAD_LETTER_QUEUE) == 1)

    assert len(attempts) == 3
    assert queue_depth(broker, settings.EVENTS_QUEUE) == 0
    [record] = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert record.getMessage() == "event dead-lettered: it kept failing"
    assert "the handler has a bug" in caplog.text
    assert not ProcessedEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_unreachable_the_consumer_keeps_retrying_without_crashing(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.AMQP_URL = f"amqp://guest:guest@127.0.0.1:{port}/%2F"
    started = time.monotonic()

    with caplog.at_level(logging.WARNING, logger="todos.consumer"):
        run_consumer(until=lambda: time.monotonic() - started > 2)

    retries = [record for record in caplog.records if "cannot reach the broker" in record.getMessage()]
    assert len(retries) >= 2


@pytest.mark.django_db
def test_user_deleted_also_deletes_the_responses_stored_under_the_users_idempotency_keys() -> None:
    # A stored response holds the todo's title and description: the account's data, gone with the account.
    IdempotencyRecord.objects.create(owner_id=SUB, key="k1", fingerprint="f", status_code=201, body=b'{"title":"x"}')
    kept = IdempotencyRecord.objects.create(owner_id="43", key="k1", fingerprint="f", status_code=201)

    assert services.account_event_apply(event=account_event_parse(json.dumps(event_body("user.deleted.v1", SUB))))

    assert list(IdempotencyRecord.objects.values_list("id", flat=True)) == [kept.id]


@pytest.mark.django_db
def test_a_stored_idempotent_response_written_after_the_deletion_was_applied_is_swept_away() -> None:
    now = datetime.now(UTC)
    AccountState.objects.create(owner_id=SUB, status=AccountState.Status.DELETED, tokens_not_before=now, changed_at=now)
    IdempotencyRecord.objects.create(owner_id=SUB, key="late", fingerprint="f", status_code=201)
    kept = IdempotencyRecord.objects.create(owner_id="43", key="late", fingerprint="f", status_code=201)

    services.account_deleted_todos_purge(applied_since=now - timedelta(minutes=5))

    assert list(IdempotencyRecord.objects.values_list("id", flat=True)) == [kept.id]


@pytest.mark.django_db
def test_a_todo_written_to_an_account_after_its_deletion_was_applied_is_swept_away(
    make_todo: Callable[..., Todo],
) -> None:
    now = datetime.now(UTC)
    AccountState.objects.create(owner_id=SUB, status=AccountState.Status.DELETED, tokens_not_before=now, changed_at=now)
    make_todo(owner_id=SUB, title="written by a request in flight during the deletion")
    kept = make_todo(owner_id="43")

    assert services.account_deleted_todos_purge(applied_since=now - timedelta(minutes=5)) == 1

    assert list(Todo.objects.values_list("id", flat=True)) == [kept.id]


@pytest.mark.django_db(transaction=True)
def test_the_consumer_sweeps_late_todos_of_deleted_accounts_without_waiting_for_an_event(
    broker: str, make_todo: Callable[..., Todo]
) -> None:
    now = datetime.now(UTC)
    AccountState.objects.create(owner_id=SUB, status=AccountState.Status.DELETED, tokens_not_before=now, changed_at=now)
    make_todo(owner_id=SUB)

    run_consumer(until=lambda: not Todo.objects.filter(owner_id=SUB).exists())

    assert not Todo.objects.filter(owner_id=SUB).exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_waits_while_the_database_is_unavailable_and_is_never_dead_lettered_for_it(
    broker: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.EVENTS_MAX_ATTEMPTS = 1
    outages = iter([OperationalError("the database restarts"), InterfaceError("connection already closed")])

    def database_comes_back(**kwargs: Any) -> bool:
        outage = next(outages, None)
        if outage is not None:
            raise outage
        return services.account_event_apply(**kwargs)

    monkeypatch.setattr(consumer, "account_event_apply", database_comes_back)
    declare_queues(broker)
    publish(broker, settings.EVENTS_EXCHANGE, event_body("user.deactivated.v1", SUB))

    run_consumer(until=processed(1))

    assert AccountState.objects.get(owner_id=SUB).status == AccountState.Status.DEACTIVATED
    assert queue_depth(broker, settings.EVENTS_DEAD_LETTER_QUEUE) == 0


@pytest.mark.django_db
def test_operators_see_the_account_states_in_the_admin_but_cannot_change_them() -> None:
    now = datetime.now(UTC)
    state = AccountState.objects.create(
        owner_id=SUB, status=AccountState.Status.DEACTIVATED, tokens_not_before=now, changed_at=now
    )
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(operator)

    listing = client.get("/todos/admin/todos/accountstate/?status=deactivated")
    deleting = client.post(f"/todos/admin/todos/accountstate/{SUB}/delete/", {"post": "yes"})

    assert listing.status_code == HTTPStatus.OK
    assert f">{SUB}<" in listing.content.decode()
    assert deleting.status_code == HTTPStatus.FORBIDDEN
    assert AccountState.objects.get(owner_id=SUB) == state
