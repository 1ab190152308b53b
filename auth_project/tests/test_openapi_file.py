"""The contract is readable without tools: docs/openapi/auth.yaml is exactly the schema the service serves."""

from pathlib import Path

import yaml
from django.test import Client

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "auth.yaml"


def test_the_served_schema_is_the_committed_file() -> None:
    served = yaml.safe_load(Client().get("/auth/schema/").content)

    assert served == yaml.safe_load(SCHEMA_FILE.read_text()), "the schema changed: run make openapi and commit it"


def test_every_operation_documents_its_errors_with_a_json_body() -> None:
    schema = yaml.safe_load(SCHEMA_FILE.read_text())

    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for status in ("400", "406", "429"):
                assert "application/json" in operation["responses"][status]["content"], (method, path, status)
