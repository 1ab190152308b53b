"""The gateway checks bearer access tokens (nginx/njs/token_check.js) before a request reaches a service."""

import contextlib
import hashlib
import os
import re
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from e2e_stack import ALLOWED_ORIGIN, Client, Stack, User, free_ports, register_and_login, wait_for
from forged_tokens import (
    access_claims,
    decode_part,
    hs256,
    rs256,
    stack_signing_key,
    stranger_key,
    unsigned,
)

REFUSED_BODY = {"detail": "Given token not valid for any token type", "code": "token_not_valid"}
TODOS_CHALLENGE = 'Bearer realm="todos", error="invalid_token"'
# The auth service's own challenge (SimpleJWT's JWTAuthentication).
AUTH_CHALLENGE = 'Bearer realm="api"'


def _stack_key_token(stack: Stack, user: User, **changes) -> str:
    kid, key = stack_signing_key(stack.var_dir)
    return rs256({"kid": kid}, access_claims(user.access, **changes), key)


def _forgeries(stack: Stack, user: User) -> dict[str, Callable[[], str]]:
    """Every way a token can be wrong, each otherwise as good as the user's own."""
    kid = decode_part(user.access, 0)["kid"]
    claims = access_claims(user.access)
    return {
        "expired": lambda: _stack_key_token(stack, user, exp=int(time.time()) - 60),
        "expiry past the year 9999": lambda: _stack_key_token(stack, user, exp=10**30),
        "wrong signature": lambda: rs256({"kid": kid}, claims, stranger_key()),
        "alg none": lambda: unsigned({"kid": kid}, claims),
        "alg none with a signature": lambda: unsigned({"kid": kid}, claims) + "c2lnbmF0dXJl",
        "HS256 with the public key as secret": lambda: hs256(
            {"kid": kid},
            claims,
            stack_signing_key(stack.var_dir)[1]
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        ),
        "wrong issuer": lambda: _stack_key_token(stack, user, iss="someone-else"),
        "wrong audience": lambda: _stack_key_token(stack, user, aud="another-api"),
        "refresh token as access token": lambda: user.refresh,
        "access type claim missing": lambda: _stack_key_token(stack, user, token_type="refresh"),
        "unknown kid": lambda: rs256({"kid": uuid.uuid4().hex}, claims, stranger_key()),
        "no kid": lambda: rs256({}, claims, stack_signing_key(stack.var_dir)[1]),
        "malformed": lambda: "not-a-token",
        "three garbage segments": lambda: "e30.bm90IGpzb24.c2ln",
        # Signed with the stack's own key: what only a bug or a leaked key makes, refused at the gateway as the
        # services refuse it, so that it never spends its subject's rate-limit budget.
        "a crit header": lambda: rs256(
            {"kid": kid, "crit": ["urn:example:x"], "urn:example:x": 1}, claims, stack_signing_key(stack.var_dir)[1]
        ),
        "issued in the future": lambda: _stack_key_token(stack, user, iat=int(time.time()) + 3600),
        "a negative not-before": lambda: _stack_key_token(stack, user, nbf=-5),
        "an audience list holding a number": lambda: _stack_key_token(stack, user, aud=[claims["aud"], 5]),
        "padded with '='": lambda: user.access + "==",
    }


FORGERIES = [
    "expired",
    "expiry past the year 9999",
    "wrong signature",
    "alg none",
    "alg none with a signature",
    "HS256 with the public key as secret",
    "wrong issuer",
    "wrong audience",
    "refresh token as access token",
    "access type claim missing",
    "unknown kid",
    "no kid",
    "malformed",
    "three garbage segments",
    "a crit header",
    "issued in the future",
    "a negative not-before",
    "an audience list holding a number",
    "padded with '='",
]


def _assert_refused_by_the_gateway(stack: Stack, response, request_id: str, service: str, challenge: str) -> None:
    assert response.status_code == HTTPStatus.UNAUTHORIZED, response.text
    assert response.json() == REFUSED_BODY
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["WWW-Authenticate"] == challenge
    assert response.raw.headers.getlist("Access-Control-Allow-Origin") == [ALLOWED_ORIGIN]
    gateway_lines = stack.wait_for_log("nginx-access", request_id)
    assert gateway_lines, "the gateway logged the request"
    assert gateway_lines[0]["upstream_addr"] == "", gateway_lines
    assert gateway_lines[0]["token_refusal"], gateway_lines
    # The JWKS the check may fetch carries the request's id; nothing else of it reaches the service.
    reached = [line for line in stack.log_lines(service) if line.get("request_id") == request_id]
    assert [line for line in reached if "jwks" not in line.get("path", "")] == []


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_bad_token_gets_the_services_401_from_the_gateway_and_never_reaches_the_todo_service(
    stack, client, user, forgery
):
    token = _forgeries(stack, user)[forgery]()
    request_id = f"forged-{uuid.uuid4().hex}"
    response = client.get(
        "/todos/",
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id, "Origin": ALLOWED_ORIGIN},
    )

    _assert_refused_by_the_gateway(stack, response, request_id, "todo", TODOS_CHALLENGE)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/auth/me/"),
        ("DELETE", "/auth/me"),
        ("GET", "/auth/sessions/"),
        ("POST", "/auth/logout/"),
        ("POST", "/auth/password/"),
        ("DELETE", f"/auth/sessions/{uuid.uuid4()}/"),
    ],
)
def test_a_bad_token_on_an_authenticated_auth_endpoint_is_refused_by_the_gateway(stack, client, user, method, path):
    token = _forgeries(stack, user)["expired"]()
    request_id = f"forged-{uuid.uuid4().hex}"
    response = client.request(
        method,
        path,
        json={},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id, "Origin": ALLOWED_ORIGIN},
    )

    _assert_refused_by_the_gateway(stack, response, request_id, "auth", AUTH_CHALLENGE)


@pytest.mark.parametrize("path", ["/todos", f"/todos/{uuid.uuid4()}/", f"/todos/{uuid.uuid4()}"])
def test_every_todo_route_is_checked_with_or_without_its_trailing_slash(stack, client, user, path):
    response = client.get(path, headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == TODOS_CHALLENGE


def test_a_non_bearer_authorization_header_is_refused_by_the_gateway(client):
    response = client.get("/todos/", headers={"Authorization": "Basic dXNlcjpwYXNz"})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == REFUSED_BODY


def test_a_non_bearer_authorization_header_is_refused_without_asking_the_verifier_and_logged_as_malformed(
    stack, client
):
    request_id = f"basic-{uuid.uuid4().hex}"
    response = client.get("/todos/", headers={"Authorization": "Basic dXNlcjpwYXNz", "X-Request-ID": request_id})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == TODOS_CHALLENGE
    assert [line["token_refusal"] for line in stack.wait_for_log("nginx-access", request_id)] == ["malformed"]


def test_a_refused_token_is_logged_with_the_verifiers_reason(stack, client, user):
    request_id = f"expired-{uuid.uuid4().hex}"
    token = _forgeries(stack, user)["expired"]()
    response = client.get("/todos/", headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert [line["token_refusal"] for line in stack.wait_for_log("nginx-access", request_id)] == ["expired"]


def _gateway_workers(master: int) -> set[int]:
    """nginx's worker processes (not its cache manager and loader)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    workers = set()
    for pid in children:
        with contextlib.suppress(OSError):
            if b"worker process" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.add(int(pid))
    return workers


def _reload_gateway(stack: Stack) -> None:
    """SIGHUP nginx and wait until only workers with the new configuration are left: an old one still serving a
    kept-alive connection would answer with the old configuration."""
    master = stack.pid("nginx")
    before = _gateway_workers(master)
    for _ in range(3):
        os.kill(master, signal.SIGHUP)
        if wait_for(lambda: not _gateway_workers(master) & before, timeout=5, interval=0.1):
            return
    pytest.fail("nginx did not reload")


@contextlib.contextmanager
def _verifier_unreachable(stack: Stack) -> Iterator[None]:
    """Point the gateway's verifier upstream at a closed port (the rendered token_check.conf), reload nginx, and put
    it back afterwards, reloading again."""
    conf = stack.var_dir / "nginx" / "conf.d" / "token_check.conf"
    original = conf.read_text()
    closed_port = free_ports(1)[0]
    # Its own socket by default (GATEWAY_VERIFIER_ADDRESS), a loopback port with GATEWAY_UPSTREAM=tcp.
    changed = re.sub(
        r"(upstream gateway_token_check \{\s*server )[^;\s]+;", rf"\g<1>127.0.0.1:{closed_port};", original, count=1
    )
    assert changed != original, "the verifier's upstream is in token_check.conf"
    conf.write_text(changed)
    _reload_gateway(stack)
    try:
        yield
    finally:
        conf.write_text(original)
        _reload_gateway(stack)


def test_a_new_token_gets_a_json_503_while_the_verifier_cannot_be_asked_and_a_verified_one_still_passes(
    stack, client, user
):
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK, "the verdict is cached"
    newcomer = register_and_login(client)

    with _verifier_unreachable(stack):
        answers: list = []

        def refused_as_unavailable() -> bool:
            answers[:] = [client.get("/todos/", headers=newcomer.auth)]
            return answers[0].status_code == HTTPStatus.SERVICE_UNAVAILABLE

        assert wait_for(refused_as_unavailable, timeout=10, interval=0.3), answers[0].text
        assert answers[0].headers["Content-Type"] == "application/json"
        assert "detail" in answers[0].json()
        assert answers[0].headers["Retry-After"] == "1", "the gateway says when to retry, as for its 429s"
        assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK
        assert client.get("/todos/", headers={"Authorization": "Bearer not-a-token"}).status_code == (
            HTTPStatus.SERVICE_UNAVAILABLE
        )
        assert client.get("/todos/").status_code == HTTPStatus.UNAUTHORIZED, "no token: the service answers"

    assert wait_for(
        lambda: client.get("/todos/", headers=newcomer.auth).status_code == HTTPStatus.OK, timeout=10, interval=0.3
    )


def test_the_token_check_leaves_no_warning_in_the_gateways_error_log(stack, client, user):
    client.get("/todos/", headers=user.auth)
    client.get("/todos/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    client.get("/todos/", headers={"Authorization": "Bearer not-a-token"})
    client.get("/todos/")
    time.sleep(0.5)

    error_log = (stack.var_dir / "log" / "nginx-error.log").read_text(errors="replace")
    assert "uninitialized" not in error_log
    assert "auth request unexpected status" not in error_log


def test_a_request_without_a_token_is_answered_by_the_service_itself(stack, client):
    request_id = f"anonymous-{uuid.uuid4().hex}"
    response = client.get("/todos/", headers={"X-Request-ID": request_id})

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="todos"'
    assert stack.wait_for_log("todo", request_id), "the todo service answered"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/auth/.well-known/jwks.json", HTTPStatus.OK),
        ("GET", "/auth/health/", HTTPStatus.OK),
        ("GET", "/todos/health/", HTTPStatus.OK),
        ("GET", "/auth/schema/", HTTPStatus.OK),
        ("POST", "/auth/login/", HTTPStatus.BAD_REQUEST),
        ("POST", "/auth/register/", HTTPStatus.BAD_REQUEST),
        ("POST", "/auth/refresh/", HTTPStatus.BAD_REQUEST),
    ],
)
def test_public_endpoints_ignore_the_authorization_header(client, method, path, expected):
    response = client.request(method, path, json={}, headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == expected, response.text


def test_a_valid_token_passes_the_gateway_and_the_service_still_verifies_it(stack, client, user):
    request_id = f"honest-{uuid.uuid4().hex}"
    created = client.post("/todos/", json={"title": "checked twice"}, headers={**user.auth, "X-Request-ID": request_id})

    assert created.status_code == HTTPStatus.CREATED, created.text
    assert stack.wait_for_log("todo", request_id), "the todo service served it"
    assert client.get("/auth/me/", headers=user.auth).json()["username"] == user.username


def test_the_gateways_verified_token_cache_never_writes_a_token_to_disk(stack, client, user):
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK
    assert client.get("/todos/", headers=user.auth).status_code == HTTPStatus.OK

    cache_files = [path for path in (stack.var_dir / "nginx" / "temp" / "tokens").rglob("*") if path.is_file()]
    assert cache_files, "the verdict was cached"
    assert not [path for path in cache_files if user.access.encode() in path.read_bytes()]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_a_writes_verdict_is_cached_like_a_reads(stack, client, method):
    writer = register_and_login(client)
    digest = hashlib.sha256(f"Bearer {writer.access}".encode()).hexdigest()
    response = client.request(method, "/todos/", json={"title": "cached verdict"}, headers=writer.auth)

    assert response.status_code < HTTPStatus.BAD_REQUEST, response.text
    cache_files = [path for path in (stack.var_dir / "nginx" / "temp" / "tokens").rglob("*") if path.is_file()]
    assert [path for path in cache_files if f"KEY: {digest}".encode() in path.read_bytes()], "the verdict was cached"


def test_a_flood_of_unknown_kids_costs_the_auth_service_at_most_a_jwks_fetch_per_refetch_floor(stack, client, user):
    claims = access_claims(user.access)
    request_ids = [f"unknown-kid-{uuid.uuid4().hex}" for _ in range(30)]
    key = stranger_key()
    for request_id in request_ids:
        token = rs256({"kid": uuid.uuid4().hex}, claims, key)
        response = client.get("/todos/", headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id})
        assert response.status_code == HTTPStatus.UNAUTHORIZED

    assert stack.wait_for_log("nginx-access", request_ids[-1])
    fetches = [line for line in stack.log_lines("auth") if line.get("request_id") in request_ids]
    # One refetch per 10 s floor, and at most one of the one-minute copy besides; the requests took far less than 10 s.
    assert len(fetches) <= 2, fetches


def test_a_key_rotation_is_picked_up_by_the_gateway(stack, client, user):
    before = user.access
    rotated = stack.run("manage", "--service", "auth", "--", "signing_keys", "rotate")
    assert rotated.returncode == 0
    fresh: list[str] = []

    def signed_with_the_new_key() -> bool:
        fresh[:] = [register_and_login(client).access]
        return decode_part(fresh[0], 0)["kid"] != decode_part(before, 0)["kid"]

    assert wait_for(signed_with_the_new_key, timeout=15, interval=0.5), "the auth service signs with the new key"
    # A kid the gateway has not seen is fetched again at most once per 10 s floor.
    assert wait_for(
        lambda: client.get("/todos/", headers={"Authorization": f"Bearer {fresh[0]}"}).status_code == HTTPStatus.OK,
        timeout=15,
        interval=1,
    ), "a token signed with the new key passes the gateway"
    assert client.get("/todos/", headers={"Authorization": f"Bearer {before}"}).status_code == HTTPStatus.OK


def test_a_forged_token_with_another_users_sub_never_spends_that_users_budget(per_user_limited_stack):
    stack = per_user_limited_stack
    victim_client = Client(stack.url, "127.0.9.1")
    forger_client = Client(stack.url, "127.0.9.2")
    victim = register_and_login(victim_client)
    forged = rs256({"kid": decode_part(victim.access, 0)["kid"]}, access_claims(victim.access), stranger_key())

    forged_statuses = [
        forger_client.get("/todos/", headers={"Authorization": f"Bearer {forged}"}).status_code for _ in range(20)
    ]
    victim_statuses = [victim_client.get("/todos/", headers=victim.auth).status_code for _ in range(5)]

    assert set(forged_statuses) == {HTTPStatus.UNAUTHORIZED}
    assert victim_statuses == [HTTPStatus.OK] * 5, "the victim's burst of 5 is whole"


def test_many_users_behind_one_address_each_get_their_own_budget(per_user_limited_stack):
    stack = per_user_limited_stack
    client = Client(stack.url, "127.0.9.3")
    users = [register_and_login(client) for _ in range(4)]

    statuses = {
        user.username: [client.get("/todos/", headers=user.auth).status_code for _ in range(9)] for user in users
    }

    for user_statuses in statuses.values():
        # Each user's burst of 5 (and a refill or two) passes, then the user alone is refused.
        assert user_statuses[:5] == [HTTPStatus.OK] * 5, statuses
        assert HTTPStatus.TOO_MANY_REQUESTS in user_statuses, statuses
    limited = client.get("/todos/", headers=users[0].auth)
    assert limited.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert limited.json()["detail"].startswith("Too many requests")
    assert int(limited.headers["Retry-After"]) >= 1
    # The address itself is far from its limit: a new user from it is served.
    assert client.get("/todos/", headers=register_and_login(client).auth).status_code == HTTPStatus.OK
