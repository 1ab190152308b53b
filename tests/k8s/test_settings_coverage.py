"""Every environment variable a service's settings read is given by compose or by the manifests (or is dev-only)."""

import ast
import re

import pytest
import yaml
from manifests import REPO, container_env_names, containers, pods
from settings_env import EnvironmentReader, environment_variables

SERVICES = ("auth", "todo")
# Read by the settings but deliberately left out of compose and the manifests: development conveniences.
DEVELOPMENT_ONLY = {
    "DJANGO_DEBUG",  # debug pages; production settings ignore it
    "CORS_ALLOWED_ORIGINS",  # CORS for a service run without the gateway, which owns CORS
    "AUTH_PORT",  # the local stack's port; containers set GUNICORN_BIND
    "TODO_PORT",
    # A fresh temporary folder per gunicorn master unless set (gunicorn.conf.py): /tmp is writable in both.
    "PROMETHEUS_MULTIPROC_DIR",
}


def compose_variables(service: str) -> set[str]:
    """What compose gives the service: its environment and the ENV lines of the image it builds."""
    compose = yaml.safe_load((REPO / "compose" / "docker-compose.yml").read_text())
    dockerfile = (REPO / f"{service}_project" / "Dockerfile").read_text()
    image_env = set(re.findall(r"^\s*(?:ENV\s+)?([A-Z][A-Z0-9_]*)=", dockerfile.split("AS runtime", 1)[1], re.M))
    return set(compose["services"][service].get("environment", {})) | image_env


def manifest_variables(service: str, objects: list[dict]) -> set[str]:
    """What the manifests give any container running the service's image."""
    names: set[str] = set()
    for _, spec in pods(objects):
        for container in containers(spec):
            if container["image"].split(":")[0].endswith(f"todo-microservices/{service}"):
                names |= container_env_names(container, objects)
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_every_variable_the_settings_read_is_set_by_compose_or_the_manifests(service, rendered):
    read = environment_variables(REPO / f"{service}_project", REPO / ".venvs" / service)
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "DB_CONN_MAX_AGE", "GUNICORN_WORKERS"} <= read, (
        "the reader missed known variables"
    )
    given = compose_variables(service)
    for objects in rendered.values():
        given |= manifest_variables(service, objects)
    missing = read - given - DEVELOPMENT_ONLY
    assert not missing, f"{service} reads {sorted(missing)}: set them in compose or k8s/base/{service}/{service}.env"


def test_the_reader_finds_variables_through_helpers_and_library_defaults(tmp_path):
    # A library whose function reads a variable named by a parameter's default, as dj_database_url.config does.
    (tmp_path / "urlconfig.py").write_text(
        'import os\nDEFAULT_ENV = "DATABASE_URL"\n\ndef config(env=DEFAULT_ENV):\n    return os.environ.get(env)\n'
    )
    source = """
import os
import urlconfig

def env_text(name: str, default: str = "") -> str:
    return os.environ.get(name) or default

def env_flag(name: str, default: bool) -> bool:
    return env_text(name) == "1"

NEW_SETTING = env_flag("SOME_NEW_SETTING", False)
OTHER = os.environ["ANOTHER_ONE"]
DATABASES = {"default": urlconfig.config()}
"""
    reader = EnvironmentReader([tmp_path])
    tree = ast.parse(source)
    reader.learn_functions(tree)
    reader.learn_library("urlconfig")
    assert reader.names(tree) == {"SOME_NEW_SETTING", "ANOTHER_ONE", "DATABASE_URL"}


def test_the_reader_finds_variables_read_through_django_environ():
    source = """
import environ

env = environ.Env()

def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env.list(name, default=default.split(","))]

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY")
HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///db.sqlite3")}
"""
    reader = EnvironmentReader([])
    tree = ast.parse(source)
    reader.learn_functions(tree)
    assert reader.names(tree) == {"DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"}
