"""Find the stack's processes by pid file, ask how they are, start the supervisor, and stop everything."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from . import components
from .components import Instance
from .config import REPO, StackConfig, StackError, say

SUPERVISOR = "supervisor"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0


def alive(pid: int) -> bool:
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


def read_pid(config: StackConfig, name: str, program: str) -> int | None:
    """The pid recorded under a name, when that process still runs and is the program we started."""
    try:
        pid = int(config.pid_file(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if alive(pid) and program in _command(pid):
        return pid
    return None


def instance_pid(config: StackConfig, instance: Instance) -> int | None:
    return read_pid(config, instance.name, instance.spec.program)


def supervisor_pid(config: StackConfig) -> int | None:
    return read_pid(config, SUPERVISOR, "stack.py")


def running(config: StackConfig) -> dict[str, int]:
    """Every instance that runs now, by name."""
    found = {}
    for instance in components.instances(config):
        if (pid := instance_pid(config, instance)) is not None:
            found[instance.name] = pid
    return found


def leftovers(config: StackConfig) -> dict[str, int]:
    """Processes named by any pid file in run/ (also of instances no longer configured) that still run."""
    programs = {spec.name: spec.program for spec in components.COMPONENTS}
    found = {}
    for pid_file in sorted(config.run_dir.glob("*.pid")) if config.run_dir.exists() else []:
        name = pid_file.stem
        program = "stack.py" if name == SUPERVISOR else programs.get(name.rsplit("-", 1)[0], programs.get(name))
        if program and (pid := read_pid(config, name, program)) is not None:
            found[name] = pid
    return found


def describe(pids: dict[str, int]) -> str:
    return ", ".join(f"{name} pid {pid}" for name, pid in pids.items())


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


def ensure_port_free(port: int, label: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise StackError(f"port {port} ({label}) is taken by another program: {error.strerror}") from None


def start_supervisor(config: StackConfig) -> subprocess.Popen:
    """Start `stack.py supervise` in its own session: it starts every instance and restarts any that dies."""
    say(f"starting the supervisor (its log: {config.log_dir / 'supervisor.log'})")
    with open(config.log_dir / "supervisor.log", "ab") as log, open(os.devnull, "rb") as nothing:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "scripts" / "stack.py"), "supervise"],
            env=dict(config.environ),
            stdin=nothing,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    config.pid_file(SUPERVISOR).write_text(f"{process.pid}\n")
    return process


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_healthy(
    config: StackConfig, supervisor: subprocess.Popen, label: str, url: str, log: Path | None = None
) -> None:
    """Poll url until it answers 200; stop early, with the log's end, when the supervisor is gone."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if http_status(url) == 200:
            say(f"{url} answers 200")
            return
        # The child itself, not its pid file: just after exec, /proc/<pid>/cmdline can still read empty.
        if supervisor.poll() is not None:
            tail = log_tail(config.log_dir / "supervisor.log")
            raise StackError(f"the supervisor exited while {label} was starting; the end of its log:\n{tail}")
        time.sleep(0.2)
    tail = log_tail(log) if log else ""
    raise StackError(f"{url} did not answer 200 within {START_TIMEOUT:.0f} s; {label}'s log:\n{tail}")


def wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def kill_group(pid: int) -> None:
    """Kill what a process left behind in its own session (gunicorn workers outliving a killed master)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def stop_process(config: StackConfig, name: str, pid: int, stop_signal: signal.Signals) -> None:
    """Stop one process and its process group gracefully; kill the group when it takes too long."""
    say(f"stopping {name} (pid {pid})")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, stop_signal)
    if not wait_until_gone(pid, STOP_TIMEOUT):
        say(f"{name} (pid {pid}) did not stop within {STOP_TIMEOUT:.0f} s; killing its process group")
    kill_group(pid)
    config.pid_file(name).unlink(missing_ok=True)


def stop_all(config: StackConfig) -> None:
    """Stop the supervisor (which stops what it runs), then anything still named by a pid file."""
    supervisor = supervisor_pid(config)
    if supervisor is not None:
        say(f"stopping the supervisor (pid {supervisor}) and everything it runs")
        os.kill(supervisor, signal.SIGTERM)
        if not wait_until_gone(supervisor, STOP_TIMEOUT + 10):
            os.kill(supervisor, signal.SIGKILL)
        config.pid_file(SUPERVISOR).unlink(missing_ok=True)
    signals = {spec.name: spec.stop_signal for spec in components.COMPONENTS}
    for name, pid in reversed(leftovers(config).items()):
        stop_process(config, name, pid, signals.get(name.rsplit("-", 1)[0], signals.get(name, signal.SIGTERM)))
