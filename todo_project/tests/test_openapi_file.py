"""The contract is readable without tools: docs/openapi/todo.yaml is exactly the schema the service serves."""

from http import HTTPStatus
from pathlib import Path

import pytest
import yaml
from django.test import Client

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "todo.yaml"


def test_the_served_schema_is_the_committed_file() -> None:
    served = yaml.safe_load(Client().get("/todos/schema/").content)

    assert served == yaml.safe_load(SCHEMA_FILE.read_text()), "the schema changed: run make openapi and commit it"


def test_every_operation_documents_its_errors_with_a_json_body() -> None:
    schema = yaml.safe_load(SCHEMA_FILE.read_text())

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "406", "429"):
                assert "application/json" in operation["responses"][status]["content"], (method, path, status)


@pytest.mark.parametrize("path", ["/todos/schema/", "/todos/docs/"])
def test_the_schema_and_docs_pages_answer_options_with_their_methods(path: str) -> None:
    response = Client().options(path)

    assert response.status_code == HTTPStatus.NO_CONTENT
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert not response.has_header("Content-Type")


@pytest.mark.parametrize("path", ["/todos/schema/", "/todos/docs/"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_schema_and_docs_pages_refuse_writes_in_json(path: str, method: str) -> None:
    response = getattr(Client(), method)(path, "{}", content_type="application/json")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}
    assert response["Allow"] == "GET, HEAD, OPTIONS"
