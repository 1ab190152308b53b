"""OpenTelemetry traces, exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT is set; W3C trace context."""

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from opentelemetry import context, propagate, trace

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
# The trace context a request or an event came with (its `traceparent`), for log lines and for what the process
# passes on when no tracer runs: logs and events then still carry the gateway's trace id.
incoming_traceparent: ContextVar[str] = ContextVar("incoming_traceparent", default="")
tracer = trace.get_tracer("todo-microservices")


def tracing_enabled() -> bool:
    """The standard OpenTelemetry variables decide: without an endpoint nothing is set up."""
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def tracing_start(*, service_name: str) -> None:
    """Export this process's spans (call after any fork: the batch processor's thread does not survive one)."""
    if not tracing_enabled():
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    connection_created.connect(_trace_queries, dispatch_uid="tracing-query-spans")
    for connection in connections.all(initialized_only=True):
        _trace_queries(sender=None, connection=connection)


def _trace_queries(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Once per connection object, which outlives its reconnections (config/metrics.py's timer says why).
    if _query_span not in connection.execute_wrappers:
        connection.execute_wrappers.append(_query_span)


def _query_span(execute: Callable[..., Any], sql: str, params: Any, many: bool, context_: dict[str, Any]) -> Any:
    connection = context_["connection"]
    # The statement's first word names the span; the statement itself, without its parameters, is an attribute.
    with tracer.start_as_current_span(
        sql.split(None, 1)[0].upper() if sql.strip() else "query",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system.name": connection.vendor, "db.query.text": sql[:2000]},
    ):
        return execute(sql, params, many, context_)


def current_ids() -> tuple[str, str]:
    """The trace id and span id of what is being served, for log lines: the active span's, else the caller's."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
    match = TRACEPARENT.fullmatch(incoming_traceparent.get())
    return (match.group(1), match.group(2)) if match else ("-", "-")


def traceparent_now() -> str:
    """The `traceparent` to pass on (an outbox row, an AMQP message): the active span's, else the caller's."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent") or incoming_traceparent.get()


@contextmanager
def traced(name: str, *, traceparent: str, kind: trace.SpanKind, **attributes: str) -> Iterator[None]:
    """Run a block as a span continuing the trace `traceparent` names (a relay's publish, a consumer's handling)."""
    valid = traceparent if TRACEPARENT.fullmatch(traceparent) else ""
    parent = propagate.extract({"traceparent": valid}) if valid else context.Context()
    token = incoming_traceparent.set(valid)
    try:
        with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes):
            yield
    finally:
        incoming_traceparent.reset(token)
