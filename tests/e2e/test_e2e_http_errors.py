"""Every error a client can meet through the gateway is JSON, even those no view makes; every 405 names its Allow."""

import json
import socket
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from e2e_stack import Client, Stack


def raw_request(stack: Stack, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (requests would fix them) and read the whole answer: status, headers, body."""
    address = urlsplit(stack.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        # A repeated header stays visible: its values are joined with " | ".
        key = name.strip().lower()
        headers[key] = f"{headers[key]} | {value.strip()}" if key in headers else value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return int(status_line.split()[1]), headers, body


def dechunk(body: bytes) -> bytes:
    whole = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        whole, body = whole + body[:size], body[size + 2 :]
    return whole


def assert_json_error(status: int, headers: dict[str, str], body: bytes) -> None:
    assert 400 <= status < 600, status
    assert headers["content-type"].startswith("application/json"), (status, headers, body[:200])
    assert isinstance(json.loads(body)["detail"], str)


@pytest.mark.parametrize("length", [4_000, 4_100, 6_000, 8_000, 8_150, 8_180, 8_200, 9_000, 20_000])
def test_a_long_uri_is_json_at_every_length(stack: Stack, length: int) -> None:
    path = "/todos/?search=" + "x" * (length - len("/todos/?search="))

    status, headers, body = raw_request(
        stack, f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    )

    assert_json_error(status, headers, body)


@pytest.mark.parametrize("count", [99, 101, 150, 1_000])
def test_many_headers_are_json(stack: Stack, count: int) -> None:
    extra = "".join(f"X-Extra-{number}: {number}\r\n" for number in range(count))

    status, headers, body = raw_request(
        stack, f"GET /todos/ HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n".encode()
    )

    assert status in {HTTPStatus.UNAUTHORIZED, HTTPStatus.BAD_REQUEST}, "the service's 401, or the gateway's size limit"
    assert_json_error(status, headers, body)


def test_an_unknown_transfer_encoding_is_a_json_501(stack: Stack) -> None:
    status, headers, body = raw_request(
        stack,
        b"POST /todos/ HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip-ish\r\nConnection: close\r\n\r\n",
    )

    assert status == HTTPStatus.NOT_IMPLEMENTED
    assert_json_error(status, headers, body)


def test_an_http_2_request_line_is_a_json_505(stack: Stack) -> None:
    status, headers, body = raw_request(stack, b"GET /todos/ HTTP/2.0\r\nHost: localhost\r\n\r\n")

    assert status == HTTPStatus.HTTP_VERSION_NOT_SUPPORTED
    assert_json_error(status, headers, body)


@pytest.mark.parametrize("path", ["/todos/", "/auth/me/", "/auth/health/"])
def test_a_foreign_host_is_a_json_400_in_development(stack: Stack, path: str) -> None:
    status, headers, body = raw_request(
        stack, f"GET {path} HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == HTTPStatus.BAD_REQUEST
    assert_json_error(status, headers, body)


ROUTES = [
    "/todos/",
    "/todos",
    "/todos/7d3a3b76-1a4f-4f44-9d1c-52b0f0e4f7aa/",
    "/todos/health/",
    "/auth/login/",
    "/auth/register",
    "/auth/refresh/",
    "/auth/logout/",
    "/auth/password/",
    "/auth/me/",
    "/auth/health/",
    "/auth/.well-known/jwks.json",
]


@pytest.mark.parametrize("path", ROUTES)
def test_trace_is_a_json_405_whose_allow_matches_the_service(stack: Stack, client: Client, path: str) -> None:
    service_allow = client.options(path).headers["Allow"]

    status, headers, body = raw_request(
        stack, f"TRACE {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == HTTPStatus.METHOD_NOT_ALLOWED
    assert_json_error(status, headers, body)
    assert headers["allow"] == service_allow


@pytest.mark.parametrize("path", ["/todos/", "/auth/login/"])
def test_an_unknown_method_is_a_json_405_with_one_allow_header(stack: Stack, path: str) -> None:
    status, headers, body = raw_request(
        stack, f"BREW {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == HTTPStatus.METHOD_NOT_ALLOWED
    assert_json_error(status, headers, body)
    assert headers["allow"].endswith("OPTIONS")
    assert "|" not in headers["allow"], "one Allow header"


def test_a_write_to_healthz_names_get_and_head(client: Client) -> None:
    response = client.post("/healthz")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.headers["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("path", ["/auth/health/", "/todos/health/"])
@pytest.mark.parametrize("value", [b"a\x01b", b"a\x7fb", b"\x1b[31mred"], ids=["soh", "del", "escape"])
def test_a_control_character_in_a_header_value_is_refused_in_json(stack: Stack, path: str, value: bytes) -> None:
    # nginx passes these bytes on; gunicorn refuses them itself, and used to answer in HTML.
    request = b"GET " + path.encode() + b" HTTP/1.1\r\nHost: localhost\r\nUser-Agent: " + value
    status, headers, body = raw_request(stack, request + b"\r\nConnection: close\r\n\r\n")

    assert status == HTTPStatus.BAD_REQUEST
    assert_json_error(status, headers, body)


@pytest.mark.parametrize("path", ["/_gateway/token", "/_gateway/400", "/_gateway/jwks", "/_gateway/token-check"])
def test_the_gateways_internal_locations_are_a_json_404_from_outside(stack: Stack, path: str) -> None:
    status, headers, body = raw_request(
        stack, f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == HTTPStatus.NOT_FOUND
    assert_json_error(status, headers, body)
