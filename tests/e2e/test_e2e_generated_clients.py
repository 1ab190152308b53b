"""Clients generated from both served schemas by openapi-python-client drive the whole journey, shapes and all.

No request or response shape is written here: bodies are the generated models, answers are parsed by the
generated code (an error body that did not match its schema would fail to parse).
"""

import importlib
import subprocess
import sys
import uuid
from http import HTTPStatus
from pathlib import Path
from types import ModuleType

import pytest
from e2e_stack import PASSWORD, Stack

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate(stack: Stack, schema_path: str, package: str, into: Path) -> ModuleType:
    """Generate `package` from the schema the gateway serves and import it."""
    subprocess.run(
        [str(GENERATOR), "generate", "--url", f"{stack.url}{schema_path}", "--meta", "none", "--output-path", package],
        cwd=into,
        check=True,
        capture_output=True,
        timeout=120,
    )
    if str(into) not in sys.path:
        sys.path.insert(0, str(into))
    return importlib.import_module(package)


@pytest.fixture(scope="module")
def clients(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType]:
    into = tmp_path_factory.mktemp("generated")
    return generate(stack, "/auth/schema/", "auth_client", into), generate(stack, "/todos/schema/", "todo_client", into)


def test_a_generated_client_walks_the_whole_journey(stack: Stack, clients: tuple[ModuleType, ModuleType]) -> None:
    auth, todo = clients
    from auth_client.api.login import login_create
    from auth_client.api.logout import logout_create
    from auth_client.api.me import me_retrieve
    from auth_client.api.refresh import refresh_create
    from auth_client.api.register import register_create
    from auth_client.models import LoginInputRequest, RefreshInputRequest, RegisterInputRequest
    from todo_client.api.default import (
        todos_bulk_destroy,
        todos_create,
        todos_destroy,
        todos_list,
        todos_partial_update,
        todos_retrieve,
        todos_update,
    )
    from todo_client.models import PatchedTodoRequest, TodoRequest, TodosBulkDestroyCompleted, TodosListCompleted

    public = auth.Client(base_url=stack.url)
    username = f"client-{uuid.uuid4().hex[:10]}"

    registered = register_create.sync_detailed(
        client=public, body=RegisterInputRequest(username=username, email=f"{username}@example.com", password=PASSWORD)
    )
    assert registered.status_code == HTTPStatus.CREATED
    assert registered.parsed.username == username

    pair = login_create.sync(client=public, body=LoginInputRequest(username=username, password=PASSWORD))
    signed_in = auth.AuthenticatedClient(base_url=stack.url, token=pair.access)
    assert me_retrieve.sync(client=signed_in).username == username

    todos = todo.AuthenticatedClient(base_url=stack.url, token=pair.access)
    created = [
        todos_create.sync(client=todos, body=TodoRequest(title=f"todo {number}", order=number, completed=number == 0))
        for number in range(3)
    ]
    assert [item.title for item in created] == ["todo 0", "todo 1", "todo 2"]

    first_page = todos_list.sync(client=todos, completed=TodosListCompleted.FALSE, ordering="order", page_size=1)
    assert first_page.count == 2
    assert [item.title for item in first_page.results] == ["todo 1"]
    second_page = todos_list.sync(
        client=todos, completed=TodosListCompleted.FALSE, ordering="order", page_size=1, page=2
    )
    assert [item.title for item in second_page.results] == ["todo 2"]

    one = todos_retrieve.sync_detailed(str(created[1].id), client=todos)
    etag = one.headers["ETag"]
    replaced = todos_update.sync_detailed(
        str(created[1].id), client=todos, body=TodoRequest(title="renamed"), if_match=etag
    )
    assert replaced.status_code == HTTPStatus.OK
    assert replaced.parsed.title == "renamed"

    stale = todos_update.sync_detailed(str(created[1].id), client=todos, body=TodoRequest(title="lost"), if_match=etag)
    assert stale.status_code == HTTPStatus.PRECONDITION_FAILED
    assert "If-Match" in stale.parsed.detail

    patched = todos_partial_update.sync(str(created[2].id), client=todos, body=PatchedTodoRequest(completed=True))
    assert patched.completed is True

    assert todos_bulk_destroy.sync_detailed(client=todos, completed=TodosBulkDestroyCompleted.TRUE).status_code == (
        HTTPStatus.NO_CONTENT
    )
    assert todos_destroy.sync_detailed(str(created[1].id), client=todos).status_code == HTTPStatus.NO_CONTENT
    assert todos_list.sync(client=todos).count == 0

    missing = todos_retrieve.sync_detailed(str(created[1].id), client=todos)
    assert missing.status_code == HTTPStatus.NOT_FOUND
    assert missing.parsed.detail

    invalid = todos_create.sync_detailed(client=todos, body=TodoRequest(title=" "))
    assert invalid.status_code == HTTPStatus.BAD_REQUEST
    assert invalid.parsed.additional_properties["title"]

    refused = todos_list.sync_detailed(client=todo.AuthenticatedClient(base_url=stack.url, token="not-a-token"))
    assert refused.status_code == HTTPStatus.UNAUTHORIZED
    assert refused.parsed.detail

    renewed = refresh_create.sync(client=public, body=RefreshInputRequest(refresh=pair.refresh))
    assert renewed.access != pair.access
    logged_out = logout_create.sync_detailed(
        client=auth.AuthenticatedClient(base_url=stack.url, token=renewed.access),
        body=RefreshInputRequest(refresh=renewed.refresh),
    )
    assert logged_out.status_code == HTTPStatus.NO_CONTENT
    reused = refresh_create.sync_detailed(client=public, body=RefreshInputRequest(refresh=renewed.refresh))
    assert reused.status_code == HTTPStatus.UNAUTHORIZED
    assert reused.parsed.detail
