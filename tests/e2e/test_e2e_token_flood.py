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

FLOOD_THREADS = 4
FLOOD_LIMIT = 6000
HONEST_REQUESTS = 80


def _flood(url: str, address: str, token: str, stop: threading.Event, sent: list[int], refused: list[int]) -> None:
    """Send forged GET /todos/ over one kept-alive connection until stopped or FLOOD_LIMIT is reached."""
    host, port = url.removeprefix("http://").split(":")
    request = (
        f"GET /todos/ HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
        "X-Request-ID: forged-flood\r\n\r\n"
    ).encode()
    connection = socket.create_connection((host, int(port)), source_address=(address, 0))
    buffer = b""
    try:
        while not stop.is_set() and sum(sent) < FLOOD_LIMIT:
            connection.sendall(request)
            sent.append(1)
            while b"\r\n\r\n" not in buffer:
                buffer += connection.recv(65536)
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(buffer) < length:
                buffer += connection.recv(65536)
            buffer = buffer[length:]
            if head.startswith(b"HTTP/1.1 401"):
                refused.append(1)
    finally:
        connection.close()


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
    for flooder in flooders:
        flooder.start()
    try:
        time.sleep(0.5)
        flooded = _honest_latencies(client, honest.auth)
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join(timeout=30)

    assert len(sent) >= 500, f"a real flood: {len(sent)} forged requests"
    assert len(refused) >= len(sent) - FLOOD_THREADS, "every forged request answered 401 by the gateway"
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
        f"p90 {_p90(quiet) * 1000:.1f} ms -> {_p90(flooded) * 1000:.1f} ms, during {len(sent)} forged requests"
    )
    print(report)
    assert flooded_median <= 3 * quiet_median + 0.010, report
    assert _p90(flooded) <= 3 * _p90(quiet) + 0.020, report
