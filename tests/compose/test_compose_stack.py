"""The containerised stack under podman: every service up, the images, a user's journey through the gateway,
a restart keeping the data, and `down --volumes` leaving nothing behind.

The tests run in file order on one stack: the restart and the tear-down come last.
"""

import time
import uuid
from http import HTTPStatus

import pytest
import requests
from compose_stack import IMAGE_SIZE_LIMIT_MB, PASSWORD, ComposeProject, podman, say

SERVICE_IMAGES = {"auth": "todo-microservices/auth:local", "todo": "todo-microservices/todo:local"}
# How long each gateway worker keeps a service's address (`resolver ... valid`, nginx/templates/upstreams.conf).
RESOLVER_VALID_SECONDS = 2
_journey: dict[str, str] = {}


def _register_and_login(project: ComposeProject, username: str) -> dict[str, str]:
    registered = requests.post(
        f"{project.url}/auth/register/",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        timeout=10,
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.text
    login = requests.post(f"{project.url}/auth/login/", json={"username": username, "password": PASSWORD}, timeout=10)
    assert login.status_code == HTTPStatus.OK, login.text
    return login.json()


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


def test_every_service_of_the_compose_file_is_up_healthy_or_completed(stack: ComposeProject):
    services = stack.services()
    states = {container["Service"]: container for container in stack.containers()}

    assert set(states) == set(services)
    for name, service in services.items():
        if service.get("restart", "no") == "no":
            assert (states[name]["State"], states[name]["ExitCode"]) == ("exited", 0), name
        else:
            assert states[name]["State"] == "running", name
            if not service.get("healthcheck", {}).get("disable"):
                assert states[name]["Health"] == "healthy", name
    say(f"stack start time (up to every service healthy): {stack.start_seconds:.1f} s")


@pytest.mark.parametrize("service", sorted(SERVICE_IMAGES))
def test_the_service_image_runs_as_a_non_root_user(stack: ComposeProject, service: str):
    image = SERVICE_IMAGES[service]
    assert podman("image", "inspect", "--format", "{{.Config.User}}", image).stdout.strip() == "app:app"
    uid = podman("run", "--rm", "--no-healthcheck", "--entrypoint", "id", image, "-u").stdout.strip()
    assert uid == "10001"


@pytest.mark.parametrize("service", sorted(SERVICE_IMAGES))
def test_the_service_image_is_smaller_than_its_stated_limit(stack: ComposeProject, service: str):
    size_mb = int(podman("image", "inspect", "--format", "{{.Size}}", SERVICE_IMAGES[service]).stdout) / 1e6
    say(f"image {SERVICE_IMAGES[service]}: {size_mb:.0f} MB (limit {IMAGE_SIZE_LIMIT_MB} MB)")
    assert size_mb < IMAGE_SIZE_LIMIT_MB


@pytest.mark.parametrize("service", sorted(SERVICE_IMAGES))
def test_no_layer_of_the_service_image_holds_a_secret(stack: ComposeProject, service: str):
    image = SERVICE_IMAGES[service]
    settings = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())
    secrets_of_this_run = [value for name, value in settings.items() if "PASSWORD" in name or "SECRET" in name]
    history = podman("history", "--no-trunc", "--format", "{{.CreatedBy}}", image).stdout
    inspected = podman("image", "inspect", image).stdout
    for text in (history, inspected):
        assert "PRIVATE KEY" not in text
        for secret in secrets_of_this_run:
            assert secret not in text
    # The code and the keyring mount points: what the image adds to its base besides the venv's packages.
    found = podman(
        "run", "--rm", "--no-healthcheck", "--entrypoint", "sh", image, "-c",
        "for dir in /app /keyring /public-keys; do [ -d $dir ] || continue; "
        "grep -rlE 'BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY' $dir; "
        "find $dir -name '*.pem' -o -name '*.key' -o -name '.env*'; done; exit 0",
    ).stdout  # fmt: skip
    assert found.strip() == ""


def test_a_user_registers_logs_in_manages_todos_refreshes_and_logs_out(stack: ComposeProject):
    url = stack.url
    username = f"compose-{uuid.uuid4().hex[:8]}"
    tokens = _register_and_login(stack, username)
    me = requests.get(f"{url}/auth/me/", headers=_bearer(tokens), timeout=10)
    assert me.status_code == HTTPStatus.OK
    assert me.json()["username"] == username

    created = requests.post(f"{url}/todos/", json={"title": "Buy milk"}, headers=_bearer(tokens), timeout=10)
    assert created.status_code == HTTPStatus.CREATED, created.text
    todo = created.json()
    listed = requests.get(f"{url}/todos/", headers=_bearer(tokens), timeout=10)
    assert [item["id"] for item in listed.json()["results"]] == [todo["id"]]
    updated = requests.patch(
        f"{url}/todos/{todo['id']}/", json={"completed": True}, headers=_bearer(tokens), timeout=10
    )
    assert updated.status_code == HTTPStatus.OK, updated.text
    assert updated.json()["completed"] is True
    deleted = requests.delete(f"{url}/todos/{todo['id']}/", headers=_bearer(tokens), timeout=10)
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    gone = requests.get(f"{url}/todos/{todo['id']}/", headers=_bearer(tokens), timeout=10)
    assert gone.status_code == HTTPStatus.NOT_FOUND
    assert gone.headers["Content-Type"].startswith("application/json")

    refreshed = requests.post(f"{url}/auth/refresh/", json={"refresh": tokens["refresh"]}, timeout=10)
    assert refreshed.status_code == HTTPStatus.OK, refreshed.text
    new_tokens = refreshed.json()
    reused = requests.post(f"{url}/auth/refresh/", json={"refresh": tokens["refresh"]}, timeout=10)
    assert reused.status_code == HTTPStatus.UNAUTHORIZED, "a used refresh token is blacklisted"
    kept = requests.post(f"{url}/todos/", json={"title": "Survives a restart"}, headers=_bearer(new_tokens), timeout=10)
    assert kept.status_code == HTTPStatus.CREATED, kept.text

    logout = requests.post(
        f"{url}/auth/logout/", json={"refresh": new_tokens["refresh"]}, headers=_bearer(new_tokens), timeout=10
    )
    assert logout.status_code == HTTPStatus.NO_CONTENT, logout.text
    after_logout = requests.post(f"{url}/auth/refresh/", json={"refresh": new_tokens["refresh"]}, timeout=10)
    assert after_logout.status_code == HTTPStatus.UNAUTHORIZED
    _journey.update(username=username, todo_id=str(kept.json()["id"]))


def test_a_user_can_neither_see_nor_change_another_users_todos(stack: ComposeProject):
    alice = _register_and_login(stack, f"compose-alice-{uuid.uuid4().hex[:8]}")
    bob = _register_and_login(stack, f"compose-bob-{uuid.uuid4().hex[:8]}")
    created = requests.post(f"{stack.url}/todos/", json={"title": "Alice's"}, headers=_bearer(alice), timeout=10)
    todo_url = f"{stack.url}/todos/{created.json()['id']}/"

    assert requests.get(f"{stack.url}/todos/", headers=_bearer(bob), timeout=10).json()["count"] == 0
    assert requests.get(todo_url, headers=_bearer(bob), timeout=10).status_code == HTTPStatus.NOT_FOUND
    changed = requests.patch(todo_url, json={"title": "Bob's"}, headers=_bearer(bob), timeout=10)
    assert changed.status_code == HTTPStatus.NOT_FOUND
    assert requests.delete(todo_url, headers=_bearer(bob), timeout=10).status_code == HTTPStatus.NOT_FOUND
    assert requests.get(todo_url, headers=_bearer(alice), timeout=10).json()["title"] == "Alice's"


def test_the_gateway_container_refuses_a_forged_token_itself_with_the_services_401(stack: ComposeProject):
    tokens = _register_and_login(stack, f"compose-forger-{uuid.uuid4().hex[:8]}")
    header, claims, signature = tokens["access"].split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"
    request_id = f"compose-forged-{uuid.uuid4().hex}"

    refused = requests.get(
        f"{stack.url}/todos/", headers={"Authorization": f"Bearer {forged}", "X-Request-ID": request_id}, timeout=10
    )

    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.json() == {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="todos", error="invalid_token"'
    assert requests.get(f"{stack.url}/todos/", headers=_bearer(tokens), timeout=10).status_code == HTTPStatus.OK
    time.sleep(1.5)  # the gateway's access log is flushed every second
    gateway_log = stack.run("logs", "--no-color", "gateway").stdout.splitlines()
    gateway_lines = [line for line in gateway_log if request_id in line]
    assert len(gateway_lines) == 1, gateway_lines
    assert '"token_refusal":"signature"' in gateway_lines[0]
    assert request_id not in stack.run("logs", "--no-color", "todo").stdout, "the forged request reached the service"


def test_a_restarted_todo_container_keeps_the_data_in_its_named_volume(stack: ComposeProject):
    assert _journey, "the journey test made the todo this test looks for"
    started = _restart_and_report_the_start_time(stack, "todo")
    # The restarted container has a new address; the gateway's resolver finds it within its 2 s cache.
    _wait_until_the_gateway_answers(stack, "/todos/health/", started)
    say(f"todo container answering through the gateway {time.monotonic() - started:.1f} s after its restart")
    tokens = requests.post(
        f"{stack.url}/auth/login/", json={"username": _journey["username"], "password": PASSWORD}, timeout=10
    ).json()
    fetched = requests.get(f"{stack.url}/todos/{_journey['todo_id']}/", headers=_bearer(tokens), timeout=10)
    assert fetched.status_code == HTTPStatus.OK, fetched.text
    assert fetched.json()["title"] == "Survives a restart"


def test_a_restarted_auth_container_signs_with_the_same_key_and_keeps_the_users(stack: ComposeProject):
    assert _journey, "the journey test made the user this test logs in"
    before = requests.post(
        f"{stack.url}/auth/login/", json={"username": _journey["username"], "password": PASSWORD}, timeout=10
    ).json()

    started = _restart_and_report_the_start_time(stack, "auth")
    _wait_until_the_gateway_answers(stack, "/auth/health/", started)

    after = requests.post(
        f"{stack.url}/auth/login/", json={"username": _journey["username"], "password": PASSWORD}, timeout=10
    )
    assert after.status_code == HTTPStatus.OK, after.text
    # The keyring is in its volume: a token signed before the restart still verifies at the todo service.
    assert requests.get(f"{stack.url}/todos/", headers=_bearer(before), timeout=10).status_code == HTTPStatus.OK
    assert requests.get(f"{stack.url}/todos/", headers=_bearer(after.json()), timeout=10).json()["count"] == 1


def test_compose_down_with_volumes_leaves_no_container_volume_or_network(stack: ComposeProject):
    assert stack.labelled("volume"), "the stack made named volumes"
    stack.run("down", "--volumes", "--remove-orphans", "--timeout", "30")

    assert stack.labelled("container") == []
    assert stack.labelled("volume") == []
    assert stack.labelled("network") == []


def _restart_and_report_the_start_time(stack: ComposeProject, service: str) -> float:
    """Restarts a service's container and reports how long until it answers its own health check inside it."""
    port, path = {"auth": (8001, "/auth/health/"), "todo": (8002, "/todos/health/")}[service]
    started = time.monotonic()
    stack.run("restart", service)
    container = next(item["Name"] for item in stack.containers() if item["Service"] == service)
    probe = f"__import__('urllib.request').request.urlopen('http://127.0.0.1:{port}{path}',timeout=1)"
    while podman("exec", container, "python", "-c", probe, check=False).returncode != 0:
        assert time.monotonic() - started < 120, f"the {service} service did not answer within 120 s of its restart"
        time.sleep(0.2)
    say(f"{service} image: restarted and answering in its container in {time.monotonic() - started:.1f} s")
    return started


def _wait_until_the_gateway_answers(stack: ComposeProject, path: str, restarted: float, timeout: float = 120) -> None:
    """Waits until the gateway reaches the restarted service, and until every nginx worker can have looked up its
    new address: each worker keeps its own resolver answers (`valid=2s`), so one 200 says only that one worker
    has; another may still send a request to the old address until its answer expires (docs/containers.md)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{stack.url}{path}", timeout=5).status_code == HTTPStatus.OK:
                time.sleep(max(0.0, restarted + RESOLVER_VALID_SECONDS + 1 - time.monotonic()))
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{path} did not answer 200 through the gateway within {timeout:.0f} s")
