"""Every process the local stack runs and supervises, declared once: adding a process is one entry here."""

import signal
from dataclasses import dataclass
from pathlib import Path

from .config import SERVICES, StackConfig

GATEWAY = "nginx"
NGINX_EXPORTER = "nginx-exporter"
PROMETHEUS = "prometheus"


@dataclass(frozen=True)
class ComponentSpec:
    """One kind of process: its command, how many instances run, and whether it answers HTTP on a port.

    A service's process runs in the service's folder with its virtual environment and settings
    (`StackConfig.service_env`). An HTTP component's instance n listens on the service's port + n - 1 and
    answers `GET <prefix>health/`; the gateway balances over its instances. Anything else (a relay, a
    consumer) only has to keep running: the supervisor restarts it when it exits.
    """

    name: str
    service: str | None
    command: tuple[str, ...] = ()
    count_variable: str | None = None
    http: bool = False
    stop_signal: signal.Signals = signal.SIGTERM
    # Runs only with OBSERVABILITY=on (observability.py builds its command line).
    observability: bool = False

    @property
    def program(self) -> str:
        """What the process's command line contains, so a reused pid is never taken for ours."""
        if self.service is None:
            return self.command[0] if self.command else GATEWAY
        # gunicorn names itself; a management command runs under python, so its own name tells it apart.
        return self.command[0] if self.http else self.command[-1]


# In start order; stopped in reverse, so the gateway stops taking requests first. A new process beside the
# web ones is one more entry, as the outbox relay and the event consumer are (docs/events.md).
COMPONENTS: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        "auth",
        service="auth",
        command=("gunicorn", "--config", "gunicorn.conf.py", "config.wsgi:application"),
        count_variable="AUTH_INSTANCES",
        http=True,
    ),
    ComponentSpec(
        "todo",
        service="todo",
        command=("gunicorn", "--config", "gunicorn.conf.py", "config.wsgi:application"),
        count_variable="TODO_INSTANCES",
        http=True,
    ),
    ComponentSpec("relay", service="auth", command=("python", "manage.py", "outbox_relay")),
    ComponentSpec("consumer", service="todo", command=("python", "manage.py", "consume_events")),
    # nginx stops gracefully on SIGQUIT (SIGTERM is its fast shutdown).
    ComponentSpec(GATEWAY, service=None, stop_signal=signal.SIGQUIT),
    # With OBSERVABILITY=on: the gateway's figures (its stub_status read by Debian's exporter), and Prometheus
    # scraping every process above (docs/observability.md).
    ComponentSpec(NGINX_EXPORTER, service=None, command=("prometheus-nginx-exporter",), observability=True),
    ComponentSpec(PROMETHEUS, service=None, command=("prometheus",), observability=True),
)


@dataclass(frozen=True)
class Instance:
    """One running copy of a component: auth-1, auth-2, todo-1, nginx."""

    spec: ComponentSpec
    index: int

    @property
    def name(self) -> str:
        return self.spec.name if self.spec.count_variable is None else f"{self.spec.name}-{self.index}"

    def port(self, config: StackConfig) -> int | None:
        if self.spec.name == GATEWAY:
            return config.gateway_port
        if self.spec.name == PROMETHEUS:
            return config.prometheus_port
        if self.spec.name == NGINX_EXPORTER:
            return self.metrics_port(config)
        return config.ports[self.spec.service] + self.index - 1 if self.spec.http else None

    def metrics_port(self, config: StackConfig) -> int | None:
        """Where this instance serves Prometheus metrics, with OBSERVABILITY=on: METRICS_PORT, + 1 for the next
        instance that has metrics, and so on in start order, so the ports follow the instance counts."""
        exposing = metrics_instances(config)
        return config.metrics_port + exposing.index(self) if self in exposing else None

    def health_url(self, config: StackConfig) -> str | None:
        if self.spec.name == GATEWAY:
            return f"{config.gateway_url}/healthz"
        if self.spec.name == PROMETHEUS:
            return f"http://127.0.0.1:{self.port(config)}/-/ready"
        if self.spec.name == NGINX_EXPORTER:
            return f"http://127.0.0.1:{self.port(config)}/metrics"
        if not self.spec.http:
            return None
        return f"http://127.0.0.1:{self.port(config)}{SERVICES[self.spec.service].prefix}health/"

    def log_file(self, config: StackConfig) -> Path:
        return config.log_dir / ("nginx-error.log" if self.spec.name == GATEWAY else f"{self.spec.name}.log")


def count(config: StackConfig, spec: ComponentSpec) -> int:
    if spec.observability and not config.observability:
        return 0
    return config.instances.get(spec.name, 1) if spec.count_variable else 1


def metrics_instances(config: StackConfig) -> list["Instance"]:
    """Every instance Prometheus scrapes (each service process, the gateway's exporter), in start order."""
    if not config.observability:
        return []
    return [each for each in instances(config) if each.spec.service is not None or each.spec.name == NGINX_EXPORTER]


def stub_status_port(config: StackConfig) -> int:
    """The gateway's stub_status, read by the exporter only: the port after the last metrics port."""
    return config.metrics_port + len(metrics_instances(config))


def instances(config: StackConfig, spec: ComponentSpec | None = None) -> list[Instance]:
    """Every instance of one component, or of all of them in start order."""
    specs = (spec,) if spec else COMPONENTS
    return [Instance(each, index) for each in specs for index in range(1, count(config, each) + 1)]


def http_instances(config: StackConfig, service: str) -> list[Instance]:
    return [instance for instance in instances(config) if instance.spec.http and instance.spec.service == service]
