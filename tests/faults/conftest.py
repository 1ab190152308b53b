"""Fault-test fixtures: a private PostgreSQL server, a stack of two instances per service on it, a load.

The PostgreSQL server is this session's own (initdb into a temporary folder, a free port), so a test may
stop and start it; the shared server on 127.0.0.1:5432 is never touched. The stack runs with the
gateway's rate limits off, since the load comes from a handful of clients.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_stack import Client, Stack, User, free_port_run, next_client_address, register_and_login

POSTGRES_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
INSTANCES = 2


@dataclass
class PostgresServer:
    """A PostgreSQL server of this test session's own, which a test may stop and start."""

    bin_dir: Path
    data_dir: Path
    port: int
    run_as: list[str]

    def pg_ctl(self, *arguments: str) -> None:
        log = self.data_dir.parent / "postgres.log"
        subprocess.run(
            [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(log), *arguments],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self.pg_ctl("start", "-w", "-t", "30")

    def stop(self) -> None:
        # fast: what a restart in production does to the open connections (they are cut, transactions roll back).
        self.pg_ctl("stop", "-m", "fast", "-w", "-t", "30")

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not POSTGRES_BIN_DIRS:
        pytest.fail("PostgreSQL's server programs are missing (apt-get install postgresql)")
    bin_dir = POSTGRES_BIN_DIRS[-1]
    folder = Path(tempfile.mkdtemp(prefix="faults-postgres-"))
    folder.chmod(0o755)
    data_dir = folder / "data"
    # initdb refuses to run as root: run the server as the postgres user then.
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if run_as:
        shutil.chown(folder, "postgres")
    subprocess.run(
        [*run_as, str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    port = free_port_run(1)
    settings = (
        f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{folder}'\n"
        "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
    )
    with open(data_dir / "postgresql.conf", "a") as conf:
        conf.write(settings)
    server = PostgresServer(bin_dir=bin_dir, data_dir=data_dir, port=port, run_as=run_as)
    server.start()
    try:
        for database in ("auth", "todo"):
            subprocess.run(
                ["psql", server.url("postgres"), "--quiet", "--no-psqlrc", "-c", f"CREATE DATABASE {database}"],
                check=True,
                capture_output=True,
            )
        yield server
    finally:
        subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "stop", "-m", "immediate"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(postgres: PostgresServer) -> Iterator[Stack]:
    var_dir = Path(tempfile.mkdtemp(prefix="faults-stack-"))
    # Run as root, nginx's workers run as nobody and must reach the folder for bodies they buffer to files.
    var_dir.chmod(0o755)
    gateway_port = free_port_run(1)
    auth_port = free_port_run(INSTANCES)
    todo_port = free_port_run(INSTANCES)
    env = os.environ | {
        "STACK_VAR_DIR": str(var_dir),
        "GATEWAY_PORT": str(gateway_port),
        "AUTH_PORT": str(auth_port),
        "TODO_PORT": str(todo_port),
        "AUTH_INSTANCES": str(INSTANCES),
        "TODO_INSTANCES": str(INSTANCES),
        "AUTH_DATABASE_URL": postgres.url("auth"),
        "TODO_DATABASE_URL": postgres.url("todo"),
        "DJANGO_ENV": "development",
        "GATEWAY_RATE_LIMITS": "off",
    }
    for name in (
        *("GATEWAY_CORS_ALLOWED_ORIGINS", "DJANGO_SECRET_KEY", "JWT_ISSUER", "JWT_AUDIENCE", "REDIS_URL"),
        # A developer's OBSERVABILITY=on (.env) would take the fixed metrics and Prometheus ports of their own stack.
        *("OBSERVABILITY", "METRICS_PORT", "PROMETHEUS_PORT", "METRICS_BIND", "OTEL_EXPORTER_OTLP_ENDPOINT"),
        # The faults are tried on the gateway's default way to the services (Unix sockets).
        "GATEWAY_UPSTREAM",
        "TRUSTED_PROXY_IPS",
    ):
        env.pop(name, None)
    running = Stack(url=f"http://127.0.0.1:{gateway_port}", var_dir=var_dir, env=env)
    try:
        running.start()
        yield running
    finally:
        running.run("down", check=False)
        shutil.rmtree(var_dir, ignore_errors=True)


@dataclass
class Outcome:
    """One request of the load: what was asked, what came back (a status, or the client-side error)."""

    method: str
    path: str
    started: float
    status: int | None
    error: str | None
    seconds: float
    body: str = ""
    retry_after: str | None = None


@dataclass
class Load:
    """Requests from several clients at once until stopped; every outcome is kept."""

    clients: list[tuple[Client, User]]
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _request(self, client: Client, method: str, path: str, **kwargs) -> None:
        started = time.monotonic()
        # Every client-side failure (refused, reset, timed out) is an outcome to report, not a crash.
        try:
            response = client.request(method, path, timeout=35, **kwargs)
        except Exception as error:
            outcome = Outcome(method, path, started, None, repr(error), time.monotonic() - started)
        else:
            outcome = Outcome(
                method,
                path,
                started,
                response.status_code,
                None,
                time.monotonic() - started,
                response.text[:200],
                response.headers.get("Retry-After"),
            )
        self.outcomes.append(outcome)

    def _loop(self, client: Client, user: User) -> None:
        while not self.stopping.is_set():
            self._request(client, "GET", "/todos/", headers=user.auth)
            self._request(client, "POST", "/todos/", headers=user.auth, json={"title": "under load"})
            self._request(client, "GET", "/auth/me/", headers=user.auth)

    def run(self, seconds: float, during: Callable[[], None] = lambda: None) -> list[Outcome]:
        """Drive the load for `seconds`, calling `during` (the fault) from this thread meanwhile."""
        threads = [threading.Thread(target=self._loop, args=pair, daemon=True) for pair in self.clients]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            during()
            time.sleep(max(seconds - (time.monotonic() - started), 0))
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=60)
        return self.outcomes


@pytest.fixture
def load(stack: Stack) -> Iterator[Load]:
    """Eight clients, each from its own address and with its own user."""
    clients = []
    for _ in range(8):
        client = Client(stack.url, next_client_address())
        clients.append((client, register_and_login(client)))
    yield Load(clients)
    for client, _ in clients:
        client.close()
