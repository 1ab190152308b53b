"""What the event tests share: messages built from the contract (contracts/events/) and a RabbitMQ virtual host."""

import json
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pika
from jsonschema import Draft202012Validator

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "events"
# The shared broker of this machine kind; each test session works in a virtual host it makes and deletes.
BROKER = "guest:guest@127.0.0.1:5672"


def event_schema(event_type: str) -> dict:
    return json.loads((CONTRACTS / f"{event_type}.schema.json").read_text())


def contract_errors(body: dict) -> list[str]:
    """What is wrong with an event body by the schema of its type (an unknown type is an error too)."""
    path = CONTRACTS / f"{body.get('type')}.schema.json"
    if not path.is_file():
        return [f"no schema for type {body.get('type')!r}"]
    return [error.message for error in Draft202012Validator(json.loads(path.read_text())).iter_errors(body)]


def event_body(event_type: str, sub: str, *, occurred_at: datetime | None = None) -> dict:
    """An event as the auth service sends it: the schema's example with this user, a fresh id and time; checked."""
    body = {
        **event_schema(event_type)["examples"][0],
        "id": str(uuid.uuid4()),
        "sub": sub,
        "occurred_at": (occurred_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    assert contract_errors(body) == [], body
    return body


def _rabbitmqctl(*arguments: str) -> None:
    program = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    subprocess.run([program, "--quiet", *arguments], check=True, capture_output=True, timeout=120)


@contextmanager
def rabbitmq_vhost(prefix: str) -> Iterator[str]:
    """A fresh virtual host on the shared broker, with rights for guest; yields its AMQP URL, deletes it after."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"amqp://{BROKER}/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


def publish(
    url: str, exchange: str, body: dict | bytes, *, routing_key: str | None = None, headers: dict | None = None
) -> None:
    """Publish one persistent message to the exchange, as the auth service's relay does."""
    if isinstance(body, dict):
        routing_key = routing_key or body["type"]
        body = json.dumps(body).encode()
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            routing_key or "user.deleted.v1",
            body,
            pika.BasicProperties(
                content_type="application/json", delivery_mode=pika.DeliveryMode.Persistent, headers=headers
            ),
            mandatory=True,
        )
    finally:
        connection.close()


def queue_depth(url: str, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()
