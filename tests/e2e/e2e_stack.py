"""What the end-to-end tests share: the stack handle, a client bound to its own address, a registered user.

Each test talks to the stack as a client would, over HTTP through the gateway, from its own loopback
address (127.0.x.y), so one test's requests never spend another test's rate-limit budget.
"""

import contextlib
import itertools
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "stack.py"
POSTGRES_ADMIN_URL = os.environ.get("E2E_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# The shared broker of this machine kind; each stack gets a virtual host of its own on it.
BROKER = "guest:guest@127.0.0.1:5672"
PASSWORD = "e2e-Correct-Horse-7731"
# The services' own django-cors-headers is switched on for this origin, so the tests prove the gateway
# hides the services' CORS headers (a response must never carry two).
ALLOWED_ORIGIN = "http://localhost:3000"
FOREIGN_ORIGIN = "http://evil.example"
_client_addresses = (f"127.0.{high}.{low}" for high, low in itertools.product(range(1, 255), range(1, 255)))


def _ports_below_the_ephemeral_range() -> range:
    """Ports the kernel never hands out for outgoing connections: a port picked in its ephemeral range (32768-60999
    on Linux) can be taken by any connection a test or a service opens before the stack binds it (seen in CI:
    "port ... is taken by another program")."""
    try:
        ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_start = 32768
    return range(10000, max(ephemeral_start, 20000))


def free_port_run(length: int) -> int:
    """The first of `length` consecutive free ports (a service's instances take consecutive ports), outside the
    kernel's ephemeral range."""
    candidates = _ports_below_the_ephemeral_range()
    for _ in range(200):
        first = random.randint(candidates.start, candidates.stop - length)
        with contextlib.ExitStack() as probes:
            try:
                for port in range(first, first + length):
                    probes.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
        return first
    raise RuntimeError(f"no run of {length} free ports found")


def free_ports(count: int) -> list[int]:
    """Loopback ports nothing listens on now, all different, outside the kernel's ephemeral range."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port_run(1)
        if port not in ports:
            ports.append(port)
    return ports


def stack_var_dir() -> Path:
    """A var/ folder nginx's workers can reach: run as root, they run as nobody, and pytest's tmp_path is
    private to root, so a request body nginx buffers to a file (over 64 KiB) would be a 500, and the gateway could
    not keep the auth service's keys for its token check."""
    var_dir = Path(tempfile.mkdtemp(prefix="e2e-stack-"))
    var_dir.chmod(0o755)
    return var_dir


def next_client_address() -> str:
    """A loopback address no other client of this session has used."""
    return next(_client_addresses)


@dataclass
class Stack:
    """The running stack: where it answers, where it keeps its files, how to drive stack.py."""

    url: str
    var_dir: Path
    env: dict[str, str]

    def run(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [sys.executable, str(STACK_SCRIPT), *arguments], env=self.env, capture_output=True, text=True
        )
        if check and completed.returncode != 0:
            pytest.fail(f"stack.py {' '.join(arguments)} failed:\n{completed.stdout}\n{completed.stderr}")
        return completed

    def start(self) -> None:
        """`stack.py up`, or fail the test with the end of every log."""
        started = self.run("up", check=False)
        if started.returncode != 0:
            logs = self.run("logs", "--lines", "40", check=False).stdout
            pytest.fail(f"stack.py up failed:\n{started.stdout}\n{started.stderr}\n{logs}")

    def pid(self, component: str) -> int:
        return int((self.var_dir / "run" / f"{component}.pid").read_text())

    def log_lines(self, name: str) -> list[dict]:
        """The JSON lines of one log (nginx-access, auth, todo); other lines (gunicorn's own) are skipped."""
        entries = []
        for line in (self.var_dir / "log" / f"{name}.log").read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def wait_for_log(self, name: str, request_id: str, timeout: float = 5.0) -> list[dict]:
        """The lines of a log carrying request_id, once there are any (nginx flushes its log every second)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [entry for entry in self.log_lines(name) if entry.get("request_id") == request_id]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.2)


class _FromAddress(HTTPAdapter):
    """Connect from a given local address, so the gateway sees a distinct client."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Client(requests.Session):
    """A client of the gateway: paths are relative to it, and every request has a short timeout."""

    def __init__(self, base_url: str, address: str) -> None:
        super().__init__()
        self.base_url = base_url
        self.address = address
        self.mount("http://", _FromAddress(address))

    def request(self, method: str, url: str, *args, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return super().request(method, self.base_url + url, *args, **kwargs)


@dataclass
class User:
    """A registered user with a fresh token pair."""

    username: str
    access: str
    refresh: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


def register_and_login(client: Client) -> User:
    username = f"e2e-{uuid.uuid4().hex[:12]}"
    registered = client.post(
        "/auth/register/", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.text
    login = client.post("/auth/login/", json={"username": username, "password": PASSWORD})
    assert login.status_code == HTTPStatus.OK, login.text
    return User(username=username, access=login.json()["access"], refresh=login.json()["refresh"])


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


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, interval: float = 0.3) -> bool:
    """Poll condition() until it holds or the timeout passes; returns its last answer."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
