"""Start the stack's processes in the background, find them again by pid file, and stop them."""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import gateway
from .config import SERVICES, StackConfig, StackError, say

# In start order; stopped in reverse, so the gateway stops taking requests first.
COMPONENTS = ("auth", "todo", "relay", "consumer", "nginx")
# The processes beside the web ones: each is a management command of a service (docs/events.md).
WORKERS = {"relay": ("auth", "outbox_relay"), "consumer": ("todo", "consume_events")}
# What each process's command line must mention, so a reused pid is never taken for ours.
PROGRAMS = {
    "auth": "gunicorn",
    "todo": "gunicorn",
    "relay": "outbox_relay",
    "consumer": "consume_events",
    "nginx": "nginx",
}
STOP_SIGNALS = {
    "auth": signal.SIGTERM,
    "todo": signal.SIGTERM,
    "relay": signal.SIGTERM,
    "consumer": signal.SIGTERM,
    "nginx": signal.SIGQUIT,
}
# A worker that is still running this long after its start got past its settings and imports.
WORKER_SETTLE_TIME = 1.5
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting for a parent that never reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def read_pid(config: StackConfig, component: str) -> int | None:
    """The pid recorded for a component, when that process still runs and is the program we started."""
    try:
        pid = int(config.pid_file(component).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if _alive(pid) and PROGRAMS[component] in _command(pid):
        return pid
    return None


def running(config: StackConfig) -> dict[str, int]:
    return {component: pid for component in COMPONENTS if (pid := read_pid(config, component)) is not None}


def describe(pids: dict[str, int]) -> str:
    return ", ".join(f"{component} pid {pid}" for component, pid in pids.items())


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def _ensure_port_free(port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise StackError(f"port {port} ({variable}) is taken by another program: {error.strerror}") from None


def _spawn(config: StackConfig, component: str, command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Start a process in its own session (it outlives this script), output appended to its log."""
    log_path = config.log_dir / f"{component}.log"
    with open(log_path, "ab") as log, open(os.devnull, "rb") as nothing:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdin=nothing, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    return process.pid


def start_service(config: StackConfig, service: str) -> None:
    spec = SERVICES[service]
    _ensure_port_free(config.ports[service], spec.port_variable)
    say(f"{service} service: starting gunicorn on 127.0.0.1:{config.ports[service]} ({config.django_env} settings)")
    command = [str(spec.gunicorn), "--config", "gunicorn.conf.py", "config.wsgi:application"]
    pid = _spawn(config, service, command, spec.project_dir, config.service_env(service))
    config.pid_file(service).write_text(f"{pid}\n")


def start_worker(config: StackConfig, worker: str) -> None:
    """Start a worker process (`manage.py <command>` of its service) and check that it keeps running."""
    service, command_name = WORKERS[worker]
    spec = SERVICES[service]
    say(f"{service} service: starting manage.py {command_name} ({worker})")
    command = [str(spec.python), "manage.py", command_name]
    pid = _spawn(config, worker, command, spec.project_dir, config.service_env(service))
    config.pid_file(worker).write_text(f"{pid}\n")
    time.sleep(WORKER_SETTLE_TIME)
    if read_pid(config, worker) is None:
        raise StackError(f"{worker} exited during start; the end of its log:\n{_log_tail(config, worker)}")


def start_nginx(config: StackConfig, nginx: str) -> None:
    _ensure_port_free(config.gateway_port, "GATEWAY_PORT")
    say(f"gateway: starting nginx on 127.0.0.1:{config.gateway_port}")
    # In the foreground of its own session: the pid we hold is the master's, and nginx writes the same
    # number to the pid file named on its command line.
    command = gateway.command_line(config, nginx, foreground=True)
    pid = _spawn(config, "nginx-error", command, config.nginx_dir, dict(os.environ))
    config.pid_file("nginx").write_text(f"{pid}\n")


def _log_tail(config: StackConfig, component: str, lines: int = 30) -> str:
    path = config.log_dir / ("nginx-error.log" if component == "nginx" else f"{component}.log")
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_healthy(config: StackConfig, component: str, url: str) -> None:
    """Poll url until it answers 200; stop early, with the log's end, when the process dies."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if http_status(url) == 200:
            say(f"{url} answers 200")
            return
        if read_pid(config, component) is None:
            raise StackError(f"{component} exited during start; the end of its log:\n{_log_tail(config, component)}")
        time.sleep(0.2)
    log_tail = _log_tail(config, component)
    raise StackError(f"{url} did not answer 200 within {START_TIMEOUT:.0f} s; {component}'s log:\n{log_tail}")


def stop(config: StackConfig, component: str) -> None:
    pid = read_pid(config, component)
    if pid is not None:
        say(f"stopping {component} (pid {pid})")
        os.kill(pid, STOP_SIGNALS[component])
        deadline = time.monotonic() + STOP_TIMEOUT
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            say(f"{component} (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s; killing its process group")
            os.killpg(pid, signal.SIGKILL)
    config.pid_file(component).unlink(missing_ok=True)


def stop_all(config: StackConfig) -> None:
    for component in reversed(COMPONENTS):
        stop(config, component)
