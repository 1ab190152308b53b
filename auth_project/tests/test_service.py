"""Health, docs, admin, static files, request ids and JSON errors."""

import ipaddress
import json
import logging
from http import HTTPStatus

import pytest
from django.contrib import messages
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import empty

from config.logs import JsonFormatter
from config.middleware import LazyMessageMiddleware

pytestmark = pytest.mark.django_db


def test_health_is_ok_when_the_database_answers(api_client):
    response = api_client.get("/auth/health/")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok"}
    assert api_client.get("/auth/health").status_code == HTTPStatus.OK


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="points the PostgreSQL connection at a closed port")
def test_health_is_a_json_503_when_the_database_does_not_answer(api_client):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = api_client.get("/auth/health/")
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["status"] == "unavailable"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="points the PostgreSQL connection at a closed port")
def test_an_api_request_while_the_database_is_unreachable_is_a_json_503_with_retry_after(api_client):
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        response = api_client.post(
            "/auth/register/",
            {"username": "kept", "email": "kept@example.com", "password": "correct-horse-battery-9"},
            format="json",
        )
    finally:
        connection.close()
        connection.settings_dict["PORT"] = real_port

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "5"
    assert response.json() == {"detail": "The database is unavailable; try again shortly."}


def test_an_unknown_path_is_a_json_404(api_client):
    response = api_client.get("/auth/nothing-here/")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/auth/nothing-here/", "/elsewhere", "/auth/static/missing.css"])
def test_an_unknown_path_is_a_json_404_in_development_too(api_client, settings, path):
    settings.DEBUG = True

    response = api_client.get(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/json"


def test_a_disallowed_host_is_a_json_400(api_client):
    response = api_client.get("/auth/health/", HTTP_HOST="evil.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"detail": "Bad request."}


def test_the_openapi_schema_documents_every_endpoint_once(api_client):
    response = api_client.get("/auth/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == HTTPStatus.OK
    paths = set(json.loads(response.content)["paths"])
    assert paths == {
        "/auth/register/",
        "/auth/login/",
        "/auth/refresh/",
        "/auth/logout/",
        "/auth/me/",
        "/auth/sessions/",
        "/auth/sessions/{session_id}/",
        "/auth/password/",
        "/auth/.well-known/jwks.json",
        "/auth/health/",
    }


def test_the_interactive_docs_load_their_assets_from_the_service_not_a_cdn(api_client):
    response = api_client.get("/auth/docs/")

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "/auth/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    asset = api_client.get("/auth/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == HTTPStatus.OK


def test_the_admin_login_page_is_served_with_its_static_files(api_client):
    assert api_client.get("/auth/admin/login/").status_code == HTTPStatus.OK
    assert api_client.get("/auth/static/admin/css/base.css").status_code == HTTPStatus.OK


def test_the_admin_lists_users_and_tokens(client, django_user_model):
    admin = django_user_model.objects.create_superuser(username="root", email="root@example.com", password="x")
    client.force_login(admin)

    for path in (
        "/auth/admin/accounts/user/",
        "/auth/admin/token_blacklist/outstandingtoken/",
        "/auth/admin/token_blacklist/blacklistedtoken/",
    ):
        assert client.get(path).status_code == HTTPStatus.OK, path


def test_a_well_formed_request_id_is_echoed(api_client):
    response = api_client.get("/auth/health/", HTTP_X_REQUEST_ID="abc-123.X_y")

    assert response["X-Request-ID"] == "abc-123.X_y"


@pytest.mark.parametrize("offered", ["", "has space", "x" * 65, "semi;colon", "ünïcode"])
def test_a_malformed_request_id_is_replaced(api_client, offered):
    response = api_client.get("/auth/health/", HTTP_X_REQUEST_ID=offered)

    assert response["X-Request-ID"] not in {offered, ""}
    assert len(response["X-Request-ID"]) <= 64


def test_each_request_writes_one_json_access_line_with_its_request_id(api_client, caplog):
    with caplog.at_level(logging.INFO, logger="access"):
        api_client.get(
            "/auth/health/", HTTP_X_REQUEST_ID="trace-me", REMOTE_ADDR="127.0.0.1", HTTP_X_REAL_IP="192.0.2.9"
        )

    (record,) = [record for record in caplog.records if record.name == "access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-me"
    assert line["method"] == "GET"
    assert line["path"] == "/auth/health/"
    assert line["status"] == HTTPStatus.OK
    assert line["client_ip"] == "192.0.2.9"
    assert isinstance(line["duration_ms"], float)


@pytest.mark.parametrize(("peer", "client"), [("10.244.1.7", "192.0.2.9"), ("11.0.0.1", "11.0.0.1")])
def test_x_real_ip_is_believed_only_from_a_peer_inside_a_trusted_network(api_client, settings, caplog, peer, client):
    settings.TRUSTED_PROXY_IPS = (ipaddress.ip_network("10.0.0.0/8"),)

    with caplog.at_level(logging.INFO, logger="access"):
        api_client.get("/auth/health/", REMOTE_ADDR=peer, HTTP_X_REAL_IP="192.0.2.9")

    (record,) = [record for record in caplog.records if record.name == "access"]
    assert json.loads(JsonFormatter().format(record))["client_ip"] == client


@pytest.mark.parametrize(("unix_trusted", "client"), [(True, "192.0.2.9"), (False, "")])
def test_x_real_ip_from_a_unix_socket_peer_is_believed_only_when_unix_is_trusted(
    api_client, settings, caplog, unix_trusted, client
):
    settings.TRUSTED_PROXY_UNIX_SOCKET = unix_trusted

    with caplog.at_level(logging.INFO, logger="access"):
        api_client.get("/auth/health/", REMOTE_ADDR="", HTTP_X_REAL_IP="192.0.2.9")

    (record,) = [record for record in caplog.records if record.name == "access"]
    assert json.loads(JsonFormatter().format(record))["client_ip"] == client


def test_cors_headers_are_off_unless_configured(api_client):
    response = api_client.get("/auth/health/", HTTP_ORIGIN="https://example.com")

    assert "Access-Control-Allow-Origin" not in response


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
