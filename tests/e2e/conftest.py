"""End-to-end fixtures: one real stack (nginx, both services under gunicorn, PostgreSQL) for the session.

The stack runs on free ports with its own var/ folder, its own two databases and roles and its own RabbitMQ
virtual host, made here and dropped afterwards, so it never touches a developer's `make up` stack.
"""

import os
import secrets
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from e2e_stack import (
    ALLOWED_ORIGIN,
    POSTGRES_ADMIN_URL,
    Client,
    Stack,
    User,
    free_port_run,
    free_ports,
    next_client_address,
    rabbitmq_vhost,
    register_and_login,
    stack_var_dir,
)
from otlp_receiver import OtlpReceiver


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", POSTGRES_ADMIN_URL, "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
        capture_output=True,
    )


@contextmanager
def _running_stack(**overrides: str) -> Iterator[Stack]:
    """A stack on free ports with its own databases, var folder and broker vhost; `overrides` change its environment."""
    with rabbitmq_vhost("e2e") as broker_url:
        yield from _stack_on(broker_url, overrides)


def _stack_on(broker_url: str, overrides: dict[str, str]) -> Iterator[Stack]:
    suffix = secrets.token_hex(4)
    names = {service: f"e2e_{service}_{suffix}" for service in ("auth", "todo")}
    role_password = secrets.token_hex(16)
    host = POSTGRES_ADMIN_URL.split("@", 1)[-1].rsplit("/", 1)[0]
    gateway_port, auth_port, todo_port = free_ports(3)
    var_dir = stack_var_dir()
    env = os.environ | {
        "STACK_VAR_DIR": str(var_dir),
        "GATEWAY_PORT": str(gateway_port),
        "AUTH_PORT": str(auth_port),
        "TODO_PORT": str(todo_port),
        "AUTH_DATABASE_URL": f"postgres://{names['auth']}:{role_password}@{host}/{names['auth']}",
        "TODO_DATABASE_URL": f"postgres://{names['todo']}:{role_password}@{host}/{names['todo']}",
        "DJANGO_ENV": "development",
        "GATEWAY_RATE_LIMITS": "on",
        "CORS_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
        "GUNICORN_WORKERS": "2",
        "AMQP_URL": broker_url,
    }
    for name in (
        *("GATEWAY_CORS_ALLOWED_ORIGINS", "DJANGO_SECRET_KEY", "JWT_ISSUER", "JWT_AUDIENCE", "REDIS_URL"),
        *("JWT_LEEWAY", "GATEWAY_USER_RATE_LIMIT", "GATEWAY_USER_RATE_BURST"),
        *("OBSERVABILITY", "METRICS_PORT", "PROMETHEUS_PORT", "METRICS_BIND", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        *("GATEWAY_UPSTREAM", "TRUSTED_PROXY_IPS"),
    ):
        env.pop(name, None)
    env.update(overrides)
    running = Stack(url=f"http://127.0.0.1:{gateway_port}", var_dir=var_dir, env=env)
    try:
        for name in names.values():
            # One role per service, owning only its own database, as in production.
            _psql(f"CREATE ROLE {name} LOGIN PASSWORD '{role_password}'")
            _psql(f"CREATE DATABASE {name} OWNER {name}")
        running.start()
        yield running
    finally:
        running.run("down", check=False)
        for name in names.values():
            _psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            _psql(f"DROP ROLE IF EXISTS {name}")
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with _running_stack() as running:
        yield running


@pytest.fixture(scope="session")
def unthrottled_stack() -> Iterator[Stack]:
    """A second stack without the gateway's rate limits, for the schema fuzzer's thousands of requests."""
    with _running_stack(GATEWAY_RATE_LIMITS="off") as running:
        yield running


@pytest.fixture(scope="module")
def per_user_limited_stack() -> Iterator[Stack]:
    """A stack whose per-user rate limit (1 request a second, a burst of 5) is far below the per-address one."""
    with _running_stack(GATEWAY_USER_RATE_LIMIT="1r/s", GATEWAY_USER_RATE_BURST="5") as running:
        yield running


@pytest.fixture(scope="module")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def observed_stack(otlp_receiver: OtlpReceiver) -> Iterator[Stack]:
    """A stack with OBSERVABILITY=on and two auth instances: every process serves metrics, Prometheus scrapes them,
    and every process exports its spans to the test's OTLP receiver."""
    # Metrics: auth-1, auth-2, todo-1, relay, consumer, the nginx exporter, then nginx's stub_status.
    with _running_stack(
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.endpoint,
        # Export every 200 ms, so the tests wait less for the spans.
        OTEL_BSP_SCHEDULE_DELAY="200",
        OBSERVABILITY="on",
        AUTH_INSTANCES="2",
        AUTH_PORT=str(free_port_run(2)),
        METRICS_PORT=str(free_port_run(7)),
        PROMETHEUS_PORT=str(free_ports(1)[0]),
        GATEWAY_RATE_LIMITS="off",
    ) as running:
        yield running


@pytest.fixture
def make_client(stack: Stack) -> Iterator[Callable[[], Client]]:
    clients: list[Client] = []

    def make() -> Client:
        client = Client(stack.url, next_client_address())
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[[], Client]) -> Client:
    return make_client()


@pytest.fixture
def user(client: Client) -> User:
    return register_and_login(client)
