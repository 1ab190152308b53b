"""Accounts end across both services, through the gateway: deletion and (de)activation reach the todo service."""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from e2e_stack import (
    PASSWORD,
    STACK_SCRIPT,
    Client,
    Stack,
    User,
    free_ports,
    next_client_address,
    rabbitmq_vhost,
    register_and_login,
    stack_var_dir,
    wait_for,
)

# The todo service learns of a change within seconds; this bounds a loaded machine, it is no speed target.
EVENT_TIMEOUT = 30.0


def user_id(client: Client, user: User) -> str:
    return str(client.get("/auth/me/", headers=user.auth).json()["id"])


def create_todos(client: Client, user: User, count: int) -> None:
    for number in range(count):
        assert (
            client.post("/todos/", json={"title": f"todo {number}"}, headers=user.auth).status_code
            == HTTPStatus.CREATED
        )


def todo_rows(stack: Stack, owner_id: str) -> int:
    """The owner's rows in the todo service's own database (PostgreSQL, or the stack's SQLite file)."""
    url = stack.env.get("TODO_DATABASE_URL")
    sql = "SELECT COUNT(*) FROM todos_todo WHERE owner_id = ?"
    if not url:
        with sqlite3.connect(stack.var_dir / "db" / "todo.sqlite3") as database:
            return database.execute(sql, [owner_id]).fetchone()[0]
    completed = subprocess.run(
        ["psql", url, "--no-psqlrc", "-tAc", sql.replace("?", f"'{owner_id}'")],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(completed.stdout.strip())


def refused(client: Client, user: User) -> bool:
    return client.get("/todos/", headers=user.auth).status_code == HTTPStatus.UNAUTHORIZED


def test_deleting_an_account_purges_its_todos_refuses_its_tokens_and_frees_its_name(make_client, stack):
    client, other_client = make_client(), make_client()
    user, other = register_and_login(client), register_and_login(other_client)
    owner_id = user_id(client, user)
    create_todos(client, user, 3)
    create_todos(other_client, other, 1)

    wrong = client.delete("/auth/me/", json={"password": "not-it"}, headers=user.auth)
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert wrong.json() == {"password": ["The password is wrong."]}
    deleted = client.delete("/auth/me/", json={"password": PASSWORD}, headers=user.auth)
    assert deleted.status_code == HTTPStatus.NO_CONTENT

    assert wait_for(lambda: refused(client, user), EVENT_TIMEOUT), "the todo service refuses the deleted user's token"
    response = client.get("/todos/", headers=user.auth)
    assert response.headers["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert todo_rows(stack, owner_id) == 0
    assert other_client.get("/todos/", headers=other.auth).json()["count"] == 1

    again = client.post(
        "/auth/register/",
        json={"username": user.username, "email": f"{user.username}@example.com", "password": PASSWORD},
    )
    assert again.status_code == HTTPStatus.CREATED, again.text
    assert str(again.json()["id"]) != owner_id
    login = client.post("/auth/login/", json={"username": user.username, "password": PASSWORD}).json()
    assert client.get("/todos/", headers={"Authorization": f"Bearer {login['access']}"}).json()["count"] == 0


class Operator:
    """An operator of the auth service's admin, driving its HTML forms through the gateway."""

    def __init__(self, stack: Stack, client: Client) -> None:
        self.client = client
        username, password = f"op-{uuid.uuid4().hex[:8]}", f"op-{uuid.uuid4().hex}"
        command = ["manage", "--service", "auth", "--", "createsuperuser", "--noinput", "--username", username]
        created = subprocess.run(
            [sys.executable, str(STACK_SCRIPT), *command, "--email", f"{username}@example.com"],
            env=stack.env | {"DJANGO_SUPERUSER_PASSWORD": password},
            capture_output=True,
            text=True,
        )
        assert created.returncode == 0, created.stderr
        client.get("/auth/admin/login/")
        login = client.post(
            "/auth/admin/login/",
            data={"csrfmiddlewaretoken": client.cookies["csrftoken"], "username": username, "password": password},
            allow_redirects=False,
        )
        assert login.status_code == HTTPStatus.FOUND, login.text[:500]

    def set_active(self, user_id: str, active: bool) -> None:
        url = f"/auth/admin/accounts/user/{user_id}/change/"
        page = self.client.get(url).text
        value = {name: re.search(rf'name="{name}" value="([^"]*)"', page)[1] for name in ("username", "email")}
        joined = {
            name: re.search(rf'name="{name}" value="([^"]*)"', page)[1] for name in ("date_joined_0", "date_joined_1")
        }
        form = {"csrfmiddlewaretoken": self.client.cookies["csrftoken"], **value, **joined}
        if active:
            form["is_active"] = "on"
        saved = self.client.post(url, data=form, allow_redirects=False)
        assert saved.status_code == HTTPStatus.FOUND, saved.text[:2000]


def test_an_operator_deactivating_and_reactivating_a_user_in_the_admin_reaches_the_todo_service(make_client, stack):
    deactivate_and_reactivate(stack, make_client(), make_client())


def deactivate_and_reactivate(stack: Stack, client: Client, operator_client: Client) -> None:
    user = register_and_login(client)
    owner_id = user_id(client, user)
    create_todos(client, user, 2)
    operator = Operator(stack, operator_client)

    operator.set_active(owner_id, False)

    assert wait_for(lambda: refused(client, user), EVENT_TIMEOUT), "a deactivated user's token is refused"
    login = client.post("/auth/login/", json={"username": user.username, "password": PASSWORD})
    assert login.status_code == HTTPStatus.UNAUTHORIZED
    assert client.post("/auth/refresh/", json={"refresh": user.refresh}).status_code == HTTPStatus.UNAUTHORIZED
    assert todo_rows(stack, owner_id) == 2, "a deactivation keeps the todos"

    operator.set_active(owner_id, True)
    fresh = client.post("/auth/login/", json={"username": user.username, "password": PASSWORD})
    assert fresh.status_code == HTTPStatus.OK
    bearer = {"Authorization": f"Bearer {fresh.json()['access']}"}

    assert wait_for(lambda: client.get("/todos/", headers=bearer).status_code == HTTPStatus.OK, EVENT_TIMEOUT)
    assert client.get("/todos/", headers=bearer).json()["count"] == 2
    assert refused(client, user), "a token issued before the deactivation stays refused"


def test_events_wait_for_a_stopped_consumer_and_apply_when_it_starts_again(client, stack):
    user = register_and_login(client)
    owner_id = user_id(client, user)
    create_todos(client, user, 2)
    stack.run("stop", "consumer")

    assert (
        client.delete("/auth/me/", json={"password": PASSWORD}, headers=user.auth).status_code == HTTPStatus.NO_CONTENT
    )
    time.sleep(2)
    assert todo_rows(stack, owner_id) == 2, "nothing applies the event while the consumer is stopped"

    stack.run("start", "consumer")
    assert wait_for(lambda: todo_rows(stack, owner_id) == 0, EVENT_TIMEOUT)
    assert refused(client, user)


def psql_value(url: str, sql: str) -> str:
    completed = subprocess.run(["psql", url, "--no-psqlrc", "-tAc", sql], check=True, capture_output=True, text=True)
    return completed.stdout.strip()


def outbox_sent(auth_database: str, event_id: str) -> bool:
    sql = f"SELECT sent_at IS NOT NULL FROM accounts_outboxevent WHERE payload->>'id' = '{event_id}'"
    return psql_value(auth_database, sql) == "t"


def test_a_relay_killed_between_publishing_and_marking_sends_again_and_the_consumer_ignores_the_duplicate(
    client, stack
):
    auth_database = stack.env["AUTH_DATABASE_URL"]
    user = register_and_login(client)
    owner_id = user_id(client, user)
    create_todos(client, user, 1)
    stack.run("stop", "relay")
    assert (
        client.delete("/auth/me/", json={"password": PASSWORD}, headers=user.auth).status_code == HTTPStatus.NO_CONTENT
    )
    event_id = psql_value(
        auth_database, f"SELECT payload->>'id' FROM accounts_outboxevent WHERE payload->>'sub' = '{owner_id}'"
    )

    # SHARE mode lets the relay lock its rows (FOR UPDATE) and publish, but holds up its UPDATE marking them sent.
    locker = subprocess.Popen(
        ["psql", auth_database, "--no-psqlrc", "-qv", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        locker.stdin.write("BEGIN;\nLOCK TABLE accounts_outboxevent IN SHARE MODE;\n\\echo locked\n")
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "locked"
        stack.run("start", "relay")
        assert wait_for(lambda: todo_rows(stack, owner_id) == 0, EVENT_TIMEOUT), "published and applied"
        time.sleep(0.5)
        stack.run("stop", "--kill", "relay")
    finally:
        locker.communicate("COMMIT;\n", timeout=30)
    assert not outbox_sent(auth_database, event_id), "killed before marking: the event is still unsent"

    stack.run("start", "relay")

    def ignored_as_duplicate() -> bool:
        return any(
            entry.get("message") == "event ignored: applied before" and entry.get("event_id") == event_id
            for entry in stack.log_lines("consumer")
        )

    assert wait_for(ignored_as_duplicate, EVENT_TIMEOUT), "the event came again and changed nothing"
    assert wait_for(lambda: outbox_sent(auth_database, event_id), EVENT_TIMEOUT)
    assert refused(client, user)


@pytest.fixture
def sqlite_stack() -> Iterator[Stack]:
    """A second stack on the embedded SQLite default (make up's), its broker at a port where nothing listens."""
    gateway_port, auth_port, todo_port, closed_port = free_ports(4)
    # Not pytest's tmp_path, which is private to root: nginx's workers must reach the stack's folder.
    var_dir = stack_var_dir()
    env = os.environ | {
        "STACK_VAR_DIR": str(var_dir),
        "GATEWAY_PORT": str(gateway_port),
        "AUTH_PORT": str(auth_port),
        "TODO_PORT": str(todo_port),
        "DJANGO_ENV": "development",
        "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{closed_port}/%2F",
    }
    for name in ("AUTH_DATABASE_URL", "TODO_DATABASE_URL", "DJANGO_SECRET_KEY", "JWT_ISSUER", "JWT_AUDIENCE"):
        env.pop(name, None)
    stack = Stack(url=f"http://127.0.0.1:{gateway_port}", var_dir=var_dir, env=env)
    try:
        yield stack
    finally:
        stack.run("down", check=False)
        shutil.rmtree(var_dir, ignore_errors=True)


def test_with_the_broker_unreachable_a_deletion_still_answers_and_the_todos_go_once_the_broker_is_back(sqlite_stack):
    sqlite_stack.run("up")
    client = Client(sqlite_stack.url, next_client_address())
    user = register_and_login(client)
    owner_id = user_id(client, user)
    create_todos(client, user, 2)

    deleted = client.delete("/auth/me/", json={"password": PASSWORD}, headers=user.auth)

    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert "outbox: 1 event waiting" in sqlite_stack.run("status", check=False).stdout
    assert "relay cannot publish" in (sqlite_stack.var_dir / "log" / "relay.log").read_text()
    assert todo_rows(sqlite_stack, owner_id) == 2

    sqlite_stack.run("down")
    with rabbitmq_vhost("e2e-outage") as broker_url:
        sqlite_stack.env["AMQP_URL"] = broker_url
        sqlite_stack.run("up")

        assert wait_for(lambda: todo_rows(sqlite_stack, owner_id) == 0, EVENT_TIMEOUT), "no manual step needed"
        assert refused(client, user)
        assert "outbox: nothing waiting" in sqlite_stack.run("status").stdout
        sqlite_stack.run("down")
    client.close()


def test_on_the_sqlite_stack_too_an_operators_deactivation_and_reactivation_reach_the_todo_service(sqlite_stack):
    with rabbitmq_vhost("e2e-sqlite") as broker_url:
        sqlite_stack.env["AMQP_URL"] = broker_url
        sqlite_stack.run("up")
        client = Client(sqlite_stack.url, next_client_address())
        operator_client = Client(sqlite_stack.url, next_client_address())
        try:
            deactivate_and_reactivate(sqlite_stack, client, operator_client)
        finally:
            client.close()
            operator_client.close()
            sqlite_stack.run("down")
