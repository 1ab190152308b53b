"""Request ids: kept or made by the gateway, sent back, and on the gateway's and both services' log lines."""

import re
import uuid
from http import HTTPStatus

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def test_a_clients_request_id_comes_back_and_is_on_every_log_line_of_the_request(client, user, stack):
    auth_request_id = f"e2e.auth-{uuid.uuid4().hex}"
    todo_request_id = f"e2e.todo-{uuid.uuid4().hex}"

    me = client.get("/auth/me/", headers=user.auth | {"X-Request-ID": auth_request_id})
    todos = client.get("/todos/", headers=user.auth | {"X-Request-ID": todo_request_id})

    assert me.status_code == todos.status_code == HTTPStatus.OK
    assert me.raw.headers.getlist("X-Request-ID") == [auth_request_id]
    assert todos.raw.headers.getlist("X-Request-ID") == [todo_request_id]
    for service, request_id, path in (("auth", auth_request_id, "/auth/me/"), ("todo", todo_request_id, "/todos/")):
        [gateway_line] = stack.wait_for_log("nginx-access", request_id)
        assert gateway_line["path"] == path
        assert gateway_line["status"] == HTTPStatus.OK
        assert gateway_line["upstream_addr"]
        service_lines = stack.wait_for_log(service, request_id)
        assert any(line.get("path") == path and line.get("status") == HTTPStatus.OK for line in service_lines)


def test_a_request_id_that_is_too_long_or_has_odd_characters_is_replaced(client, stack):
    for offered in ("x" * 65, "has spaces", 'quote"d', "a/b"):
        response = client.get("/todos/health/", headers={"X-Request-ID": offered})

        assert response.status_code == HTTPStatus.OK
        given = response.headers["X-Request-ID"]
        assert given != offered
        assert REQUEST_ID.fullmatch(given)
        assert stack.wait_for_log("todo", given), "the service logged the id the gateway made"


def test_gateway_errors_carry_a_request_id_too(client):
    for response in (client.get("/nowhere"), client.post("/healthz"), client.get("/healthz")):
        assert REQUEST_ID.fullmatch(response.headers["X-Request-ID"])
