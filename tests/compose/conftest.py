"""The compose stack for the session: stand-in images, both service images built, every service up and healthy.

Skipped, with the reason, where podman cannot run (not root, or podman, runc or debootstrap missing:
.ci/run installs them). The stack is always taken down with `down --volumes`, even when a test fails.
"""

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from compose_stack import (
    STANDINS_SCRIPT,
    ComposeProject,
    HealthChecker,
    PodmanService,
    compose_binary,
    free_port,
    free_subnet,
    podman_env,
    say,
    write_env_file,
)

HERE = Path(__file__).resolve().parent


def _why_podman_cannot_run() -> str | None:
    if os.geteuid() != 0:
        return "podman runs the stack as root here; run as root (CI does)"
    missing = [tool for tool in ("podman", "runc", "debootstrap", "iptables") if shutil.which(tool) is None]
    # Container DNS on podman 4's CNI networks, so the services find each other by name.
    if not Path("/usr/lib/cni/dnsname").exists():
        missing.append("golang-github-containernetworking-plugin-dnsname")
    if missing:
        return f"{', '.join(missing)} not installed (.ci/run installs them with apt-get)"
    if compose_binary() is None:
        return "docker compose is missing: scripts/bootstrap.sh compose (make test-compose runs it)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_podman_cannot_run()
    if reason:
        for item in items:
            if item.path.is_relative_to(HERE):
                item.add_marker(pytest.mark.skip(reason=f"compose stack under podman skipped: {reason}"))


def _wait_until_settled(project: ComposeProject, services: dict[str, dict], timeout: float) -> dict[str, dict]:
    """Waits until every service is up (and healthy where it has a check) or has run to completion."""
    deadline = time.monotonic() + timeout
    while True:
        states = {container["Service"]: container for container in project.containers()}
        pending = []
        for name, service in services.items():
            state = states.get(name)
            one_shot = service.get("restart", "no") == "no"
            if state is None:
                pending.append(f"{name}: not created")
            elif one_shot and state["State"] == "exited":
                if state.get("ExitCode") != 0:
                    raise AssertionError(f"{name} exited with {state.get('ExitCode')}:\n{_logs(project, name)}")
            elif one_shot or state["State"] != "running" or state.get("Health") not in ("", "healthy"):
                pending.append(f"{name}: {state['State']} {state.get('Health', '')}".strip())
        if not pending:
            return states
        if time.monotonic() > deadline:
            logs = "\n".join(_logs(project, name) for name in services)
            raise AssertionError(f"not settled within {timeout:.0f} s: {pending}\n{logs}")
        time.sleep(2)


def _logs(project: ComposeProject, service: str) -> str:
    return project.run("logs", "--no-color", "--tail", "40", service, check=False).stdout


@pytest.fixture(scope="session")
def podman_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodmanService]:
    service = PodmanService(socket_path=tmp_path_factory.mktemp("podman") / "podman.sock")
    say("podman: starting the Docker-compatible API service on its own socket")
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def stack(podman_service: PodmanService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeProject]:
    say("stand-in images (cached between runs; the first run takes about 2 minutes)")
    prepared = subprocess.run([sys.executable, str(STANDINS_SCRIPT)], env=podman_env(), text=True, check=False)
    if prepared.returncode != 0:
        pytest.fail("building the stand-in images failed (output above)")
    name = f"tm-compose-{secrets.token_hex(3)}"
    env_file = tmp_path_factory.mktemp("compose") / ".env"
    gateway_port = free_port()
    write_env_file(env_file, project=name, gateway_port=gateway_port, subnet=free_subnet())
    project = ComposeProject(
        name=name,
        env_file=env_file,
        docker_host=podman_service.docker_host,
        gateway_port=gateway_port,
        binary=compose_binary(),
    )
    checker = HealthChecker(project=name)
    try:
        say("building the auth and todo images from their Dockerfiles (first run: about 2 minutes)")
        started = time.monotonic()
        project.run("build")
        say(f"images built in {time.monotonic() - started:.0f} s")
        checker.start()
        say(f"starting compose project {name} on 127.0.0.1:{gateway_port}")
        started = time.monotonic()
        project.run("up", "--detach", "--no-build")
        _wait_until_settled(project, project.services(), timeout=300)
        project.start_seconds = time.monotonic() - started
        say(f"stack up and healthy in {project.start_seconds:.1f} s")
        yield project
    finally:
        say(f"taking compose project {name} down with its volumes")
        project.run("down", "--volumes", "--remove-orphans", "--timeout", "30", check=False)
        checker.stop()
