"""Both schemas, served through the gateway with development settings, are the committed docs/openapi files."""

from pathlib import Path

import pytest
import yaml
from e2e_stack import Client

OPENAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "openapi"


@pytest.mark.parametrize(("path", "name"), [("/auth/schema/", "auth.yaml"), ("/todos/schema/", "todo.yaml")])
def test_the_gateway_serves_the_committed_schema(client: Client, path: str, name: str) -> None:
    served = client.get(path)

    assert yaml.safe_load(served.content) == yaml.safe_load((OPENAPI_DIR / name).read_text()), "run make openapi"
