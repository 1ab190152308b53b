"""Service plumbing: health, schema and docs, admin, JSON errors, request ids and logs."""

import io
import ipaddress
import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

import pytest
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection, connections
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils.functional import empty
from rest_framework.test import APIClient

from config.logs import JsonFormatter, RequestIdFilter
from config.middleware import LazyMessageMiddleware, access_logger

pytestmark = pytest.mark.django_db
postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="checks PostgreSQL itself")


def test_health_is_200_when_the_database_answers() -> None:
    response = Client().get("/todos/health/")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_health_is_503_json_when_the_database_does_not_answer() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = free_port
    try:
        response = Client().get("/todos/health/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "unavailable"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_api_request_while_the_database_is_unreachable_is_a_json_503_with_retry_after(alice: APIClient) -> None:
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        listed = alice.get("/todos/")
        created = alice.post("/todos/", {"title": "kept for later"}, format="json")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    for response in (listed, created):
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response["Retry-After"] == "5"
        assert response.json() == {"detail": "The database is unavailable; try again shortly."}
    assert alice.get("/todos/").status_code == HTTPStatus.OK, "the next request reconnects by itself"


def test_the_openapi_schema_describes_the_todo_endpoints() -> None:
    response = Client().get("/todos/schema/?format=json")

    assert response.status_code == HTTPStatus.OK
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert {"/todos/", "/todos/{todo_id}/", "/todos/health/"} <= set(schema["paths"])
    assert "412" in schema["paths"]["/todos/{todo_id}/"]["patch"]["responses"]


def test_the_interactive_docs_load_their_assets_locally_not_from_a_cdn() -> None:
    page = Client().get("/todos/docs/")

    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "/todos/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert Client().get("/todos/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_the_admin_lists_todos_filtered_by_owner_and_searchable(make_todo: Callable) -> None:
    make_todo(owner_id="alice", title="alice's errand")
    make_todo(owner_id="bob", title="bob's errand")
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(operator)

    by_owner = client.get("/todos/admin/todos/todo/?owner_id=bob").content.decode()
    by_search = client.get("/todos/admin/todos/todo/?q=alice").content.decode()

    assert "bob&#x27;s errand" in by_owner
    assert "alice&#x27;s errand" not in by_owner
    assert "alice&#x27;s errand" in by_search
    assert "bob&#x27;s errand" not in by_search


def test_an_edit_in_the_admin_changes_the_todos_etag(make_todo: Callable) -> None:
    todo = make_todo(owner_id="alice", title="before")
    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-for-tests-only")
    client = Client()
    client.force_login(operator)

    response = client.post(
        f"/todos/admin/todos/todo/{todo.id}/change/",
        {"owner_id": "alice", "title": "after", "description": "", "order": "0"},
    )

    assert response.status_code == HTTPStatus.FOUND
    todo.refresh_from_db()
    assert todo.title == "after"
    assert todo.version == 2


def test_the_admin_asks_operators_to_log_in() -> None:
    response = Client().get("/todos/admin/")

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/todos/admin/login/")


def test_a_request_id_from_the_caller_is_echoed(alice: APIClient) -> None:
    response = alice.get("/todos/", HTTP_X_REQUEST_ID="trace-123.abc_DEF")

    assert response["X-Request-ID"] == "trace-123.abc_DEF"


@pytest.mark.parametrize("request_id", ["x" * 65, "bad id", "semi;colon", ""])
def test_a_malformed_request_id_is_replaced(alice: APIClient, request_id: str) -> None:
    response = alice.get("/todos/", HTTP_X_REQUEST_ID=request_id)

    assert response["X-Request-ID"] != request_id
    assert len(response["X-Request-ID"]) == 32


@pytest.fixture
def access_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The access log as the configured filter and formatter write it: one parsed JSON object per line."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    access_logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    access_logger.removeHandler(handler)


def test_each_request_writes_one_json_access_line_with_its_request_id(
    alice: APIClient, access_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    alice.get("/todos/", HTTP_X_REQUEST_ID="req-1", HTTP_X_REAL_IP="203.0.113.9")

    [line] = access_lines()
    assert line["duration_ms"] >= 0
    assert {key: line[key] for key in ("method", "path", "status", "request_id", "client_ip")} == {
        "method": "GET",
        "path": "/todos/",
        "status": 200,
        "request_id": "req-1",
        "client_ip": "203.0.113.9",
    }


def test_x_real_ip_is_ignored_from_an_untrusted_peer(
    alice: APIClient, access_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    alice.get("/todos/", HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="198.51.100.7")

    [line] = access_lines()
    assert line["client_ip"] == "198.51.100.7"


@pytest.mark.parametrize(("peer", "client"), [("10.244.1.7", "203.0.113.9"), ("11.0.0.1", "11.0.0.1")])
def test_x_real_ip_is_believed_only_from_a_peer_inside_a_trusted_network(
    alice: APIClient, access_lines: Callable[[], list[dict[str, Any]]], settings: Any, peer: str, client: str
) -> None:
    settings.TRUSTED_PROXY_IPS = (ipaddress.ip_network("10.0.0.0/8"),)

    alice.get("/todos/", HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR=peer)

    [line] = access_lines()
    assert line["client_ip"] == client


@pytest.mark.parametrize(("unix_trusted", "client"), [(True, "203.0.113.9"), (False, "")])
def test_x_real_ip_from_a_unix_socket_peer_is_believed_only_when_unix_is_trusted(
    alice: APIClient, access_lines: Callable[[], list[dict[str, Any]]], settings: Any, unix_trusted: bool, client: str
) -> None:
    settings.TRUSTED_PROXY_UNIX_SOCKET = unix_trusted

    alice.get("/todos/", HTTP_X_REAL_IP="203.0.113.9", REMOTE_ADDR="")

    [line] = access_lines()
    assert line["client_ip"] == client


@pytest.mark.parametrize("path", ["/todos/nothing/here/", "/elsewhere", "/todos/static/missing.css"])
def test_an_unknown_path_is_a_json_404_in_development_too(settings: Any, path: str) -> None:
    settings.DEBUG = True

    response = Client().get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


def test_a_host_not_allowed_is_400_json() -> None:
    response = Client().get("/todos/health/", HTTP_HOST="evil.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Bad request."}


def test_a_server_error_is_500_json_without_a_traceback(settings: Any) -> None:
    from config import errors

    response = errors.server_error(Client().get("/todos/health/").wsgi_request)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    assert json.loads(response.content) == {"detail": "Internal server error."}


@postgresql_only
def test_the_connection_health_check_pings_only_a_connection_that_has_been_idle(monkeypatch) -> None:
    wrapper = connections["default"]
    pings: list[bool] = []
    monkeypatch.setattr(type(wrapper), "is_usable", lambda self: pings.append(True) or True)
    wrapper.ensure_connection()
    monkeypatch.setattr(wrapper, "health_check_enabled", True)

    wrapper.health_check_done = False
    wrapper.last_used_cleanly = time.monotonic()
    wrapper.close_if_health_check_failed()
    assert pings == []

    wrapper.health_check_done = False
    wrapper.last_used_cleanly = time.monotonic() - 60
    wrapper.close_if_health_check_failed()
    assert pings == [True]


def test_a_request_that_adds_no_message_never_builds_the_message_storage():
    request = RequestFactory().get("/")
    middleware = LazyMessageMiddleware(lambda request: HttpResponse())

    response = middleware(request)

    assert request._messages._wrapped is empty
    assert "messages" not in response.cookies


def test_a_message_added_during_a_request_is_stored_for_the_next_one():
    def view(request):
        messages.success(request, "The todo was changed.")
        return HttpResponse()

    # As in MIDDLEWARE: the session middleware first, for the storage's fallback.
    response = SessionMiddleware(LazyMessageMiddleware(view))(RequestFactory().get("/"))

    following = RequestFactory().get("/", HTTP_COOKIE=f"messages={response.cookies['messages'].value}")
    SessionMiddleware(LazyMessageMiddleware(lambda request: HttpResponse()))(following)
    assert [str(message) for message in messages.get_messages(following)] == ["The todo was changed."]


def test_gunicorns_own_log_lines_still_format_after_the_logging_settings() -> None:
    """config.logs tells logging what not to collect; gunicorn's lines print the process id with %d."""
    import logging
    import os

    from gunicorn.glogging import Logger

    record = logging.getLogger("gunicorn.error").makeRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Worker exiting (pid: %s)", (1,), None
    )

    assert f"[{os.getpid()}] [INFO]" in logging.Formatter(Logger.error_fmt, Logger.datefmt).format(record)
