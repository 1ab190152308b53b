"""Idempotency-Key on the todo writes: replay, mismatch, scoping, validation failures, concurrency, expiry."""

import threading
from collections.abc import Callable
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from todos.models import IdempotencyRecord, Todo

pytestmark = pytest.mark.django_db

KEY = "3f1c2a9e-retry-me"


def create(client: APIClient, body: dict | None = None, key: str | None = KEY):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/todos/", body or {"title": "Buy milk"}, format="json", **headers)


def test_a_retry_with_the_same_key_replays_the_response_byte_for_byte_and_creates_nothing(alice):
    first = create(alice)
    retry = create(alice)

    assert first.status_code == retry.status_code == HTTPStatus.CREATED
    assert retry.content == first.content
    assert retry["Location"] == first["Location"]
    assert retry["ETag"] == first["ETag"]
    assert retry["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert Todo.objects.count() == 1


def test_without_a_key_every_request_creates(alice):
    create(alice, key=None)
    create(alice, key=None)

    assert Todo.objects.count() == 2


def test_the_same_key_with_another_body_is_422_and_changes_nothing(alice):
    create(alice)

    response = create(alice, {"title": "Buy bread"})

    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert "different request" in response.json()["detail"]
    assert list(Todo.objects.values_list("title", flat=True)) == ["Buy milk"]


def test_the_same_key_on_another_path_is_422(alice, make_todo):
    todo = make_todo()
    alice.patch(f"/todos/{todo.id}/", {"completed": True}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert create(alice).status_code == HTTPStatus.UNPROCESSABLE_ENTITY


def test_a_retry_sent_without_the_trailing_slash_is_the_same_request_and_replays(alice):
    first = create(alice)
    retry = alice.post("/todos", {"title": "Buy milk"}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert retry.status_code == HTTPStatus.CREATED
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.content == first.content
    assert Todo.objects.count() == 1


def test_a_retry_naming_the_todo_in_upper_case_is_the_same_request_and_replays(alice, make_todo):
    todo = make_todo()
    first = alice.patch(f"/todos/{todo.id}/", {"completed": True}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)
    retry = alice.patch(f"/todos/{str(todo.id).upper()}/", {"completed": True}, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == retry.status_code == HTTPStatus.OK
    assert retry["Idempotent-Replayed"] == "true"


def test_keys_are_scoped_to_the_caller(alice, bob):
    assert create(alice).status_code == HTTPStatus.CREATED
    response = create(bob)

    assert response.status_code == HTTPStatus.CREATED
    assert not response.has_header("Idempotent-Replayed")
    assert sorted(Todo.objects.values_list("owner_id", flat=True)) == ["alice", "bob"]


def test_a_request_that_failed_validation_stores_nothing_so_the_fixed_request_may_reuse_the_key(alice):
    refused = create(alice, {"title": ""})
    fixed = create(alice, {"title": "Buy milk"})

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert fixed.status_code == HTTPStatus.CREATED
    assert not fixed.has_header("Idempotent-Replayed")


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_400(alice, key):
    response = create(alice, key=key)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Todo.objects.exists()


def test_a_retry_while_the_first_request_runs_is_409(alice):
    create(alice)
    # As the claim looks while its request still runs: no response stored yet.
    IdempotencyRecord.objects.update(status_code=None)

    response = create(alice)

    assert response.status_code == HTTPStatus.CONFLICT
    assert Todo.objects.count() == 1


def test_a_claim_abandoned_by_a_dead_process_is_taken_over(alice, settings):
    create(alice)
    Todo.objects.all().delete()
    IdempotencyRecord.objects.update(
        status_code=None, created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_IN_PROGRESS_TIMEOUT + 1)
    )

    response = create(alice)

    assert response.status_code == HTTPStatus.CREATED
    assert Todo.objects.count() == 1


def test_an_expired_key_runs_the_request_again_and_is_pruned(alice, settings):
    create(alice)
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_RETENTION + 1)
    )

    response = create(alice)

    assert response.status_code == HTTPStatus.CREATED
    assert not response.has_header("Idempotent-Replayed")
    assert Todo.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 1


def test_the_prune_command_deletes_only_expired_keys(alice, bob, settings):
    create(alice)
    create(bob)
    IdempotencyRecord.objects.filter(owner_id="alice").update(
        created_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_RETENTION + 1)
    )
    out = StringIO()

    call_command("prune_idempotency_keys", stdout=out)

    assert list(IdempotencyRecord.objects.values_list("owner_id", flat=True)) == ["bob"]
    assert "deleted 1" in out.getvalue()


def test_patch_put_and_delete_of_a_todo_honour_the_key(alice, make_todo):
    todo = make_todo()
    path = f"/todos/{todo.id}/"

    patched = [alice.patch(path, {"order": 1}, format="json", HTTP_IDEMPOTENCY_KEY="p") for _ in range(2)]
    put = [alice.put(path, {"title": "Walk"}, format="json", HTTP_IDEMPOTENCY_KEY="u") for _ in range(2)]
    deleted = [alice.delete(path, HTTP_IDEMPOTENCY_KEY="d") for _ in range(2)]

    assert [response.status_code for response in patched + put] == [HTTPStatus.OK] * 4
    assert patched[1].content == patched[0].content
    assert put[1]["ETag"] == put[0]["ETag"] == '"3"', "the replayed PUT did not write again"
    assert [response.status_code for response in deleted] == [HTTPStatus.NO_CONTENT] * 2
    assert deleted[1]["Idempotent-Replayed"] == "true"
    assert not deleted[0].has_header("Content-Type")
    assert not deleted[1].has_header("Content-Type"), "a replayed 204 carries the first answer's headers, no more"


def test_bulk_delete_honours_the_key(alice, make_todo):
    make_todo(completed=True)
    first = alice.delete("/todos/?completed=true", HTTP_IDEMPOTENCY_KEY=KEY)
    make_todo(completed=True)

    retry = alice.delete("/todos/?completed=true", HTTP_IDEMPOTENCY_KEY=KEY)

    assert first.status_code == retry.status_code == HTTPStatus.NO_CONTENT
    assert retry["Idempotent-Replayed"] == "true"
    assert Todo.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_create_exactly_one_todo(client_for: Callable[[str], APIClient]):
    start = threading.Barrier(4)
    statuses: list[int] = []

    def racer() -> None:
        client = client_for("alice")
        start.wait(timeout=10)
        statuses.append(create(client).status_code)
        connections.close_all()

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert Todo.objects.count() == 1
    assert len(statuses) == 4
    assert set(statuses) <= {HTTPStatus.CREATED, HTTPStatus.CONFLICT}
    assert HTTPStatus.CREATED in statuses
