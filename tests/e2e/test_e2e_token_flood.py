"""A flood of forged tokens stops at the gateway: no forged request reaches a service, and honest users barely notice.

The flood runs on a stack without rate limits, so every forged request is checked rather than refused as a 429, and
is sent over raw kept-alive sockets, so the test's own Python does little work per request beside the honest
client's (the machine has 2 cores). The bound on the honest client's latency is loose on purpose: it catches a
flood that reaches the services' few workers (each forged request would queue honest ones behind it), not noise.
"""

import socket
import statistics
import threading
import time
import uuid
from http import HTTPStatus

from e2e_stack import Client, register_and_login
from forged_tokens import access_claims, decode_part, rs256, stranger_key

FLOOD_THREADS = 2
# Forged requests a second per thread: 800 a second in all would keep both of the todo service's workers busy
# (about a millisecond each to refuse) if they reached it, while leaving the test's own client a share of the
# machine's 2 cores.
FLOOD_RATE = 400
FLOOD_LIMIT = 6000
HONEST_REQUESTS = 80


def _flood(url: str, address: str, token: str, stop: threading.Event, sent: list[int], refused: list[int]) -> None:
    """Send forged GET /todos/ over kept-alive connections until stopped or FLOOD_LIMIT is reached."""
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /todos/ HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "X-Request-ID: forged-flood\r\n\r\n"
    ).encode()
    while not stop.is_set() and sum(sent) < FLOOD_LIMIT:
        # The gateway closes a connection after keepalive_requests (1000): then open another.
        with socket.create_connection((host, int(port)), source_address=(address, 0)) as connection:
            while not stop.is_set() and sum(sent) < FLOOD_LIMIT:
                next_send = time.monotonic() + 1 / FLOOD_RATE
                connection.sendall(request)
                sent.append(1)
                head, body = _read_response(connection)
                if head.startswith(b"HTTP/1.1 401") and b"token_not_valid" in body:
                    refused.append(1)
                if b"connection: close" in head.lower():
                    break
                time.sleep(max(0.0, next_send - time.monotonic()))


def _read_response(connection: socket.socket) -> tuple[bytes, bytes]:
    """One response (head, body) with a Content-Length, as the gateway's 401 has."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the gateway closed the connection mid-response")
        buffer += chunk
    head, _, body = buffer.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the gateway closed the connection mid-response")
        body += chunk
    return head, body


def _honest_latencies(client: Client, auth: dict[str, str]) -> list[float]:
    latencies = []
    for _ in range(HONEST_REQUESTS):
        started = time.perf_counter()
        response = client.get("/todos/", headers=auth)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == HTTPStatus.OK, response.text
    return latencies


def _p90(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=10)[-1]


def test_a_flood_of_forged_tokens_never_reaches_a_service_and_barely_slows_an_honest_client(unthrottled_stack):
    stack = unthrottled_stack
    client = Client(stack.url, "127.0.10.1")
    honest = register_and_login(client)
    for title in ("one", "two", "three"):
        client.post("/todos/", json={"title": title}, headers=honest.auth)
    forged = rs256({"kid": decode_part(honest.access, 0)["kid"]}, access_claims(honest.access), stranger_key())
    _honest_latencies(client, honest.auth)  # warm up: connections, caches
    quiet = _honest_latencies(client, honest.auth)

    stop, sent, refused = threading.Event(), [], []
    flooders = [
        threading.Thread(target=_flood, args=(stack.url, f"127.0.10.{2 + index}", forged, stop, sent, refused))
        for index in range(FLOOD_THREADS)
    ]
    flood_started = time.monotonic()
    for flooder in flooders:
        flooder.start()
    try:
        time.sleep(0.5)
        flooded = _honest_latencies(client, honest.auth)
        flood_seconds = time.monotonic() - flood_started
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join(timeout=30)

    assert len(sent) >= 300 * flood_seconds, f"a real flood: {len(sent)} forged requests in {flood_seconds:.1f} s"
    assert len(refused) == len(sent), "every forged request answered 401 by the gateway"
    marker = f"after-flood-{uuid.uuid4().hex}"
    client.get("/todos/", headers={**honest.auth, "X-Request-ID": marker})
    assert stack.wait_for_log("todo", marker), "the todo service's log is written up to now"
    for service in ("todo", "auth"):
        reached = [line for line in stack.log_lines(service) if line.get("request_id") == "forged-flood"]
        forwarded = [line for line in reached if "jwks" not in line.get("path", "")]
        assert forwarded == [], f"a forged request reached the {service} service"
    quiet_median, flooded_median = statistics.median(quiet), statistics.median(flooded)
    report = (
        f"honest client, median {quiet_median * 1000:.1f} ms -> {flooded_median * 1000:.1f} ms, "
        f"p90 {_p90(quiet) * 1000:.1f} ms -> {_p90(flooded) * 1000:.1f} ms, "
        f"during {len(sent)} forged requests in {flood_seconds:.1f} s"
    )
    print(report)
    assert flooded_median <= 3 * quiet_median + 0.010, report
    assert _p90(flooded) <= 3 * _p90(quiet) + 0.020, report
