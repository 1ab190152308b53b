"""gunicorn settings for the auth service, all from the environment (docs/configuration.md)."""

import contextlib
import ctypes
import errno
import json
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
from concurrent.futures import Future
from functools import partial

import gunicorn.http.parser
import gunicorn.http.wsgi
import gunicorn.util
from gunicorn.workers.gthread import TConn, ThreadWorker

wsgi_app = "config.wsgi:application"
# One address or several, comma-separated: the local stack adds a Unix socket ("unix:PATH") for the gateway.
DEFAULT_BIND = f"127.0.0.1:{os.environ.get('AUTH_PORT') or 8001}"
bind = [item.strip() for item in (os.environ.get("GUNICORN_BIND") or DEFAULT_BIND).split(",") if item.strip()]
workers = int(os.environ.get("GUNICORN_WORKERS") or 2)
# Two threads: a login's Argon2id hash (12 MiB, outside the GIL) overlaps with other requests, while the
# worker's peak memory stays near its base plus two hashes (more threads, more memory: docs/benchmarks.md).
threads = int(os.environ.get("GUNICORN_THREADS") or 2)


# At most this many new connections taken in each time the loop finds the listener ready (InlineThreadWorker).
ACCEPT_BURST = 16


class InlineThreadWorker(ThreadWorker):
    """gunicorn's gthread worker, which with one thread answers each request on its own loop's thread.

    gthread hands every request from the loop that watches the connections to its thread pool and the
    connection back again: a queue, a pipe and two switches of the GIL per request, which took half of a
    trivial answer's cost (docs/benchmarks.md). With one thread the pool adds nothing the loop cannot do: a
    request waits for the one before it either way. A new connection first waits in the loop's poller for its
    request (as gthread does with one that sends nothing within 5 s), so a silent client holds up no one; a
    kept-alive connection is readable when the loop sees it. With more threads, it is gthread unchanged.
    While a request runs the worker sends no heartbeat, so gunicorn's `timeout` ends a request stuck longer
    than that, as it does for sync workers.
    """

    def accept(self, listener) -> None:
        if self.cfg.threads > 1:
            super().accept(listener)
            return
        # Several at a time: the loop sees the listener once per round of answers, so taking one connection a round
        # kept the gateway's new connections waiting behind whole rounds (100-250 ms at the start of a burst).
        for _ in range(ACCEPT_BURST):
            if self.nr_conns >= self.worker_connections:
                return
            try:
                client, address = listener.accept()
            except OSError as error:
                if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            self.nr_conns += 1
            conn = TConn(self.cfg, client, address, listener.getsockname())
            # As gthread's finish_request() parks a connection that has sent nothing yet.
            client.setblocking(False)
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn) -> None:
        if self.cfg.threads > 1:
            super().enqueue_req(conn)
            return
        handled = Future()
        handled.set_result(self.handle(conn))  # gthread's: parse, answer, and whether to keep the connection
        self.finish_request(conn, handled)


# gthread keeps idle upstream connections open, so the gateway's keepalive pool pays off; with one thread, the
# loop answers the requests itself (above).
worker_class = InlineThreadWorker
# Longer than the gateway's upstream keepalive_timeout (1 s, upstreams.conf), so the gateway closes first
# and never sends a request on a connection gunicorn is closing.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 75)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
# The request-id middleware writes one JSON access line per request; gunicorn's own would duplicate it.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL") or "info"
# Only the gateway may say the original request was HTTPS (X-Forwarded-Proto).
# gunicorn trusts a Unix-socket peer's headers itself; the word "unix" in TRUSTED_PROXY_IPS is for the services.
forwarded_allow_ips = ",".join(
    item.strip()
    for item in (os.environ.get("TRUSTED_PROXY_IPS") or "127.0.0.1,::1").split(",")
    if item.strip() and item.strip().lower() != "unix"
)
proc_name = "auth-service"
# gunicorn's control socket defaults to one path per user, which the todo service's gunicorn would share;
# nothing here uses it.
control_socket_disable = True
# The worker heartbeat touches a file on every request: keep it in memory where the machine has /dev/shm.
# (gunicorn creates that file with mkstemp and unlinks it at once, so a shared folder is safe.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# The gateway's limits on the request line and headers (large_client_header_buffers: 4 x 8 KiB) answer first and in
# JSON; gunicorn's own, lower by default, would answer a URI or a header count between the two in HTML.
limit_request_line = 8190
limit_request_fields = 32768
limit_request_field_size = 8190


# ---------------------------------------------------------------------------- metrics (twins in both services)
# Prometheus metrics on METRICS_BIND (host:port; empty: none), summed over every worker: each worker writes its
# figures to files in PROMETHEUS_MULTIPROC_DIR and the master serves their sum, so a scrape never sees one
# worker's share only (docs/observability.md). prometheus_client picks its mode when first imported, so the
# folder is set here, and the hooks import it only when they run: a master that imported it before would
# pass its single-process mode on to the workers it forks.
METRICS_BIND = os.environ.get("METRICS_BIND", "")
MADE_METRICS_DIR = bool(METRICS_BIND) and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MADE_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gunicorn-metrics-")


def on_starting(server) -> None:
    """Empty the metrics folder: files a previous master left would add its dead workers' counts to ours."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if METRICS_BIND and folder and os.path.isdir(folder):
        for name in os.listdir(folder):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def when_ready(server) -> None:
    """Serve the workers' summed metrics from the master, on an address the gateway does not route to."""
    if not METRICS_BIND:
        return
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    host, _, port = METRICS_BIND.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry)
    server.log.info("metrics on http://%s/metrics", METRICS_BIND)


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges; its counters stay in the sum."""
    if METRICS_BIND:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    if MADE_METRICS_DIR:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# ---------------------------------------------------------------------------- hooks (twins in both services)
# gunicorn drains at most 64 KiB of a body the application did not read before it reuses the connection,
# yet it has already answered "Connection: keep-alive"; when the drain gives up it closes the socket, and the
# gateway, which took the promise, sends another user's request down a dead connection (a 502 it rightly
# does not retry for a POST). A body that large may be refused unread (a 413, a 401), so its answer says
# "Connection: close" instead, and the gateway opens a new connection for the next request.
KEEPALIVE_DRAIN_LIMIT = getattr(gunicorn.http.parser, "_DRAIN_MAX_BYTES", 64 * 1024)
# Before closing such a connection, read what is left of the body for a moment (a "lingering close", as nginx
# does): a socket closed with unread bytes sends a reset, which can destroy the answer on its way back.
LINGER_SECONDS = 1.0
LINGER_MAX_BYTES = 2 * 1024 * 1024
PR_SET_PDEATHSIG = 1


def pre_request(worker, req) -> None:
    """Announce Connection: close for a request whose body gunicorn may not be able to drain afterwards."""
    headers = dict(req.headers)
    length = headers.get("CONTENT-LENGTH", "0")
    if "TRANSFER-ENCODING" in headers or not length.isdigit() or int(length) >= KEEPALIVE_DRAIN_LIMIT:
        req.must_close = True


def post_request(worker, req, environ, resp) -> None:
    """Read the rest of an unread body before gunicorn closes the connection, for at most a second."""
    sock = getattr(req.unreader, "sock", None)
    if not req.must_close or req.body is None or sock is None:
        return
    deadline = time.monotonic() + LINGER_SECONDS
    drained = 0
    with contextlib.suppress(OSError):
        while drained < LINGER_MAX_BYTES and (remaining := deadline - time.monotonic()) > 0:
            sock.settimeout(remaining)
            chunk = req.body.read(64 * 1024)
            if not chunk:
                break
            drained += len(chunk)


# At most this many queued connections are taken in at a stop; gunicorn's backlog default is 2048, the kernel caps it
# at somaxconn (4096), and the gateway keeps far fewer open to one instance.
BACKLOG_DRAIN_MAX = 4096


def post_worker_init(worker) -> None:
    """On a graceful stop (SIGTERM), stop listening as soon as the worker's loop sees it, having taken in what
    already waits in the backlog, then finish the requests in hand as gunicorn does."""
    # gunicorn's workers keep their copies of the listening socket open until they have finished: connections
    # the gateway opens meanwhile wait in the backlog, unanswered, and are reset at the end, after the gateway
    # has sent a request it must not resend if it is a POST. Each worker closes its copy as soon as its loop sees
    # the stop instead; the master closes its own (and removes a Unix socket's file) before it signals them, so
    # the port then refuses and the gateway goes to another instance. What already waits in the backlog when the
    # worker closes its copy would be reset too, so the worker takes it in first and answers it ("Connection:
    # close"): the likely cause of two POSTs a rolling restart under load once lost. A reload (SIGHUP) stops the old
    # workers, but the master keeps its copy: still listening.
    if not hasattr(worker, "set_accept_enabled"):
        return  # only gthread workers (worker_class above) register their listeners with a poller
    accept = worker.accept
    set_accept_enabled = worker.set_accept_enabled

    def accept_while_running(listener) -> None:
        # A readiness event the poller reported just before the stop must not accept on a closed socket.
        if worker.alive:
            accept(listener)

    def stop_accepting(enabled: bool) -> None:
        # Called by the worker's own loop (not a signal handler, so the thread pool's locks are free) once it sees
        # the stop: accept what is already queued, then close the listener.
        if enabled or worker.alive:
            set_accept_enabled(enabled)
            return
        for listener in worker.sockets:
            with contextlib.suppress(OSError):
                for _ in range(BACKLOG_DRAIN_MAX):
                    taken = worker.nr_conns
                    accept(listener)  # gunicorn's: a connection to the thread pool, or nothing when none waits
                    if worker.nr_conns == taken:
                        break
        set_accept_enabled(False)
        for listener in worker.sockets:
            with contextlib.suppress(OSError):
                listener.sock.close()

    # gunicorn's own SIGTERM handler wakes the loop, which ends and calls set_accept_enabled(False).
    worker.accept = accept_while_running
    worker.set_accept_enabled = stop_accepting


# gunicorn writes an answer's status line and headers, then its body, in two calls. A worker killed between the two
# leaves the gateway holding headers it has already passed to the client, so it cannot try another instance and
# the client sees a cut-off answer. Django's answers come as one body chunk: the first chunk goes out in the same
# call as the headers, so a killed worker has sent all of a small answer or none of it, and the gateway retries
# an idempotent request that got nothing. Only plain HTTP/1 answers (not gunicorn's HTTP/2 subclass); the
# headers go out on their own, as before, when no body chunk follows (a 304, a HEAD, an empty body).
HeldResponse = gunicorn.http.wsgi.Response


def _write_with_headers(self, data: bytes) -> None:
    held = self.__dict__.pop("held_headers", None)
    if held is None:
        _emit_body(self, data)
    elif self.chunked:
        self.sock.sendall(b"".join((held, b"%X\r\n" % len(data), data, b"\r\n")))
    else:
        self.sock.sendall(held + data)


def _hold_headers(self) -> None:
    if self.headers_sent:
        return
    if not self.__dict__.get("holding_headers"):
        _send_headers(self)
        return
    lines = self.default_headers()
    lines.extend(f"{name}: {value}\r\n" for name, value in self.headers)
    self.held_headers = f"{''.join(lines)}\r\n".encode("latin-1")
    self.headers_sent = True


def _write_first_chunk_with_headers(self, data) -> None:
    if self.headers_sent or type(self) is not HeldResponse:
        _write(self, data)
        return
    self.holding_headers = True
    try:
        _write(self, data)  # gunicorn's: send_headers() (held), then _emit_body() (headers and chunk together)
    finally:
        self.holding_headers = False
        held = self.__dict__.pop("held_headers", None)
        if held is not None:  # no body bytes went out (none given, or none allowed): the headers on their own
            self.sock.sendall(held)


if not getattr(HeldResponse, "sends_headers_with_first_chunk", False):  # the config file runs again on a reload
    _send_headers, _write, _emit_body = HeldResponse.send_headers, HeldResponse.write, HeldResponse._emit_body
    HeldResponse.send_headers = _hold_headers
    HeldResponse.write = _write_first_chunk_with_headers
    HeldResponse._emit_body = _write_with_headers
    HeldResponse.sends_headers_with_first_chunk = True


# gunicorn answers a request it cannot parse (a control character in a header value, a bad chunk size) itself, in
# HTML; every answer of the API is JSON, so these are too, as {"detail": ...}. The gateway's limits, tighter than
# gunicorn's, refuse most such requests before they get here, but nginx passes some bytes gunicorn refuses.
def _write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    body = json.dumps({"detail": f"{reason}: {mesg}" if mesg else f"{reason}."}).encode()
    head = f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    gunicorn.util.write_nonblock(sock, f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)


gunicorn.util.write_error = _write_json_error


def post_fork(server, worker) -> None:
    """Make a worker die with its master, so a killed master frees the port at once; start its tracing."""
    # Orphaned workers would keep the listening socket open while they wind down for graceful_timeout: new
    # connections would queue in its backlog unanswered and the gateway would wait instead of retrying.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server.pid:
            os._exit(1)
    # Traces (only with OTEL_EXPORTER_OTLP_ENDPOINT): one tracer provider per worker, started after the fork,
    # since its batch processor's thread would not survive one. The settings module defaults as in config/wsgi.py.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    from config.tracing import tracing_start

    tracing_start(service_name="auth")
