"""What the gateway itself does: health, JSON errors, limits, headers, the client's address, its config."""

import os
import re
import shutil
import stat
import subprocess
import uuid
from http import HTTPStatus

import pytest

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def assert_gateway_json_error(response, status: HTTPStatus) -> None:
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.json()["detail"], str)


def test_the_gateway_answers_healthz_itself(client):
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


def test_an_unknown_path_is_a_json_404_from_the_gateway(client):
    for path in ("/", "/nothing-here", "/authors/", "/todosx"):
        assert_gateway_json_error(client.get(path), HTTPStatus.NOT_FOUND)


def test_a_write_to_healthz_is_a_json_405(client):
    assert_gateway_json_error(client.post("/healthz"), HTTPStatus.METHOD_NOT_ALLOWED)


def test_a_body_over_one_mebibyte_is_refused_with_a_json_413_before_the_service_sees_it(client, user, stack):
    request_id = f"e2e-413-{uuid.uuid4().hex}"
    body = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post(
        "/todos/", data=body, headers=user.auth | {"Content-Type": "application/json", "X-Request-ID": request_id}
    )

    assert_gateway_json_error(response, HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    assert stack.wait_for_log("nginx-access", request_id)[0]["status"] == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert stack.wait_for_log("todo", request_id, timeout=0) == []


def test_an_oversized_header_is_refused_with_a_json_400(client):
    response = client.get("/todos/", headers={"X-Padding": "x" * 10_000})

    assert_gateway_json_error(response, HTTPStatus.BAD_REQUEST)


def test_api_responses_carry_the_security_headers_and_no_store(client, user):
    for response in (client.get("/todos/", headers=user.auth), client.get("/todos/"), client.get("/nowhere")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Server"] == "nginx", "no version in the Server header"


def test_the_jwks_keeps_the_cache_lifetime_the_auth_service_gives_it(client):
    response = client.get("/auth/.well-known/jwks.json")

    assert response.status_code == HTTPStatus.OK
    assert "max-age" in response.headers["Cache-Control"]
    assert "no-store" not in response.headers["Cache-Control"]


def test_the_services_see_the_real_client_address_whatever_the_client_claims(client, stack):
    request_id = f"e2e-address-{uuid.uuid4().hex}"
    response = client.get(
        "/auth/health/",
        headers={"X-Request-ID": request_id, "X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7"},
    )

    assert response.status_code == HTTPStatus.OK
    [access_line] = [line for line in stack.wait_for_log("auth", request_id) if "client_ip" in line]
    assert access_line["client_ip"] == client.address
    assert stack.wait_for_log("nginx-access", request_id)[0]["client"] == client.address


def test_the_gateway_reaches_each_service_on_its_unix_socket(client, user, stack):
    request_ids = {"auth": f"e2e-socket-{uuid.uuid4().hex}", "todo": f"e2e-socket-{uuid.uuid4().hex}"}

    client.get("/auth/me/", headers=user.auth | {"X-Request-ID": request_ids["auth"]})
    client.get("/todos/", headers=user.auth | {"X-Request-ID": request_ids["todo"]})

    for service, request_id in request_ids.items():
        [gateway_line] = stack.wait_for_log("nginx-access", request_id)
        assert gateway_line["upstream_addr"] == f"unix:{stack.var_dir / 'run' / 'sockets' / f'{service}-1.sock'}"
        assert gateway_line["status"] == HTTPStatus.OK


def test_the_services_sockets_lie_in_a_folder_others_cannot_enter(stack):
    folder = stack.var_dir / "run" / "sockets"

    assert stat.S_IMODE(folder.stat().st_mode) & stat.S_IRWXO == 0
    if os.geteuid() != 0:
        return
    # Run as root, nginx's workers are nobody, whose group may pass; another account, here daemon, may not connect.
    connect = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        "    s.connect(sys.argv[1])\n"
        "except PermissionError:\n"
        "    sys.exit(13)\n"
    )
    # The system's Python: the project's virtual environments point into root's home, which daemon cannot enter.
    python = shutil.which("python3", path="/usr/bin:/bin")
    if not shutil.which("setpriv") or not python:
        pytest.skip("the probe needs setpriv (util-linux) and the system's python3 to run as another user")
    completed = subprocess.run(
        [
            "setpriv",
            "--reuid=daemon",
            "--regid=daemon",
            "--clear-groups",
            python,
            "-c",
            connect,
            str(folder / "todo-1.sock"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 13, completed.stderr


def test_the_rendered_configuration_passes_nginx_t(stack, tmp_path):
    nginx_dir = stack.var_dir / "nginx"
    completed = subprocess.run(
        [
            shutil.which("nginx") or "/usr/sbin/nginx",
            "-t",
            "-p",
            f"{nginx_dir}/",
            "-c",
            "nginx.conf",
            "-e",
            str(tmp_path / "error.log"),
            "-g",
            f"pid {tmp_path / 'nginx.pid'};",
        ],
        capture_output=True,
        text=True,
    )

    assert completed.returncode == 0, completed.stderr
    assert "test is successful" in completed.stderr
