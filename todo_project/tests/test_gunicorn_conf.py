"""gunicorn.conf.py's change to how gunicorn writes an answer: the headers leave with the first body chunk."""

import runpy
from pathlib import Path

import gunicorn.util
import pytest
from gunicorn.config import Config
from gunicorn.http.wsgi import Response

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


class RecordingSocket:
    """Keeps each sendall() call apart, as the socket would hand each to the kernel."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))


class PlainRequest:
    version = (1, 1)

    def __init__(self, method: str = "GET") -> None:
        self.method = method

    def should_close(self) -> bool:
        return False


class GunicornsOwnResponse(Response):
    """A subclass: gunicorn.conf.py leaves it as gunicorn wrote it (as it does gunicorn's HTTP/2 answers)."""


@pytest.fixture(autouse=True)
def gunicorn_conf(monkeypatch):
    runpy.run_path(str(GUNICORN_CONF))
    monkeypatch.setattr(gunicorn.util, "http_date", lambda *args: "Sat, 28 Nov 2026 00:00:00 GMT")


def answer(response_class, status, headers, chunks, method="GET") -> list[bytes]:
    sock = RecordingSocket()
    response = response_class(PlainRequest(method), sock, Config())
    response.start_response(status, headers)
    for chunk in chunks:
        response.write(chunk)
    response.close()
    return sock.writes


JSON = ("Content-Type", "application/json")
CASES = {
    "a JSON answer": ("200 OK", [JSON, ("Content-Length", "11")], [b'{"id": 123}']),
    "a streamed answer, chunked": ("200 OK", [JSON], [b"[1,", b"2]"]),
    "a 304": ("304 Not Modified", [("ETag", '"v1"'), ("Content-Length", "0")], [b""]),
    "an empty body": ("204 No Content", [], []),
}


def test_the_config_file_changes_gunicorns_response_once_however_often_it_runs() -> None:
    write = Response.write
    runpy.run_path(str(GUNICORN_CONF))

    assert Response.sends_headers_with_first_chunk
    assert Response.write is write


def test_a_json_answers_headers_and_body_leave_the_worker_in_one_write() -> None:
    """A worker killed mid-answer has sent all of it or nothing, so the gateway can retry an idempotent request."""
    status, headers, chunks = CASES["a JSON answer"]

    writes = answer(Response, status, headers, chunks)

    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert writes[0].endswith(b'\r\n\r\n{"id": 123}')
    assert len(answer(GunicornsOwnResponse, status, headers, chunks)) == 2


@pytest.mark.parametrize("case", CASES)
def test_every_answer_puts_the_same_bytes_on_the_wire_as_gunicorns_own(case) -> None:
    status, headers, chunks = CASES[case]

    assert b"".join(answer(Response, status, headers, chunks)) == b"".join(
        answer(GunicornsOwnResponse, status, headers, chunks)
    )


@pytest.mark.parametrize("case", ["a 304", "an empty body"])
def test_an_answer_without_body_bytes_still_sends_its_headers_once(case) -> None:
    status, headers, chunks = CASES[case]

    writes = answer(Response, status, headers, chunks)

    assert len(writes) == 1
    assert writes[0].endswith(b"\r\n\r\n")


def test_a_head_answer_sends_its_headers_and_drops_the_body() -> None:
    status, headers, chunks = CASES["a JSON answer"]

    writes = answer(Response, status, headers, chunks, method="HEAD")

    assert writes == answer(GunicornsOwnResponse, status, headers, chunks, method="HEAD")
    assert len(writes) == 1
    assert b"Content-Length: 11\r\n" in writes[0]
    assert writes[0].endswith(b"\r\n\r\n")
