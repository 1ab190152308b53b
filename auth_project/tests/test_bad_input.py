"""Bad input always gets a JSON 4xx, never a 500 or HTML."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

WRITE_ENDPOINTS = ["/auth/register/", "/auth/login/", "/auth/refresh/", "/auth/logout/", "/auth/password/"]


def post_raw(client, path, body, content_type="application/json"):
    return client.generic("POST", path, body, content_type=content_type)


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", ['{"username": "alice",', "not json", "[1, 2", '{"a": NaN}'])
def test_malformed_json_is_400(auth_client, path, body):
    response = post_raw(auth_client, path, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "detail" in response.json()


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    ["[" * 900 + "]" * 900, '{"a": ' * 900 + "1" + "}" * 900, "[" * 20_000 + "]" * 20_000],
    ids=["list-900-deep", "object-900-deep", "list-20000-deep"],
)
def test_deeply_nested_json_is_a_json_400_not_a_500(auth_client, path, body):
    response = post_raw(auth_client, path, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_a_non_json_content_type_is_415(auth_client, path, content_type):
    response = post_raw(auth_client, path, "username=alice&password=x", content_type=content_type)

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert "detail" in response.json()


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", ["[]", '"alice"', "42", "null", "true"])
def test_a_json_document_that_is_not_an_object_is_400(auth_client, path, body):
    response = post_raw(auth_client, path, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/auth/register/", {"username": 5, "email": "e@example.com", "password": "plum orchard 42"}, "username"),
        ("/auth/register/", {"username": "bob", "email": ["e@example.com"], "password": "plum 42 orch"}, "email"),
        ("/auth/register/", {"username": "bob", "email": "e@example.com", "password": 123456789012345}, "password"),
        ("/auth/register/", {"username": True, "email": "e@example.com", "password": "plum orchard 42"}, "username"),
        ("/auth/login/", {"username": "alice", "password": {"$ne": ""}}, "password"),
        ("/auth/login/", {"username": None, "password": PASSWORD}, "username"),
        ("/auth/login/", {"username": ["alice"], "password": PASSWORD}, "username"),
        ("/auth/refresh/", {"refresh": 12345}, "refresh"),
        ("/auth/logout/", {"refresh": False}, "refresh"),
        ("/auth/password/", {"old_password": 1, "new_password": "plum orchard 42"}, "old_password"),
    ],
)
def test_wrong_json_types_are_400_not_coerced(auth_client, path, payload, field):
    response = auth_client.post(path, payload, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        (
            "/auth/register/",
            {"username": "b" * 151, "email": "e@example.com", "password": "plum orchard 42"},
            "username",
        ),
        ("/auth/register/", {"username": "bob", "email": "e" * 250 + "@example.com", "password": "plum 4 o"}, "email"),
        ("/auth/register/", {"username": "bob", "email": "e@example.com", "password": "p" * 257}, "password"),
        ("/auth/login/", {"username": "alice", "password": "p" * 10_000}, "password"),
        ("/auth/refresh/", {"refresh": "r" * 5000}, "refresh"),
    ],
)
def test_oversized_fields_are_400(auth_client, path, payload, field):
    response = auth_client.post(path, payload, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
def test_an_oversized_body_is_a_json_413(auth_client, path):
    response = post_raw(auth_client, path, '{"username": "' + "a" * 100_000 + '"}')

    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/register/", '{"username": "bo\\u0000b", "email": "e@example.com", "password": "plum orchard 42"}'),
        ("/auth/login/", '{"username": "alice", "password": "correct\\u0000horse"}'),
        ("/auth/login/", '{"username": "alice", "password": "x", "extra\\u0000key": 1}'),
        ("/auth/refresh/", '{"refresh": "abc\\u0000"}'),
        ("/auth/password/", '{"old_password": "a\\u0000", "new_password": "plum orchard 42"}'),
    ],
)
def test_nul_characters_are_400(auth_client, path, body):
    response = post_raw(auth_client, path, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("path", WRITE_ENDPOINTS)
@pytest.mark.parametrize(
    "body",
    ['{"username": "alice", "\\ud800": 1}', '{"username": "alice", "username": "bob"}'],
    ids=["lone-surrogate-in-a-key", "a-key-twice"],
)
def test_keys_that_cannot_be_echoed_or_are_given_twice_are_400(auth_client, path, body):
    # A lone surrogate in a key was echoed in "Unknown field." and the answer could not be encoded: a 500.
    response = post_raw(auth_client, path, body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"].startswith("JSON parse error - ")


def test_a_registration_with_a_key_given_twice_creates_no_user(api_client):
    body = '{"username": "carol", "email": "c@example.com", "password": "plum orchard 42", "username": "dave"}'

    response = post_raw(api_client, "/auth/register/", body)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert not get_user_model().objects.filter(username__in=["carol", "dave"]).exists()


def test_unknown_fields_are_400_naming_them(api_client, user):
    response = api_client.post(
        "/auth/login/", {"username": "alice", "password": PASSWORD, "remember_me": True}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json() == {"remember_me": ["Unknown field."]}


@pytest.mark.parametrize("path", ["/auth/register/", "/auth/login/", "/auth/refresh/"])
def test_get_on_a_write_endpoint_is_a_json_405(api_client, path):
    response = api_client.get(path)

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert "detail" in response.json()
