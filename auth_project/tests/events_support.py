"""What the event tests share: the event contract (contracts/events/) and a RabbitMQ virtual host of their own."""

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
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


def drain(url: str, queue: str) -> list[tuple[pika.spec.BasicProperties, dict]]:
    """Every message now in a queue (taken off it), with its properties."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        messages = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return messages
            messages.append((properties, json.loads(body)))
    finally:
        connection.close()


def bind_queue(url: str, *, exchange: str, queue: str) -> None:
    """A durable queue receiving every event of the exchange, as a consumer's would."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, exchange, routing_key="#")
    finally:
        connection.close()
