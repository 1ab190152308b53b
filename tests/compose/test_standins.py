"""The stand-ins honour what the official images' users rely on, where the compose stack does not show it yet.

The rabbitmq:3.10 stand-in serves the event services' broker (docs/containers.md): its default user and
password come from RABBITMQ_DEFAULT_USER/PASS, its health check command answers, and AMQP is published.
"""

import secrets
import socket
import subprocess
import sys
import time

import pytest
from compose_stack import STANDINS_SCRIPT, free_port, podman, podman_env

RABBITMQ = "rabbitmq:3.10"
BASE = "localhost/todo-microservices-standin-base:bookworm"


@pytest.fixture(scope="module")
def rabbitmq() -> dict[str, str]:
    built = subprocess.run([sys.executable, str(STANDINS_SCRIPT), RABBITMQ], env=podman_env(), text=True, check=False)
    assert built.returncode == 0, "building the rabbitmq stand-in failed (output above)"
    settings = {
        "name": f"tm-standin-rabbitmq-{secrets.token_hex(3)}",
        "user": "events",
        "password": secrets.token_hex(12),
        "port": str(free_port()),
    }
    podman(
        "run", "--detach", "--name", settings["name"], "--publish", f"127.0.0.1:{settings['port']}:5672",
        "--env", f"RABBITMQ_DEFAULT_USER={settings['user']}", "--env", f"RABBITMQ_DEFAULT_PASS={settings['password']}",
        RABBITMQ,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while podman("exec", settings["name"], "rabbitmq-diagnostics", "-q", "ping", check=False).returncode != 0:
            assert time.monotonic() < deadline, podman("logs", settings["name"], check=False).stdout[-4000:]
            time.sleep(2)
        # ping answers once the Erlang node is up, as with the official image; the broker starts after it.
        podman("exec", settings["name"], "rabbitmqctl", "await_startup", "--timeout", "60", timeout=90)
        yield settings
    finally:
        podman("rm", "--force", "--volumes", "--time", "5", settings["name"], check=False)


def test_the_rabbitmq_standin_creates_the_default_user_from_the_environment(rabbitmq):
    authenticate = ("exec", rabbitmq["name"], "rabbitmqctl", "authenticate_user", rabbitmq["user"])
    authenticated = podman(*authenticate, rabbitmq["password"], check=False)
    refused = podman(*authenticate, "wrong", check=False)
    users = podman("exec", rabbitmq["name"], "rabbitmqctl", "list_users", "--silent").stdout

    assert authenticated.returncode == 0, authenticated.stderr
    assert refused.returncode != 0
    assert "guest" not in users


def test_the_rabbitmq_standin_answers_amqp_on_its_published_port(rabbitmq):
    with socket.create_connection(("127.0.0.1", int(rabbitmq["port"])), timeout=10) as connection:
        connection.sendall(b"AMQP\x00\x00\x09\x01")
        frame = connection.recv(7)

    # A method frame (type 1) on channel 0: the broker's Connection.Start.
    assert frame[:3] == b"\x01\x00\x00"


def test_a_second_preparation_reuses_the_base_and_every_standin(rabbitmq):
    before = podman("image", "inspect", "--format", "{{.Id}}", BASE).stdout

    again = subprocess.run(
        [sys.executable, str(STANDINS_SCRIPT), "--all"], env=podman_env(), capture_output=True, text=True, check=True
    )

    lines = again.stdout.splitlines()
    assert len(lines) == 5, again.stdout
    assert all(line.endswith(": cached") for line in lines), again.stdout
    assert podman("image", "inspect", "--format", "{{.Id}}", BASE).stdout == before
