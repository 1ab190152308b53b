"""The conditional list through the gateway: its ETag, a 304 while nothing changed, a new page after a write."""

from http import HTTPStatus

from e2e_stack import register_and_login


def test_the_list_answers_304_through_the_gateway_until_one_of_the_callers_todos_changes(make_client):
    client, other_client = make_client(), make_client()
    user, other = register_and_login(client), register_and_login(other_client)
    todo = client.post("/todos/", json={"title": "first"}, headers=user.auth).json()

    listed = client.get("/todos/?page_size=5", headers=user.auth)
    etag = listed.headers["ETag"]
    unchanged = client.get("/todos/?page_size=5", headers=user.auth | {"If-None-Match": etag})
    assert unchanged.status_code == HTTPStatus.NOT_MODIFIED
    assert unchanged.content == b""
    assert unchanged.headers["ETag"].removeprefix("W/") == etag.removeprefix("W/")

    # Another user's write and a write that changes nothing leave the page as it was.
    other_client.post("/todos/", json={"title": "not yours"}, headers=other.auth)
    assert client.patch(f"/todos/{todo['id']}/", json={}, headers=user.auth).status_code == HTTPStatus.OK
    still = client.get("/todos/?page_size=5", headers=user.auth | {"If-None-Match": etag})
    assert still.status_code == HTTPStatus.NOT_MODIFIED

    client.patch(f"/todos/{todo['id']}/", json={"title": "edited"}, headers=user.auth)
    changed = client.get("/todos/?page_size=5", headers=user.auth | {"If-None-Match": etag})
    assert changed.status_code == HTTPStatus.OK
    assert [item["title"] for item in changed.json()["results"]] == ["edited"]
    assert changed.headers["ETag"] != etag
