"""The local stack's settings, read once from the environment, and the environment each service gets."""

import grp
import json
import os
import pwd
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

DEFAULT_CORS_ORIGINS = "http://localhost:3000 http://localhost:5173"
JWT_ISSUER = "todo-microservices-auth"
JWT_AUDIENCE = "todo-microservices"
SETTINGS_MODULES = {"development": "config.settings.local", "production": "config.settings.production"}


class StackError(Exception):
    """A problem the user can fix, reported as one clear line instead of a traceback."""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


@dataclass(frozen=True)
class ServiceSpec:
    """Where a service lives and which URL prefix it owns."""

    name: str
    project_dir: Path
    prefix: str
    port_variable: str
    default_port: int

    @property
    def venv(self) -> Path:
        return REPO / ".venvs" / self.name

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"


SERVICES = {
    "auth": ServiceSpec("auth", REPO / "auth_project", "/auth/", "AUTH_PORT", 8001),
    "todo": ServiceSpec("todo", REPO / "todo_project", "/todos/", "TODO_PORT", 8002),
}


MAX_INSTANCES = 16
# How the gateway reaches the services' instances (GATEWAY_UPSTREAM): a Unix socket per instance, beside its port,
# costs the gateway and the services less than loopback TCP (docs/benchmarks.md); "tcp" uses the ports alone.
UPSTREAM_TRANSPORTS = ("unix", "tcp")
# The longest path a Unix socket may have on Linux (sun_path's 108 bytes, less the closing NUL).
UNIX_SOCKET_PATH_MAX = 107
# The gateway's own token verifier's socket, beside the services' (nginx/templates/token_check.conf.template).
VERIFIER_SOCKET_NAME = "gateway-verifier"
# Started as root, nginx runs its workers as this user (its compiled-in default; nginx.conf sets none).
NGINX_WORKER_USER = "nobody"


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise StackError(f"{name}={value!r} is not a port number")
    return int(value)


def _count(environ: Mapping[str, str], name: str) -> int:
    value = environ.get(name) or "1"
    if not value.isdigit() or not 1 <= int(value) <= MAX_INSTANCES:
        raise StackError(f"{name}={value!r}: use a number of instances from 1 to {MAX_INSTANCES}")
    return int(value)


def nginx_worker_group() -> int:
    """The group nginx's workers run in when it is started as root: the primary group of its default user."""
    try:
        return pwd.getpwnam(NGINX_WORKER_USER).pw_gid
    except KeyError:
        return grp.getgrnam("nogroup").gr_gid


def _check_ports(gateway_port: int, ports: Mapping[str, int], instances: Mapping[str, int]) -> None:
    """Each service's instances take consecutive ports from its *_PORT; no two may meet."""
    taken = {gateway_port: "GATEWAY_PORT"}
    for service, first in ports.items():
        variable = SERVICES[service].port_variable
        for index in range(instances.get(service, 1)):
            port = first + index
            label = variable if index == 0 else f"{variable}+{index} ({service} instance {index + 1})"
            if port in taken:
                raise StackError(
                    f"port {port} would serve both {taken[port]} and {label}: each service's instances use "
                    "consecutive ports from its *_PORT, so space them apart (for example TODO_PORT=8011)"
                )
            if port > 65535:
                raise StackError(f"{label} would need port {port}, beyond 65535")
            taken[port] = label


@dataclass(frozen=True)
class StackConfig:
    """Everything `up` needs to know, from the environment (docs/configuration.md)."""

    environ: Mapping[str, str]
    var_dir: Path
    gateway_port: int
    ports: Mapping[str, int]
    django_env: str
    rate_limits: str
    cors_origins: str
    # Instances per component that runs more than one (components.py): {"auth": 2, "todo": 2}.
    instances: Mapping[str, int] = field(default_factory=dict)
    # OBSERVABILITY=on: every process serves metrics from METRICS_PORT on, and Prometheus scrapes them.
    observability: bool = False
    metrics_port: int = 9100
    prometheus_port: int = 9090
    # GATEWAY_UPSTREAM: "unix" (each HTTP instance also listens on a socket under run/sockets/) or "tcp".
    upstream: str = "unix"

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str], count_variables: Mapping[str, str] | None = None
    ) -> "StackConfig":
        """Read and check the settings; count_variables maps a component to its *_INSTANCES variable."""
        django_env = environ.get("DJANGO_ENV") or "development"
        if django_env not in SETTINGS_MODULES:
            raise StackError(f"DJANGO_ENV={django_env!r}: use development or production")
        rate_limits = (environ.get("GATEWAY_RATE_LIMITS") or "on").lower()
        if rate_limits not in {"on", "off"}:
            raise StackError(f"GATEWAY_RATE_LIMITS={rate_limits!r}: use on or off")
        ports = {name: _port(environ, spec.port_variable, spec.default_port) for name, spec in SERVICES.items()}
        gateway_port = _port(environ, "GATEWAY_PORT", 8080)
        instances = {name: _count(environ, variable) for name, variable in (count_variables or {}).items()}
        _check_ports(gateway_port, ports, instances)
        var_dir = Path(environ.get("STACK_VAR_DIR") or REPO / "var").resolve()
        observability = (environ.get("OBSERVABILITY") or "off").lower()
        if observability not in {"on", "off"}:
            raise StackError(f"OBSERVABILITY={observability!r}: use on or off")
        upstream = (environ.get("GATEWAY_UPSTREAM") or "unix").lower()
        if upstream not in UPSTREAM_TRANSPORTS:
            raise StackError(f"GATEWAY_UPSTREAM={upstream!r}: use {' or '.join(UPSTREAM_TRANSPORTS)}")
        return cls(
            environ=dict(environ),
            var_dir=var_dir,
            gateway_port=gateway_port,
            ports=ports,
            django_env=django_env,
            rate_limits=rate_limits,
            cors_origins=" ".join(environ.get("GATEWAY_CORS_ALLOWED_ORIGINS", DEFAULT_CORS_ORIGINS).split()),
            instances=instances,
            observability=observability == "on",
            metrics_port=_port(environ, "METRICS_PORT", 9100),
            prometheus_port=_port(environ, "PROMETHEUS_PORT", 9090),
            upstream=upstream,
        )

    # ------------------------------------------------------------------ folders under var/
    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def nginx_dir(self) -> Path:
        return self.var_dir / "nginx"

    @property
    def keys_dir(self) -> Path:
        return self.var_dir / "keys"

    @property
    def socket_dir(self) -> Path:
        return self.run_dir / "sockets"

    def socket_path(self, instance_name: str) -> Path | None:
        """The Unix socket an HTTP instance listens on for the gateway (with GATEWAY_UPSTREAM=unix), else None."""
        if self.upstream != "unix":
            return None
        path = self.socket_dir / f"{instance_name}.sock"
        if len(os.fsencode(path)) > UNIX_SOCKET_PATH_MAX:
            raise StackError(
                f"{path} is longer than a Unix socket's path may be ({UNIX_SOCKET_PATH_MAX} bytes): use a shorter "
                "STACK_VAR_DIR, or GATEWAY_UPSTREAM=tcp"
            )
        return path

    @property
    def verifier_socket(self) -> Path | None:
        """The Unix socket of the gateway's own token verifier (with GATEWAY_UPSTREAM=unix), else None."""
        return self.socket_path(VERIFIER_SOCKET_NAME)

    def pid_file(self, component: str) -> Path:
        return self.run_dir / f"{component}.pid"

    def hold_file(self, name: str) -> Path:
        """Present while an operator holds a process stopped (`stack.py stop NAME`): the supervisor leaves it down."""
        return self.run_dir / f"{name}.held"

    def log_files(self) -> dict[str, Path]:
        """Every log: the gateway's two, one per component (its instances share it), the supervisor's."""
        names = sorted(path.stem for path in self.log_dir.glob("*.log")) if self.log_dir.exists() else []
        wanted = ["nginx-access", "nginx-error", *SERVICES, "supervisor"]
        return {name: self.log_dir / f"{name}.log" for name in dict.fromkeys([*wanted, *names])}

    def make_folders(self) -> None:
        for folder in (self.run_dir, self.log_dir, self.nginx_dir, self.var_dir / "db", self.var_dir / "static"):
            folder.mkdir(parents=True, exist_ok=True)
        if self.upstream == "unix":
            self.make_socket_folder()

    def make_socket_folder(self) -> None:
        """run/sockets/, which only the stack's user and nginx's workers may enter: gunicorn makes its sockets open
        to all (mode 0777), and the services believe the X-Real-IP of whoever connects to one, so the folder is the
        lock. Started as root, nginx's workers run as nobody, whose group is let through (search, not read)."""
        for service in SERVICES:  # a path too long for a socket stops `up` here, before anything starts
            self.socket_path(f"{service}-{MAX_INSTANCES}")
        self.socket_path(VERIFIER_SOCKET_NAME)
        folder = self.socket_dir
        folder.mkdir(mode=0o700, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(folder, 0, nginx_worker_group())
            folder.chmod(0o710)
        else:
            folder.chmod(0o700)

    # ------------------------------------------------------------------ addresses
    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def database_url(self, service: str) -> str:
        configured = self.environ.get(f"{service.upper()}_DATABASE_URL")
        return configured or f"sqlite:///{self.var_dir / 'db' / f'{service}.sqlite3'}"

    def database_label(self, service: str) -> str:
        url = self.database_url(service)
        return url.split("@")[-1] if "@" in url else url

    # ------------------------------------------------------------------ each service's environment
    def secret_key(self, service: str) -> str:
        """DJANGO_SECRET_KEY when given, else a random key made once per stack and kept under var/."""
        if self.environ.get("DJANGO_SECRET_KEY"):
            return self.environ["DJANGO_SECRET_KEY"]
        path = self.var_dir / "secrets" / f"{service}-secret-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as key_file:
                key_file.write(secrets.token_urlsafe(50))
        return path.read_text().strip()

    def service_env(
        self, service: str, port: int | None = None, metrics_port: int | None = None, socket: Path | None = None
    ) -> dict[str, str]:
        """The process environment of one service's process (listening on port and, for the gateway, on socket;
        serving metrics on metrics_port): the caller's, plus the stack's."""
        env = dict(self.environ)
        for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "JWT_KEYS_DIR", "JWT_JWKS_FILE", "JWT_JWKS_URL"):
            env.pop(name, None)
        for name in ("METRICS_BIND", "PROMETHEUS_MULTIPROC_DIR"):
            env.pop(name, None)
        if metrics_port is not None:
            env["METRICS_BIND"] = f"127.0.0.1:{metrics_port}"
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULES[self.django_env],
            DATABASE_URL=self.database_url(service),
            DJANGO_STATIC_ROOT=str(self.var_dir / "static" / service),
            DJANGO_ALLOWED_HOSTS=self.environ.get("DJANGO_ALLOWED_HOSTS") or "localhost,127.0.0.1,[::1]",
            TRUSTED_PROXY_IPS=self.trusted_proxies(),
            JWT_ISSUER=self.environ.get("JWT_ISSUER") or JWT_ISSUER,
            JWT_AUDIENCE=self.environ.get("JWT_AUDIENCE") or JWT_AUDIENCE,
            GUNICORN_BIND=f"127.0.0.1:{port or self.ports[service]}" + (f",unix:{socket}" if socket else ""),
            PYTHONUNBUFFERED="1",
        )
        if service == "auth":
            env["JWT_KEYS_DIR"] = str(self.keys_dir)
        else:
            env["JWT_JWKS_FILE"] = str(self.keys_dir / "jwks.json")
        if self.django_env == "production":
            env["DJANGO_SECRET_KEY"] = self.secret_key(service)
            # The local stack speaks plain HTTP: secure-only cookies would lock everyone out of the admin.
            env.setdefault("DJANGO_SECURE_COOKIES", "false")
        return env

    def trusted_proxies(self) -> str:
        """TRUSTED_PROXY_IPS for the services: the caller's or loopback, and "unix" when the gateway comes through a
        Unix socket (its peer has no address): without it every client would share the gateway's login budgets."""
        trusted = self.environ.get("TRUSTED_PROXY_IPS") or "127.0.0.1,::1"
        if self.upstream == "unix" and "unix" not in (item.strip().lower() for item in trusted.split(",")):
            trusted += ",unix"
        return trusted

    # ------------------------------------------------------------------ what `up` started with
    def save_state(self) -> None:
        state = {
            "gateway_port": self.gateway_port,
            "ports": dict(self.ports),
            "django_env": self.django_env,
            "instances": dict(self.instances),
            "rate_limits": self.rate_limits,
            "cors_origins": self.cors_origins,
            "observability": self.observability,
            "metrics_port": self.metrics_port,
            "prometheus_port": self.prometheus_port,
            "upstream": self.upstream,
        }
        (self.run_dir / "stack.json").write_text(json.dumps(state, indent=2) + "\n")

    def saved_state(self) -> dict | None:
        try:
            return json.loads((self.run_dir / "stack.json").read_text())
        except (OSError, ValueError):
            return None

    def with_saved_ports(self) -> "StackConfig":
        """What `up` used (ports, instances, gateway values), so later commands find a stack started with other
        settings than the caller's."""
        state = self.saved_state()
        if state is None:
            return self
        return replace(
            self,
            gateway_port=int(state["gateway_port"]),
            ports={name: int(port) for name, port in state["ports"].items()},
            django_env=state["django_env"],
            instances={name: int(number) for name, number in state.get("instances", {}).items()},
            rate_limits=state.get("rate_limits", self.rate_limits),
            cors_origins=state.get("cors_origins", self.cors_origins),
            observability=bool(state.get("observability", False)),
            metrics_port=int(state.get("metrics_port", self.metrics_port)),
            prometheus_port=int(state.get("prometheus_port", self.prometheus_port)),
            upstream=state.get("upstream", self.upstream),
        )
