"""Unknown query parameters are a 400 naming them; a foreign Host is a JSON 400 even with DEBUG on."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/auth/login/"), ("post", "/auth/register/"), ("get", "/auth/me/"), ("get", "/auth/health/")],
)
def test_an_unknown_query_parameter_is_400_naming_it(api_client: APIClient, method: str, path: str) -> None:
    response = getattr(api_client, method)(f"{path}?debug=1", {}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "debug" in response.json()["detail"]


def test_a_query_parameter_given_twice_is_400_naming_it(api_client: APIClient) -> None:
    response = api_client.get("/auth/health/?format=json&format=json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["detail"] == "Query parameter given more than once: format. Give each one once."


def test_a_foreign_host_is_json_400_with_debug_on(api_client: APIClient, settings) -> None:
    settings.DEBUG = True

    response = api_client.get("/auth/health/", HTTP_HOST="evil.example")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["TRACE", "BREW"])
def test_an_unknown_method_is_405_with_allow_even_without_a_token(api_client: APIClient, method: str) -> None:
    response = api_client.generic(method, "/auth/me/")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, DELETE, HEAD, OPTIONS"
    assert response.json()["detail"]
