"""The local stack's supervisor (`stack.py supervise`, started by `make up`): it starts every instance of every
component and starts again, within a second, any that exits; SIGTERM stops them all, the gateway first."""

import os
import signal
import subprocess
import time
from datetime import UTC, datetime

from . import components, gateway, observability
from .components import Instance
from .config import SERVICES, StackConfig, StackError
from .processes import STOP_TIMEOUT, SUPERVISOR, kill_group

POLL_INTERVAL = 0.1
# An instance that ran at least this long before it exited is started again at once; one that keeps failing
# sooner waits longer each time (1, 2, 4 ... 30 s), so a broken configuration does not spin the CPU.
STABLE_AFTER = 10.0
MAX_BACKOFF = 30.0


def log(message: str) -> None:
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{stamp} {SUPERVISOR}: {message}", flush=True)


def _exit_reason(returncode: int) -> str:
    if returncode < 0:
        return f"killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


class Supervisor:
    """Keeps one child process per instance running until told to stop."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nginx = gateway.find_nginx()
        self.children: dict[str, subprocess.Popen] = {}
        self.started_at: dict[str, float] = {}
        self.quick_failures: dict[str, int] = {}
        self.restart_due: dict[str, float] = {}
        self.stopping = False
        self.specs = {instance.name: instance.spec for instance in components.instances(config)}

    def command(self, instance: Instance) -> tuple[list[str], str, dict[str, str]]:
        """The command line, working folder and environment of one instance."""
        spec = instance.spec
        if spec.observability:
            return (
                observability.command_line(self.config, instance),
                str(self.config.var_dir),
                dict(self.config.environ),
            )
        if spec.service is None:
            if self.nginx is None:
                raise StackError("nginx is not installed")
            argv = gateway.command_line(self.config, self.nginx, foreground=True)
            return argv, str(self.config.nginx_dir), dict(self.config.environ)
        service = SERVICES[spec.service]
        argv = [str(service.venv / "bin" / spec.command[0]), *spec.command[1:]]
        env = self.config.service_env(
            spec.service,
            instance.port(self.config),
            instance.metrics_port(self.config),
            socket=self.config.socket_path(instance.name) if spec.http else None,
        )
        return argv, str(service.project_dir), env

    def start(self, instance: Instance) -> None:
        argv, cwd, env = self.command(instance)
        if instance.spec.name == components.GATEWAY:
            gateway.remove_stale_verifier_socket(self.config)
        with open(instance.log_file(self.config), "ab") as output, open(os.devnull, "rb") as nothing:
            # Its own session, so stopping or killing it reaches every process it forks.
            child = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=nothing, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children[instance.name] = child
        self.started_at[instance.name] = time.monotonic()
        self.config.pid_file(instance.name).write_text(f"{child.pid}\n")
        port = instance.port(self.config)
        log(f"started {instance.name} (pid {child.pid}{f', port {port}' if port else ''})")

    def watch(self, instance: Instance) -> None:
        """Notice an exited instance and start it again when its back-off has passed."""
        child = self.children.get(instance.name)
        now = time.monotonic()
        if child is not None and child.poll() is not None:
            kill_group(child.pid)
            self.config.pid_file(instance.name).unlink(missing_ok=True)
            del self.children[instance.name]
            ran = now - self.started_at[instance.name]
            # A clean exit is a requested restart (make restart); a crash soon after a start backs off.
            if child.returncode == 0 or ran >= STABLE_AFTER:
                self.quick_failures[instance.name] = 0
                delay = 0.0
            else:
                failures = self.quick_failures.get(instance.name, 0) + 1
                self.quick_failures[instance.name] = failures
                delay = min(2.0 ** (failures - 1), MAX_BACKOFF)
            self.restart_due[instance.name] = now + delay
            held = self.config.hold_file(instance.name).exists()
            then = "held until stack.py start" if held else f"starting it again in {delay:g} s"
            log(f"{instance.name} (pid {child.pid}) {_exit_reason(child.returncode)}; {then}")
        held = self.config.hold_file(instance.name).exists()
        if instance.name not in self.children and not held and now >= self.restart_due.get(instance.name, 0.0):
            self.start(instance)

    def stop_all(self) -> None:
        """Stop the components in reverse start order; each one's instances together, gracefully."""
        for spec in reversed(components.COMPONENTS):
            stopping = [(name, child) for name, child in self.children.items() if self.specs[name] is spec]
            for name, child in stopping:
                log(f"stopping {name} (pid {child.pid})")
                if child.poll() is None:
                    child.send_signal(spec.stop_signal)
            deadline = time.monotonic() + STOP_TIMEOUT
            for name, child in stopping:
                try:
                    child.wait(timeout=max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    log(f"{name} (pid {child.pid}) did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                kill_group(child.pid)
                child.wait()
                self.config.pid_file(name).unlink(missing_ok=True)

    def run(self) -> None:
        def request_stop(signum: int, frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        log(f"supervising {', '.join(instance.name for instance in components.instances(self.config))}")
        try:
            while not self.stopping:
                for instance in components.instances(self.config):
                    if self.stopping:
                        break
                    self.watch(instance)
                time.sleep(POLL_INTERVAL)
        finally:
            self.stop_all()
            self.config.pid_file(SUPERVISOR).unlink(missing_ok=True)
            log("stopped")
