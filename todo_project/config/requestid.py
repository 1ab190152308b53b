"""Request ids and JSON logs: one id per request, on every log line, echoed on the response, one access line each."""

import contextvars
import ipaddress
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from config.tracing import current_ids, incoming_traceparent

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_logger = logging.getLogger("todos.access")

# Attributes every LogRecord has; anything else was passed through `extra=` and belongs in the JSON line.
_STANDARD_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def from_trusted_proxy(remote_addr: str) -> bool:
    """Whether the peer is one of TRUSTED_PROXY_IPS (addresses or networks)."""
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in settings.TRUSTED_PROXY_IPS)


def client_ip(request: HttpRequest) -> str:
    """The caller's address: the gateway's X-Real-IP when the request came from a trusted proxy, else the peer."""
    remote_addr = request.META.get("REMOTE_ADDR", "")
    if from_trusted_proxy(remote_addr):
        return request.META.get("HTTP_X_REAL_IP") or remote_addr
    return remote_addr


class RequestIdMiddleware:
    """Take the caller's X-Request-ID when well-formed (else make one), and write the access line."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get(REQUEST_ID_HEADER, "")
        request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        traceparent = incoming_traceparent.set(request.META.get("HTTP_TRACEPARENT", "")[:55])
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            access_logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "client_ip": client_ip(request),
                },
            )
            return response
        finally:
            incoming_traceparent.reset(traceparent)
            request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Put the current request's id on every log record (`-` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        # Beside the request id, the trace's: a log line leads to its trace, and a trace to its log lines.
        record.trace_id, record.span_id = current_ids()
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({key: value for key, value in vars(record).items() if key not in _STANDARD_RECORD_ATTRS})
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
