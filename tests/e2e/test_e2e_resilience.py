"""The stack under change: a service that stops and comes back, and a signing-key rotation in flight."""

import base64
import json
import os
import signal
import time
from http import HTTPStatus
from pathlib import Path

from e2e_stack import register_and_login


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


def test_a_stopped_service_gives_a_fast_json_502_and_the_gateway_recovers_when_it_returns(client, user, stack):
    todo_pid = stack.pid("todo")
    os.kill(todo_pid, signal.SIGQUIT)
    wait_until_gone(todo_pid)

    started = time.monotonic()
    response = client.get("/todos/", headers=user.auth)
    elapsed = time.monotonic() - started

    assert response.status_code in {HTTPStatus.BAD_GATEWAY, HTTPStatus.SERVICE_UNAVAILABLE}
    assert response.headers["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert elapsed < 2
    assert client.get("/auth/health/").status_code == HTTPStatus.OK, "the other service is unaffected"

    restarted = stack.run("up")
    assert "starting gunicorn" in restarted.stdout
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK
    assert stack.pid("todo") != todo_pid


def test_tokens_from_before_and_after_a_key_rotation_both_work_at_the_todo_service(client, user, stack):
    todo_pid = stack.pid("todo")
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
    for token in (before, after):
        response = client.get("/todos/", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == HTTPStatus.OK, response.text
    jwks = client.get("/auth/.well-known/jwks.json").json()
    assert {token_kid(before), token_kid(after)} <= {key["kid"] for key in jwks["keys"]}
    assert stack.pid("todo") == todo_pid, "the todo service kept running"
