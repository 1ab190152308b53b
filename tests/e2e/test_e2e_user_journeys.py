"""A client's whole journey through the gateway: account, tokens, todos, and isolation between users."""

from http import HTTPStatus

from e2e_stack import PASSWORD, register_and_login


def test_a_user_registers_logs_in_manages_todos_refreshes_and_logs_out(client):
    username = "e2e-journey-" + client.address.replace(".", "-")
    registered = client.post(
        "/auth/register/", json={"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.text
    assert registered.json()["username"] == username
    assert "password" not in registered.json()

    login = client.post("/auth/login/", json={"username": username, "password": PASSWORD})
    assert login.status_code == HTTPStatus.OK, login.text
    tokens = login.json()
    bearer = {"Authorization": f"Bearer {tokens['access']}"}
    me = client.get("/auth/me/", headers=bearer)
    assert me.status_code == HTTPStatus.OK
    assert me.json()["username"] == username

    created = client.post("/todos/", json={"title": "Buy milk"}, headers=bearer)
    assert created.status_code == HTTPStatus.CREATED, created.text
    todo = created.json()
    assert todo["title"] == "Buy milk"
    assert todo["completed"] is False
    assert todo["url"].startswith(f"{client.base_url}/todos/"), "absolute URLs name the gateway's host and port"

    listed = client.get("/todos", headers=bearer)
    assert listed.status_code == HTTPStatus.OK
    assert [item["id"] for item in listed.json()["results"]] == [todo["id"]]

    fetched = client.get(f"/todos/{todo['id']}/", headers=bearer)
    assert fetched.status_code == HTTPStatus.OK
    etag = fetched.headers["ETag"]
    updated = client.patch(f"/todos/{todo['id']}/", json={"completed": True}, headers=bearer | {"If-Match": etag})
    assert updated.status_code == HTTPStatus.OK, updated.text
    assert updated.json()["completed"] is True
    stale = client.patch(f"/todos/{todo['id']}/", json={"title": "Lost update"}, headers=bearer | {"If-Match": etag})
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    assert client.get(f"/todos/{todo['id']}/", headers=bearer).json()["title"] == "Buy milk"

    deleted = client.delete(f"/todos/{todo['id']}/", headers=bearer)
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    assert client.get(f"/todos/{todo['id']}/", headers=bearer).status_code == HTTPStatus.NOT_FOUND

    refreshed = client.post("/auth/refresh/", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == HTTPStatus.OK, refreshed.text
    new_tokens = refreshed.json()
    reused = client.post("/auth/refresh/", json={"refresh": tokens["refresh"]})
    assert reused.status_code == HTTPStatus.UNAUTHORIZED, "a used refresh token is blacklisted"
    assert client.get("/todos/", headers={"Authorization": f"Bearer {new_tokens['access']}"}).ok

    logout = client.post(
        "/auth/logout/",
        json={"refresh": new_tokens["refresh"]},
        headers={"Authorization": f"Bearer {new_tokens['access']}"},
    )
    assert logout.status_code == HTTPStatus.NO_CONTENT, logout.text
    after_logout = client.post("/auth/refresh/", json={"refresh": new_tokens["refresh"]})
    assert after_logout.status_code == HTTPStatus.UNAUTHORIZED


def test_a_user_can_neither_see_nor_change_another_users_todos(make_client):
    alice_client, bob_client = make_client(), make_client()
    alice, bob = register_and_login(alice_client), register_and_login(bob_client)
    created = alice_client.post("/todos/", json={"title": "Alice's secret"}, headers=alice.auth)
    assert created.status_code == HTTPStatus.CREATED
    todo_id = created.json()["id"]

    assert bob_client.get("/todos/", headers=bob.auth).json()["count"] == 0
    assert bob_client.get(f"/todos/{todo_id}/", headers=bob.auth).status_code == HTTPStatus.NOT_FOUND
    changed = bob_client.patch(f"/todos/{todo_id}/", json={"title": "Bob was here"}, headers=bob.auth)
    assert changed.status_code == HTTPStatus.NOT_FOUND
    assert bob_client.delete(f"/todos/{todo_id}/", headers=bob.auth).status_code == HTTPStatus.NOT_FOUND
    assert bob_client.delete("/todos/", headers=bob.auth).status_code == HTTPStatus.NO_CONTENT

    mine = alice_client.get(f"/todos/{todo_id}/", headers=alice.auth)
    assert mine.status_code == HTTPStatus.OK
    assert mine.json()["title"] == "Alice's secret"


def test_a_request_without_a_token_gets_the_todo_services_own_json_401(client):
    response = client.get("/todos/")

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()
