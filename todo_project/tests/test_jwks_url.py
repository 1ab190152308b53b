"""The keyring's JWKS URL source, against a real HTTP server: refresh, rate-limited refetch, last good keys kept."""

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import SigningKey, jwks_document
from todos.keyring import JWKS_MAX_BYTES

pytestmark = pytest.mark.django_db

MIN_REFETCH_INTERVAL = 0.3


@dataclass
class JwksServer:
    """What the fake auth service publishes, and how it behaves."""

    url: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    status: int = HTTPStatus.OK
    delay: float = 0.0
    # Bytes of filler added to the document (a JWKS that is valid, only too large), and seconds over which the
    # body is sent in ten pieces (each piece in time, the whole late).
    padding: int = 0
    drip: float = 0.0
    # Seconds over which the status line and headers are sent, in twenty pieces; and whether to leave out
    # Content-Length (the body then ends when the connection closes).
    drip_head: float = 0.0
    no_length: bool = False
    # When set, the JWKS path answers 302 to this path, which serves the document.
    redirect_to: str = ""
    hits: int = 0


def send_in_pieces(stream: Any, data: bytes, pieces: int, seconds: float) -> None:
    """All at once when seconds is 0; else in pieces, spread over that many seconds."""
    pieces = pieces if seconds else 1
    size = -(-len(data) // pieces)
    for start in range(0, len(data), size):
        stream.write(data[start : start + size])
        stream.flush()
        time.sleep(seconds / pieces)


@pytest.fixture
def jwks_server(signing_key: SigningKey) -> Iterator[JwksServer]:
    state = JwksServer(document=jwks_document(signing_key))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits += 1
            time.sleep(state.delay)
            if state.redirect_to and self.path != state.redirect_to:
                self.send_response(HTTPStatus.FOUND)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            document = {**state.document, "padding": "x" * state.padding} if state.padding else state.document
            body = json.dumps(document).encode()
            length = "" if state.no_length else f"Content-Length: {len(body)}\r\n"
            head = f"HTTP/1.1 {state.status} {HTTPStatus(state.status).phrase}\r\nContent-Type: application/json\r\n"
            self.close_connection = True
            with contextlib.suppress(ConnectionError):  # the keyring stops reading an answer too large or too slow
                send_in_pieces(self.wfile, f"{head}{length}Connection: close\r\n\r\n".encode(), 20, state.drip_head)
                send_in_pieces(self.wfile, body, 10, state.drip)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/auth/jwks/"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def jwks_url_settings(settings: Any, jwks_server: JwksServer) -> Any:
    """Keys only from the URL, with intervals short enough for a test."""
    settings.JWT_JWKS_FILE = ""
    settings.JWT_JWKS_URL = jwks_server.url
    settings.JWT_JWKS_TIMEOUT = 0.5
    settings.JWT_JWKS_REFRESH_INTERVAL = 60
    settings.JWT_JWKS_MIN_REFETCH_INTERVAL = MIN_REFETCH_INTERVAL
    return settings


def status_with(token: str) -> int:
    return APIClient().get("/todos/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_keys_are_fetched_once_from_the_jwks_url_and_reused(
    jwks_url_settings: Any, jwks_server: JwksServer, make_token: Callable[..., str]
) -> None:
    assert status_with(make_token()) == HTTPStatus.OK
    assert status_with(make_token("bob")) == HTTPStatus.OK

    assert jwks_server.hits == 1


def test_an_unknown_kid_triggers_one_rate_limited_refetch_then_401(
    jwks_url_settings: Any,
    jwks_server: JwksServer,
    make_token: Callable[..., str],
    signing_key: SigningKey,
    other_signing_key: SigningKey,
) -> None:
    # Long enough that the second refusal below surely falls inside it, even on a loaded machine.
    interval = 1.0
    jwks_url_settings.JWT_JWKS_MIN_REFETCH_INTERVAL = interval
    assert status_with(make_token()) == HTTPStatus.OK
    time.sleep(interval)

    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.UNAUTHORIZED
    assert jwks_server.hits == 2
    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.UNAUTHORIZED
    assert jwks_server.hits == 2

    jwks_server.document = jwks_document(signing_key, other_signing_key)
    time.sleep(interval)

    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.OK
    assert jwks_server.hits == 3


def test_a_key_rotated_in_at_the_auth_service_is_picked_up_on_first_use(
    jwks_url_settings: Any,
    jwks_server: JwksServer,
    make_token: Callable[..., str],
    signing_key: SigningKey,
    other_signing_key: SigningKey,
) -> None:
    assert status_with(make_token()) == HTTPStatus.OK
    jwks_server.document = jwks_document(signing_key, other_signing_key)
    time.sleep(MIN_REFETCH_INTERVAL)

    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.OK


@pytest.mark.parametrize(
    "failure",
    [
        {"status": HTTPStatus.INTERNAL_SERVER_ERROR},
        {"delay": 1.0},
        {"document": {"keys": "not a list"}},
    ],
    ids=["server-error", "timeout", "no-usable-key"],
)
def test_the_last_good_keys_are_kept_when_a_refresh_fails(
    jwks_url_settings: Any, jwks_server: JwksServer, make_token: Callable[..., str], failure: dict[str, Any]
) -> None:
    jwks_url_settings.JWT_JWKS_REFRESH_INTERVAL = MIN_REFETCH_INTERVAL
    assert status_with(make_token()) == HTTPStatus.OK
    for name, value in failure.items():
        setattr(jwks_server, name, value)
    time.sleep(MIN_REFETCH_INTERVAL)

    assert status_with(make_token()) == HTTPStatus.OK
    assert jwks_server.hits == 2


@pytest.mark.parametrize(
    "failure",
    [{"padding": JWKS_MAX_BYTES}, {"padding": JWKS_MAX_BYTES, "no_length": True}, {"drip": 1.0}, {"drip_head": 1.0}],
    ids=["larger-than-the-bound", "larger-without-a-length", "each-piece-in-time-whole-late", "headers-late"],
)
def test_a_jwks_answer_too_large_or_too_slow_as_a_whole_is_not_taken(
    jwks_url_settings: Any,
    jwks_server: JwksServer,
    make_token: Callable[..., str],
    other_signing_key: SigningKey,
    failure: dict[str, Any],
) -> None:
    # The answer is a valid JWKS with another key: had it been taken, the first key's tokens would be refused.
    jwks_url_settings.JWT_JWKS_REFRESH_INTERVAL = MIN_REFETCH_INTERVAL
    assert status_with(make_token()) == HTTPStatus.OK
    jwks_server.document = jwks_document(other_signing_key)
    for name, value in failure.items():
        setattr(jwks_server, name, value)
    time.sleep(MIN_REFETCH_INTERVAL)

    assert status_with(make_token()) == HTTPStatus.OK
    assert jwks_server.hits == 2
    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.UNAUTHORIZED


def test_a_jwks_answer_whose_headers_trickle_in_holds_the_request_no_longer_than_the_timeout(
    jwks_url_settings: Any, jwks_server: JwksServer, make_token: Callable[..., str]
) -> None:
    # The request that finds the keys due fetches them itself: each read within the timeout (0.5 s) must not add up.
    jwks_url_settings.JWT_JWKS_REFRESH_INTERVAL = MIN_REFETCH_INTERVAL
    assert status_with(make_token()) == HTTPStatus.OK
    jwks_server.drip_head = 5.0
    time.sleep(MIN_REFETCH_INTERVAL)

    started = time.monotonic()
    assert status_with(make_token()) == HTTPStatus.OK
    assert time.monotonic() - started < 2.5, "the fetch outlasted its timeout by far"


def test_a_redirect_from_the_jwks_url_is_not_followed(
    jwks_url_settings: Any, jwks_server: JwksServer, make_token: Callable[..., str], other_signing_key: SigningKey
) -> None:
    jwks_url_settings.JWT_JWKS_REFRESH_INTERVAL = MIN_REFETCH_INTERVAL
    assert status_with(make_token()) == HTTPStatus.OK
    jwks_server.document = jwks_document(other_signing_key)
    jwks_server.redirect_to = "/elsewhere/jwks.json"
    time.sleep(MIN_REFETCH_INTERVAL)

    assert status_with(make_token()) == HTTPStatus.OK
    assert jwks_server.hits == 2
    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.UNAUTHORIZED


def test_a_jwks_url_that_never_answered_refuses_tokens_with_401(
    jwks_url_settings: Any, jwks_server: JwksServer, make_token: Callable[..., str]
) -> None:
    jwks_server.status = HTTPStatus.SERVICE_UNAVAILABLE

    response = APIClient().get("/todos/", HTTP_AUTHORIZATION=f"Bearer {make_token()}")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer ")


def test_a_key_removed_from_the_jwks_is_refused_after_the_refresh(
    jwks_url_settings: Any,
    jwks_server: JwksServer,
    make_token: Callable[..., str],
    signing_key: SigningKey,
    other_signing_key: SigningKey,
) -> None:
    jwks_url_settings.JWT_JWKS_REFRESH_INTERVAL = MIN_REFETCH_INTERVAL
    assert status_with(make_token()) == HTTPStatus.OK
    jwks_server.document = jwks_document(other_signing_key)
    time.sleep(MIN_REFETCH_INTERVAL)

    assert status_with(make_token()) == HTTPStatus.UNAUTHORIZED
    assert status_with(make_token(key=other_signing_key)) == HTTPStatus.OK
