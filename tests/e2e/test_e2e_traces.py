"""Traces: the gateway starts or continues a W3C trace, the services' spans reach an OTLP receiver, and an account
deletion is one trace from the request through the outbox and RabbitMQ to the todo purge."""

import secrets
from http import HTTPStatus

import pytest
from e2e_stack import PASSWORD, Client, Stack, next_client_address, register_and_login, wait_for

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # the protobuf's SpanKind values


@pytest.fixture(scope="module")
def client(observed_stack: Stack) -> Client:
    return Client(observed_stack.url, next_client_address())


def new_traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def test_a_clients_traceparent_is_honoured_by_the_service_behind_the_gateway(observed_stack, client, otlp_receiver):
    user = register_and_login(client)
    trace_id, traceparent = new_traceparent()

    response = client.get("/todos/", headers={**user.auth, "traceparent": traceparent})

    assert response.status_code == HTTPStatus.OK
    assert wait_for(lambda: any(span.kind == SERVER for span in otlp_receiver.of_trace(trace_id)), timeout=15)
    spans = otlp_receiver.of_trace(trace_id)
    assert {span.service for span in spans} == {"todo"}
    server = next(span for span in spans if span.kind == SERVER)
    assert server.parent_span_id == traceparent.split("-")[2]
    assert any(span.parent_span_id == server.span_id and span.name == "SELECT" for span in spans), spans


def test_without_a_traceparent_the_trace_starts_at_the_gateway_with_the_request_id_as_trace_id(
    observed_stack, client, otlp_receiver
):
    user = register_and_login(client)

    response = client.get("/todos/", headers=user.auth)

    request_id = response.headers["X-Request-ID"]
    assert wait_for(lambda: otlp_receiver.of_trace(request_id), timeout=15), f"no span of trace {request_id}"
    assert {span.service for span in otlp_receiver.of_trace(request_id)} == {"todo"}


def test_every_log_line_of_a_request_carries_its_trace_id_and_span_id(observed_stack, client, otlp_receiver):
    user = register_and_login(client)
    trace_id, traceparent = new_traceparent()

    response = client.get("/todos/", headers={**user.auth, "traceparent": traceparent})

    request_id = response.headers["X-Request-ID"]
    service_lines = observed_stack.wait_for_log("todo", request_id)
    gateway_lines = observed_stack.wait_for_log("nginx-access", request_id)
    assert service_lines
    assert gateway_lines
    assert {line["trace_id"] for line in service_lines + gateway_lines} == {trace_id}
    assert wait_for(lambda: any(span.kind == SERVER for span in otlp_receiver.of_trace(trace_id)), timeout=15)
    server = next(span for span in otlp_receiver.of_trace(trace_id) if span.kind == SERVER)
    assert {line["span_id"] for line in service_lines} == {server.span_id}


def test_an_account_deletion_is_one_trace_from_the_request_to_the_todo_purge(observed_stack, client, otlp_receiver):
    user = register_and_login(client)
    assert client.post("/todos/", json={"title": "to be purged"}, headers=user.auth).status_code == HTTPStatus.CREATED
    trace_id, traceparent = new_traceparent()

    deleted = client.delete("/auth/me/", json={"password": PASSWORD}, headers={**user.auth, "traceparent": traceparent})

    assert deleted.status_code == HTTPStatus.NO_CONTENT, deleted.text

    def whole_trace() -> bool:
        kinds = {(span.service, span.kind) for span in otlp_receiver.of_trace(trace_id)}
        return {("auth", SERVER), ("auth-outbox-relay", PRODUCER), ("todo-event-consumer", CONSUMER)} <= kinds

    assert wait_for(whole_trace, timeout=40), otlp_receiver.of_trace(trace_id)
    spans = otlp_receiver.of_trace(trace_id)
    by_id = {span.span_id: span for span in spans}
    publish = next(span for span in spans if span.kind == PRODUCER)
    process = next(span for span in spans if span.kind == CONSUMER)
    assert publish.name == "publish user.deleted.v1"
    assert process.parent_span_id == publish.span_id
    # The purge's queries are children of the consumer's span: the todos went in the same trace.
    purge = [span for span in spans if span.parent_span_id == process.span_id and span.name == "DELETE"]
    assert purge, [(span.name, by_id.get(span.parent_span_id, span).name) for span in spans]
