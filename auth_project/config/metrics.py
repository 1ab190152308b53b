"""Prometheus metrics of the service's requests and database, served on METRICS_BIND, never through the gateway."""

import functools
import os
import re
import time
from collections.abc import Callable
from typing import Any

from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

# Labels take few values each, so the series stay bounded: a route template (never the raw path, whose ids would
# make a series per todo), a known method or "other", and a status code.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "unmatched"
# Seconds; from a fast list read to a login's password hash and beyond (docs/benchmarks.md has the timings).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)

http_requests = Counter(
    "http_requests_total",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=REQUEST_BUCKETS,
)
db_query_duration = Histogram(
    "db_query_duration_seconds",
    "Time of each database query, by whether it failed.",
    ["outcome"],
    buckets=QUERY_BUCKETS,
)


def route_template(route: str) -> str:
    """A URL pattern as a readable template: `^todos/(?P<todo_id>[0-9a-f-]+)/?$` and `todos/<uuid:todo_id>` both
    read `todos/<todo_id>/`, so a route written with and without its trailing slash is one series."""
    template, position = [], 0
    while position < len(route):
        if route.startswith("(?P<", position):
            name_end = route.index(">", position)
            template.append(f"<{route[position + 4 : name_end]}>")
            depth, position = 1, name_end + 1
            while depth and position < len(route):
                if route[position] == "\\":
                    position += 1
                elif route[position] in "()":
                    depth += 1 if route[position] == "(" else -1
                position += 1
        else:
            template.append(route[position])
            position += 1
    text = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", "".join(template)).replace("^", "").replace("$", "").replace("/?", "/")
    return text if not text or text.endswith("/") else f"{text}/"


def route_of(request: HttpRequest) -> str:
    """The template of the URL pattern that matched, or "unmatched" for a 404 no pattern took."""
    match = getattr(request, "resolver_match", None)
    template = route_template(match.route) if match is not None and match.route else ""
    return template or UNMATCHED_ROUTE


class MetricsMiddleware:
    """Count every request and time it, labelled by route template, method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        count, duration = _request_series(
            route_of(request), request.method if request.method in KNOWN_METHODS else "other", response.status_code
        )
        count.inc()
        duration.observe(time.perf_counter() - started)
        return response


@functools.lru_cache(maxsize=1024)
def _request_series(route: str, method: str, status: int) -> tuple[Any, Any]:
    """The request counter's and histogram's series for these labels; looked up once, not on every request (the
    labels are bounded, so few series exist)."""
    labels = {"route": route, "method": method, "status": str(status)}
    return http_requests.labels(**labels), http_request_duration.labels(**labels)


def _time_query(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
    started = time.perf_counter()
    outcome = "error"
    try:
        result = execute(sql, params, many, context)
        outcome = "ok"
        return result
    finally:
        _query_series(outcome).observe(time.perf_counter() - started)


@functools.lru_cache(maxsize=2)
def _query_series(outcome: str) -> Any:
    return db_query_duration.labels(outcome=outcome)


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Every connection of every process (web workers, the relay, the consumer) times its queries, once: Django keeps
    # the wrapper object of a thread's connection across reconnections (CONN_MAX_AGE, a restarted database), and a
    # timer added at each one nested a layer per reconnection until every query hit the recursion limit (a 500).
    if _time_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_time_query)


connection_created.connect(_on_connection_created, dispatch_uid="metrics-query-timer")


def metrics_registry() -> CollectorRegistry:
    """What a scrape reads: every worker's files in multiprocess mode (gunicorn), else this process's metrics."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_serve(*, bind: str, registry: CollectorRegistry | None = None) -> None:
    """Serve /metrics on bind (host:port) from a background thread; the gateway routes nothing there."""
    host, _, port = bind.rpartition(":")
    start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=registry or metrics_registry())
