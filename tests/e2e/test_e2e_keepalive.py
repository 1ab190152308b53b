"""One client's request never breaks another's on the gateway's pooled connections to the services."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus

import pytest
from e2e_stack import register_and_login

WRITERS = 8
REFUSALS = 15
# Under the gateway's 1 MiB limit, above what gunicorn drains (64 KiB) and what the todo service accepts
# (256 KiB): the service refuses it without reading it.
LARGE_BODY = b'{"title": "' + b"x" * 300_000 + b'"}'


@pytest.mark.parametrize(
    "authorization",
    [pytest.param("Bearer not-a-token", id="401 on a bad token"), pytest.param(None, id="413 on a valid token")],
)
def test_a_large_body_the_service_refuses_unread_never_breaks_other_users_concurrent_writes(make_client, authorization):
    writers = []
    for _ in range(WRITERS):
        writer = make_client()
        writers.append((writer, register_and_login(writer)))
    sender = make_client()
    sender_user = register_and_login(sender)
    headers = {"Content-Type": "application/json", "Authorization": authorization or f"Bearer {sender_user.access}"}
    refusals_done = threading.Event()

    def write_until_the_refusals_are_done(pair) -> list[int]:
        client, user = pair
        statuses = []
        while not refusals_done.is_set():
            statuses.append(client.post("/todos/", json={"title": "mine"}, headers=user.auth).status_code)
        return statuses

    with ThreadPoolExecutor(WRITERS) as pool:
        writing = [pool.submit(write_until_the_refusals_are_done, pair) for pair in writers]
        try:
            refusals = [sender.post("/todos/", data=LARGE_BODY, headers=headers) for _ in range(REFUSALS)]
        finally:
            refusals_done.set()
        writes = [status for future in writing for status in future.result()]

    assert writes
    assert Counter(writes) == {HTTPStatus.CREATED: len(writes)}
    expected = HTTPStatus.UNAUTHORIZED if authorization else HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    for refused in refusals:
        assert refused.status_code == expected, refused.text
        assert refused.headers["Content-Type"].startswith("application/json")
