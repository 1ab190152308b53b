"""Fixtures of the container checks (the readers are in container_files.py)."""

import pytest
import yaml
from container_files import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO,
    SERVICES,
    Instruction,
    interpolate,
    parse_dockerfile,
    parse_env_file,
)


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="session")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="session")
def compose_raw(compose_text) -> dict:
    """The compose file as written: variables still in place."""
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="session")
def compose(compose_raw, env_example) -> dict:
    """The compose file as Compose sees it with `--env-file compose/.env` made from the example."""
    return interpolate(compose_raw, env_example)


@pytest.fixture(scope="session")
def services(compose) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="session")
def dockerfiles() -> dict[str, list[Instruction]]:
    return {service: parse_dockerfile(REPO / f"{service}_project" / "Dockerfile") for service in SERVICES}
