"""CORS lives in the gateway: preflights answered there, one Allow-Origin for allowed origins, none for others."""

import uuid
from http import HTTPStatus

from e2e_stack import ALLOWED_ORIGIN, FOREIGN_ORIGIN

EXPOSED = {"ETag", "X-Request-ID", "Retry-After", "Location", "Idempotent-Replayed"}


def header_values(response, name: str) -> list[str]:
    """Every occurrence of a header, not requests' comma-joined view of them."""
    return response.raw.headers.getlist(name)


def cors_headers(response) -> list[str]:
    return [name for name in response.raw.headers if name.lower().startswith("access-control-")]


def test_a_preflight_from_an_allowed_origin_is_answered_by_the_gateway_without_authentication(client, stack):
    request_id = f"e2e-preflight-{uuid.uuid4().hex}"
    response = client.options(
        "/todos/",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match",
            "X-Request-ID": request_id,
        },
    )

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert header_values(response, "Access-Control-Allow-Origin") == [ALLOWED_ORIGIN]
    methods = {method.strip() for method in response.headers["Access-Control-Allow-Methods"].split(",")}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
    allowed = {header.strip().lower() for header in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert allowed == {"authorization", "content-type", "idempotency-key", "if-match", "if-none-match", "x-request-id"}
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert stack.wait_for_log("nginx-access", request_id)[0]["status"] == HTTPStatus.NO_CONTENT
    assert stack.wait_for_log("todo", request_id, timeout=0) == [], "the todo service never saw the preflight"


def test_a_preflight_from_a_foreign_origin_gets_no_cors_headers(client):
    response = client.options("/todos/", headers={"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "DELETE"})

    assert cors_headers(response) == []


def test_an_allowed_origin_gets_exactly_one_allow_origin_on_successes_and_errors(client, user):
    origin = {"Origin": ALLOWED_ORIGIN}
    responses = {
        "service 200": client.get("/todos/", headers=user.auth | origin),
        "service 201": client.post("/todos/", json={"title": "From the browser"}, headers=user.auth | origin),
        "service 401": client.get("/todos/", headers=origin),
        "gateway 404": client.get("/nowhere", headers=origin),
        "gateway 413": client.post("/todos/", data=b"x" * (1024 * 1024 + 1), headers=user.auth | origin),
    }

    for name, response in responses.items():
        assert header_values(response, "Access-Control-Allow-Origin") == [ALLOWED_ORIGIN], name
        exposed = {header.strip() for header in response.headers["Access-Control-Expose-Headers"].split(",")}
        assert exposed == EXPOSED, name
        assert "Origin" in response.headers["Vary"], name
    assert responses["service 201"].status_code == HTTPStatus.CREATED
    assert responses["gateway 413"].status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE


def test_a_foreign_origin_gets_no_cors_headers_at_all(client, user):
    origin = {"Origin": FOREIGN_ORIGIN}
    for response in (client.get("/todos/", headers=user.auth | origin), client.get("/todos/", headers=origin)):
        assert cors_headers(response) == []


def test_an_origin_that_only_contains_an_allowed_one_is_foreign(client):
    for origin in (f"{ALLOWED_ORIGIN}.evil.example", f"{ALLOWED_ORIGIN} {FOREIGN_ORIGIN}", "http://localhost:30000"):
        assert cors_headers(client.get("/healthz", headers={"Origin": origin})) == [], origin
