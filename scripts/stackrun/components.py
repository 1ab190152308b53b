"""Every process the local stack runs and supervises, declared once: adding a process is one entry here."""

import signal
from dataclasses import dataclass
from pathlib import Path

from .config import SERVICES, StackConfig

GATEWAY = "nginx"


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

    @property
    def program(self) -> str:
        """What the process's command line contains, so a reused pid is never taken for ours."""
        if self.service is None:
            return GATEWAY
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
        if self.spec.service is None:
            return config.gateway_port
        return config.ports[self.spec.service] + self.index - 1 if self.spec.http else None

    def health_url(self, config: StackConfig) -> str | None:
        if self.spec.service is None:
            return f"{config.gateway_url}/healthz"
        if not self.spec.http:
            return None
        return f"http://127.0.0.1:{self.port(config)}{SERVICES[self.spec.service].prefix}health/"

    def log_file(self, config: StackConfig) -> Path:
        return config.log_dir / ("nginx-error.log" if self.spec.service is None else f"{self.spec.name}.log")


def count(config: StackConfig, spec: ComponentSpec) -> int:
    return config.instances.get(spec.name, 1) if spec.count_variable else 1


def instances(config: StackConfig, spec: ComponentSpec | None = None) -> list[Instance]:
    """Every instance of one component, or of all of them in start order."""
    specs = (spec,) if spec else COMPONENTS
    return [Instance(each, index) for each in specs for index in range(1, count(config, each) + 1)]


def http_instances(config: StackConfig, service: str) -> list[Instance]:
    return [instance for instance in instances(config) if instance.spec.http and instance.spec.service == service]
