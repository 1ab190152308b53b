"""Through the gateway: a reused refresh token ends its session, users end sessions, and Idempotency-Key retries."""

import threading
import uuid
from http import HTTPStatus

from e2e_stack import PASSWORD, Client, User


def test_a_stolen_refresh_token_used_again_ends_the_session_for_thief_and_user_alike(client: Client, user: User):
    rotated = client.post("/auth/refresh/", json={"refresh": user.refresh})
    assert rotated.status_code == HTTPStatus.OK, rotated.text

    replayed = client.post("/auth/refresh/", json={"refresh": user.refresh})

    assert replayed.status_code == HTTPStatus.UNAUTHORIZED
    assert replayed.headers["Content-Type"] == "application/json"
    newest = client.post("/auth/refresh/", json={"refresh": rotated.json()["refresh"]})
    assert newest.status_code == HTTPStatus.UNAUTHORIZED


def test_two_refreshes_racing_with_one_token_through_the_gateway_never_both_succeed(make_client, user: User):
    clients = [make_client() for _ in range(2)]
    start = threading.Barrier(2)
    statuses: list[int] = []

    def racer(client: Client) -> None:
        start.wait(timeout=10)
        statuses.append(client.post("/auth/refresh/", json={"refresh": user.refresh}).status_code)

    threads = [threading.Thread(target=racer, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) in ([HTTPStatus.OK, HTTPStatus.UNAUTHORIZED], [HTTPStatus.UNAUTHORIZED] * 2)


def test_a_user_lists_their_sessions_and_ends_another_one(client: Client, user: User):
    second = client.post("/auth/login/", json={"username": user.username, "password": PASSWORD}).json()

    listed = client.get("/auth/sessions/", headers=user.auth)
    assert listed.status_code == HTTPStatus.OK
    sessions = listed.json()
    assert len(sessions) == 2
    current = [session for session in sessions if session["current"]]
    other = [session for session in sessions if not session["current"]]
    assert len(current) == len(other) == 1
    assert current[0]["client_ip"] == client.address, "the client's address, as the gateway saw it"

    ended = client.delete(f"/auth/sessions/{other[0]['id']}/", headers=user.auth)

    assert ended.status_code == HTTPStatus.NO_CONTENT
    assert client.post("/auth/refresh/", json={"refresh": second["refresh"]}).status_code == HTTPStatus.UNAUTHORIZED
    assert client.delete(f"/auth/sessions/{uuid.uuid4()}/", headers=user.auth).status_code == HTTPStatus.NOT_FOUND


def test_a_retried_create_with_an_idempotency_key_creates_one_todo(client: Client, user: User):
    headers = user.auth | {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/todos/", json={"title": "Pay rent"}, headers=headers)
    retry = client.post("/todos/", json={"title": "Pay rent"}, headers=headers)
    mismatch = client.post("/todos/", json={"title": "Pay rent twice"}, headers=headers)

    assert first.status_code == retry.status_code == HTTPStatus.CREATED
    assert retry.content == first.content
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert mismatch.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert client.get("/todos/", headers=user.auth).json()["count"] == 1
