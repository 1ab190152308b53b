#!/usr/bin/env python3
"""Run the whole stack locally: both services, their event relay and consumer, behind the nginx gateway (`make up`).

Usage: python3 scripts/stack.py up|down|status|restart|logs [-f]|migrate|superuser --service auth|todo
       python3 scripts/stack.py stop [--kill] NAME | start NAME     (hold one process down, let it run again)
       python3 scripts/stack.py manage --service auth|todo -- <manage.py arguments>

`up` starts a supervisor in the background (`stack.py supervise`) that runs every instance of every
component (scripts/stackrun/components.py: AUTH_INSTANCES and TODO_INSTANCES gunicorn masters, the outbox
relay, the event consumer, nginx) and starts again any that exits, unless `stop` holds it down.

Standard library only, so it runs with the system python3 before any virtual environment exists.
Everything it makes lives under STACK_VAR_DIR (default: the repository's var/), so tests and the
benchmark run isolated stacks side by side. Settings come from the environment: docs/configuration.md.
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stackrun import components, gateway, observability, processes, rolling
from stackrun.config import REPO, SERVICES, StackConfig, StackError, say
from stackrun.supervisor import Supervisor


def ensure_virtualenvs() -> None:
    say("checking the virtual environments (scripts/bootstrap.sh)")
    subprocess.run(["bash", str(REPO / "scripts" / "bootstrap.sh"), "auth", "todo"], cwd=REPO, check=True)


def ensure_signing_keys(config: StackConfig) -> None:
    say(f"checking the development signing keys in {config.keys_dir}")
    env = config.service_env("auth")
    subprocess.run(["bash", str(REPO / "scripts" / "dev-keys.sh")], cwd=REPO, env=env, check=True)


def manage(config: StackConfig, service: str, *arguments: str, check: bool = True) -> int:
    """Run one manage.py command of a service with the stack's settings for it."""
    spec = SERVICES[service]
    command = [str(spec.python), "manage.py", *arguments]
    completed = subprocess.run(command, cwd=spec.project_dir, env=config.service_env(service), check=False)
    if check and completed.returncode != 0:
        raise StackError(f"{service} service: manage.py {' '.join(arguments)} failed (exit {completed.returncode})")
    return completed.returncode


def migrate(config: StackConfig) -> None:
    for service in SERVICES:
        say(f"{service} service: applying database migrations ({config.database_label(service)})")
        manage(config, service, "migrate", "--noinput")


def collect_static(config: StackConfig) -> None:
    for service in SERVICES:
        say(f"{service} service: collecting static files")
        manage(config, service, "collectstatic", "--noinput", "--verbosity", "0")


def print_urls(config: StackConfig) -> None:
    base = f"http://localhost:{config.gateway_port}"
    lines = [
        f"gateway      {base}/healthz",
        f"auth API     {base}/auth/   (docs {base}/auth/docs/, admin {base}/auth/admin/)",
        f"todo API     {base}/todos/  (docs {base}/todos/docs/, admin {base}/todos/admin/)",
        f"settings     {config.django_env}; logs: python3 scripts/stack.py logs (make logs)",
        "admin user   make superuser SERVICE=auth   (or SERVICE=todo)",
        "status       make status; make restart restarts each instance in turn",
        "stop         make down",
    ]
    if config.observability:
        lines.insert(
            4, f"metrics      Prometheus http://localhost:{config.prometheus_port}/targets (docs/observability.md)"
        )
    print("\n".join(f"    {line}" for line in lines))


def command_up(config: StackConfig) -> None:
    supervisor = processes.supervisor_pid(config)
    if supervisor is not None:
        saved = config.with_saved_ports()
        if held := release_holds(saved):
            say(f"letting the supervisor start what `stack.py stop` held down: {', '.join(held)}")
            for name in held:
                wait_until_started(saved, name)
        running = processes.describe(processes.running(saved))
        say(f"the stack is already running (supervisor pid {supervisor}: {running})")
        if saved.instances != config.instances:
            say("to change the number of instances: make down, then make up with the new *_INSTANCES")
        print_urls(saved)
        return
    stray = processes.leftovers(config)
    if stray:
        say(f"found stack processes without their supervisor ({processes.describe(stray)}): stopping them first")
        processes.stop_all(config)
    config.make_folders()
    release_holds(config)
    ensure_virtualenvs()
    nginx = gateway.ensure_nginx()
    ensure_signing_keys(config)
    migrate(config)
    collect_static(config)
    if config.observability:
        observability.ensure_tools()
    for instance in components.instances(config):
        if port := instance.port(config):
            processes.ensure_port_free(port, instance.name)
    for port, label in observability.ports(config).items():
        processes.ensure_port_free(port, label)
    gateway.render(config)
    if config.observability:
        observability.render(config)
    gateway.check(config, nginx)
    config.save_state()
    counts = ", ".join(f"{spec.name} x{components.count(config, spec)}" for spec in components.COMPONENTS)
    say(f"starting {counts} ({config.django_env} settings)")
    supervisor = processes.start_supervisor(config)
    for instance in components.instances(config):
        url = instance.health_url(config)
        if url:
            processes.wait_until_healthy(config, supervisor, instance.name, url, instance.log_file(config))
    for service in SERVICES:
        url = f"{config.gateway_url}{SERVICES[service].prefix}health/"
        processes.wait_until_healthy(config, supervisor, service, url)
    say(f"the stack is up: {processes.describe(processes.running(config))}")
    print_urls(config)


def release_holds(config: StackConfig) -> list[str]:
    """Forget every `stack.py stop`; returns the names that were held."""
    held = sorted(path.stem for path in config.run_dir.glob("*.held")) if config.run_dir.exists() else []
    for name in held:
        config.hold_file(name).unlink(missing_ok=True)
    return held


def find_instance(config: StackConfig, name: str) -> components.Instance:
    for instance in components.instances(config):
        if instance.name == name:
            return instance
    names = ", ".join(instance.name for instance in components.instances(config))
    raise StackError(f"no process is called {name!r}; the stack runs {names}")


def wait_until_started(config: StackConfig, name: str) -> int:
    instance = find_instance(config, name)
    deadline = time.monotonic() + processes.START_TIMEOUT
    while (pid := processes.instance_pid(config, instance)) is None:
        if time.monotonic() > deadline:
            raise StackError(f"{name} did not start within {processes.START_TIMEOUT:.0f} s: see make logs")
        time.sleep(0.1)
    return pid


def command_stop(config: StackConfig, name: str, kill: bool) -> None:
    """Stop one process and hold it down (the supervisor does not start it again) until `start` or `up`."""
    if processes.supervisor_pid(config) is None:
        raise StackError("the stack is not running (no supervisor): make up starts it")
    instance = find_instance(config, name)
    config.hold_file(name).touch()
    pid = processes.instance_pid(config, instance)
    if pid is None:
        say(f"{name} is not running; it stays down until stack.py start {name}")
        return
    stop_signal = signal.SIGKILL if kill else instance.spec.stop_signal
    say(f"{name}: sending {stop_signal.name} to pid {pid}; held down until stack.py start {name}")
    os.kill(pid, stop_signal)
    if not processes.wait_until_gone(pid, processes.STOP_TIMEOUT):
        raise StackError(f"{name} (pid {pid}) did not stop within {processes.STOP_TIMEOUT:.0f} s")


def command_start(config: StackConfig, name: str) -> None:
    """Let the supervisor start a process that `stop` held down, and wait until it runs."""
    if processes.supervisor_pid(config) is None:
        raise StackError("the stack is not running (no supervisor): make up starts it")
    find_instance(config, name)
    config.hold_file(name).unlink(missing_ok=True)
    say(f"{name}: running (pid {wait_until_started(config, name)})")


def print_outbox_backlog(config: StackConfig) -> None:
    """The events the relay has not published yet (docs/events.md), read from the auth service's database."""
    spec = SERVICES["auth"]
    if not spec.python.exists():
        return
    completed = subprocess.run(
        [str(spec.python), "manage.py", "outbox_backlog"],
        cwd=spec.project_dir,
        env=config.service_env("auth"),
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (completed.stdout or completed.stderr).strip().splitlines() or ["no answer"]
    print(lines[-1] if completed.returncode == 0 else f"outbox: unknown ({lines[-1]})")


def command_down(config: StackConfig) -> None:
    if not processes.leftovers(config):
        say("nothing is running")
    processes.stop_all(config)


def command_status(config: StackConfig) -> int:
    """One line per process, with its pid, port and health; exit 0 when all are up and healthy or all stopped."""
    config = config.with_saved_ports()
    supervisor = processes.supervisor_pid(config)
    print(f"{'supervisor':12} {f'running (pid {supervisor})' if supervisor else 'stopped'}")
    states = [supervisor is not None]
    for instance in components.instances(config):
        pid = processes.instance_pid(config, instance)
        port = instance.port(config)
        held = config.hold_file(instance.name).exists()
        state = f"running (pid {pid})" if pid else "held (stack.py stop)" if held else "stopped"
        line = f"{instance.name:12} {state:22}"
        healthy = pid is not None or held
        if port:
            line += f" 127.0.0.1:{port:<6}"
        if pid and (url := instance.health_url(config)):
            status = processes.http_status(url)
            healthy = status == 200
            line += f" GET {url.split(str(port), 1)[-1]} -> {status or 'no answer'}"
        print(line)
        states.append(healthy)
    if states[0]:
        print_outbox_backlog(config)
    if states[0] and all(states):
        for path in (f"{spec.prefix}health/" for spec in SERVICES.values()):
            status = processes.http_status(f"{config.gateway_url}{path}")
            states.append(status == 200)
            print(f"GET {config.gateway_url}{path} -> {status or 'no answer'}")
    return 0 if all(states) or not any(states) else 1


def command_logs(config: StackConfig, follow: bool, lines: int) -> None:
    logs = config.log_files()
    for name, path in logs.items():
        print(f"==> {name}: {path}")
        if path.exists():
            print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
    if not follow:
        return
    positions = {name: path.stat().st_size if path.exists() else 0 for name, path in logs.items()}
    try:
        while True:
            for name, path in logs.items():
                if not path.exists():
                    continue
                size = path.stat().st_size
                if size < positions[name]:
                    positions[name] = 0
                if size > positions[name]:
                    with path.open("rb") as log:
                        log.seek(positions[name])
                        chunk = log.read(size - positions[name])
                    positions[name] = size
                    for line in chunk.decode(errors="replace").splitlines():
                        print(f"{name:14} {line}", flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stack.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="set up what is missing and start the stack in the background")
    commands.add_parser("down", help="stop everything `up` started")
    commands.add_parser("status", help="show every process, its port and whether it answers")
    commands.add_parser("restart", help="restart every instance in turn, each once the one before is ready")
    commands.add_parser("supervise", help="run and watch every process (up starts it in the background)")
    stop = commands.add_parser("stop", help="stop one process (make status names them) and hold it down")
    stop.add_argument("name", help="for example relay, consumer or todo-2")
    stop.add_argument("--kill", action="store_true", help="SIGKILL instead of a graceful stop")
    start = commands.add_parser("start", help="let the supervisor start a process `stop` held down")
    start.add_argument("name")
    logs = commands.add_parser("logs", help="show the end of each log")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=20, help="lines per log (default 20)")
    commands.add_parser("migrate", help="apply both services' database migrations")
    superuser = commands.add_parser("superuser", help="create an admin user of one service")
    superuser.add_argument("--service", choices=sorted(SERVICES), required=True)
    run = commands.add_parser("manage", help="run a manage.py command of one service with the stack's settings")
    run.add_argument("--service", choices=sorted(SERVICES), required=True)
    run.add_argument("arguments", nargs=argparse.REMAINDER, help="after --: the manage.py command and options")
    options = parser.parse_args(argv)

    try:
        count_variables = {spec.name: spec.count_variable for spec in components.COMPONENTS if spec.count_variable}
        config = StackConfig.from_environment(os.environ, count_variables)
        if options.command == "up":
            command_up(config)
        elif options.command == "down":
            command_down(config)
        elif options.command == "status":
            return command_status(config)
        elif options.command == "restart":
            rolling.restart_all(config.with_saved_ports())
            say("every instance restarted")
        elif options.command == "stop":
            command_stop(config.with_saved_ports(), options.name, options.kill)
        elif options.command == "start":
            command_start(config.with_saved_ports(), options.name)
        elif options.command == "supervise":
            Supervisor(config.with_saved_ports()).run()
        elif options.command == "logs":
            command_logs(config, options.follow, options.lines)
        elif options.command == "migrate":
            config.make_folders()
            migrate(config)
        elif options.command == "superuser":
            config.make_folders()
            return manage(config, options.service, "createsuperuser", check=False)
        elif options.command == "manage":
            arguments = options.arguments[1:] if options.arguments[:1] == ["--"] else options.arguments
            return manage(config, options.service, *arguments, check=False)
    except StackError as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as error:
        print(f"stack: {' '.join(map(str, error.cmd))} failed (exit {error.returncode})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
