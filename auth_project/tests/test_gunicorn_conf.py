"""gunicorn.conf.py's changes to gunicorn: headers leave with the first body chunk; one thread answers on the loop."""

import contextlib
import http.client
import json
import os
import runpy
import socket
import subprocess
import sys
import time
from http import HTTPStatus
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


# ---------------------------------------------------------------------------- the worker, in a real gunicorn
WHICH_THREAD_APP = """
import threading


def application(environ, start_response):
    body = threading.current_thread().name.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@pytest.fixture
def serve(tmp_path):
    """Start gunicorn with this service's gunicorn.conf.py and a small app; returns its address."""
    (tmp_path / "which_thread.py").write_text(WHICH_THREAD_APP)
    started = []

    def start(threads: int) -> tuple[str, int]:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        environment = os.environ | {
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": str(threads),
            "METRICS_BIND": "",
        }
        command = [str(Path(sys.executable).parent / "gunicorn"), "--config", str(GUNICORN_CONF)]
        command += ["--pythonpath", str(tmp_path), "which_thread:application"]
        started.append(subprocess.Popen(command, env=environment, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return "127.0.0.1", port
            time.sleep(0.05)
        pytest.fail("gunicorn did not start listening within 20 s")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def get_twice_on_one_connection(address: tuple[str, int]) -> list[str]:
    connection = http.client.HTTPConnection(*address, timeout=5)
    try:
        answers = []
        for _ in range(2):
            connection.request("GET", "/")
            response = connection.getresponse()
            assert response.status == HTTPStatus.OK
            assert response.getheader("Connection") == "keep-alive"
            answers.append(response.read().decode())
        return answers
    finally:
        connection.close()


def test_a_worker_with_one_thread_answers_on_its_own_loop_and_keeps_the_connection_open(serve) -> None:
    address = serve(threads=1)

    assert get_twice_on_one_connection(address) == ["MainThread", "MainThread"]


def test_a_client_that_connects_and_sends_nothing_holds_up_no_one_else(serve) -> None:
    address = serve(threads=1)

    with socket.create_connection(address), socket.create_connection(address):
        started = time.monotonic()
        assert get_twice_on_one_connection(address) == ["MainThread", "MainThread"]
        assert time.monotonic() - started < 2


def test_a_worker_with_more_threads_is_gunicorns_own_thread_pool(serve) -> None:
    address = serve(threads=2)

    assert all(name.startswith("ThreadPoolExecutor") for name in get_twice_on_one_connection(address))


def test_a_request_gunicorn_cannot_parse_is_refused_in_json(serve) -> None:
    address = serve(threads=1)

    with socket.create_connection(address, timeout=5) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Note: a\x01b\r\n\r\n")
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert b"\r\nContent-Type: application/json\r\n" in head
    assert f"\r\nContent-Length: {len(body)}".encode() in head
    assert json.loads(body)["detail"].startswith("Bad Request: ")
