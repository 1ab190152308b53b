"""The stack under change: a service that stops and comes back, and a signing-key rotation in flight."""

import base64
import json
import os
import signal
import time
from http import HTTPStatus
from pathlib import Path

from e2e_stack import register_and_login, wait_for


def token_kid(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def wait_until_gone(pid: int, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return
        if state == "Z":
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not stop")


def test_a_killed_service_fails_fast_with_json_and_its_supervisor_starts_it_again(client, user, stack):
    todo_pid = stack.pid("todo-1")
    supervisor_pid = stack.pid("supervisor")
    # Paused, the supervisor cannot start the service again before the request below sees it down.
    os.kill(supervisor_pid, signal.SIGSTOP)
    try:
        os.kill(todo_pid, signal.SIGKILL)
        wait_until_gone(todo_pid)
        started = time.monotonic()
        response = client.get("/todos/", headers=user.auth)
        elapsed = time.monotonic() - started
    finally:
        os.kill(supervisor_pid, signal.SIGCONT)

    assert response.status_code == HTTPStatus.BAD_GATEWAY
    assert response.headers["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert elapsed < 1, "its workers died with it, so nothing holds the port open"
    assert client.get("/auth/health/").status_code == HTTPStatus.OK, "the other service is unaffected"

    deadline = time.monotonic() + 30
    while client.get("/todos/", headers=user.auth).status_code != HTTPStatus.OK:
        assert time.monotonic() < deadline, "the supervisor did not bring the todo service back"
        time.sleep(0.2)
    assert stack.pid("todo-1") != todo_pid
    assert "todo-1 (pid" in (stack.var_dir / "log" / "supervisor.log").read_text()


def test_tokens_from_before_and_after_a_key_rotation_both_work_at_the_todo_service(client, user, stack):
    todo_pid = stack.pid("todo-1")
    before = user.access
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK

    rotated = stack.run("manage", "--service", "auth", "--", "signing_keys", "rotate")
    assert rotated.returncode == 0
    # The auth service notices the new keyring within its check interval (one second by default).
    deadline = time.monotonic() + 10
    while True:
        after = register_and_login(client).access
        if token_kid(after) != token_kid(before) or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert token_kid(after) != token_kid(before), "new tokens are signed with the new key"
    # The gateway's token check fetches the keys again for a kid it has not seen, at most once per 10 s.
    assert wait_for(
        lambda: client.get("/todos/", headers={"Authorization": f"Bearer {after}"}).status_code == HTTPStatus.OK,
        timeout=15,
        interval=1,
    )
    for token in (before, after):
        response = client.get("/todos/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == HTTPStatus.OK, response.text
    jwks = client.get("/auth/.well-known/jwks.json").json()
    assert {token_kid(before), token_kid(after)} <= {key["kid"] for key in jwks["keys"]}
    assert stack.pid("todo-1") == todo_pid, "the todo service kept running"


def worker_pids(master: int) -> set[int]:
    return {int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat") if _parent(stat) == master}


def _parent(stat: Path) -> int | None:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_a_reload_of_a_services_workers_keeps_it_listening(client, user, stack):
    # A stopping worker closes its copy of the listening socket at once (gunicorn.conf.py); on a reload the
    # master keeps its own, so the new workers must still be reachable.
    master = stack.pid("todo-1")
    old_workers = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while worker_pids(master) & old_workers or len(worker_pids(master)) < len(old_workers):
        assert time.monotonic() < deadline, "the reload did not replace the workers"
        time.sleep(0.2)

    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK
    assert stack.pid("todo-1") == master
