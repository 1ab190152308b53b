"""Production settings fail fast and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

SERVICE_DIR = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DJANGO_SECRET_KEY": "a-long-random-production-secret-key-for-the-deploy-check-0123456789",
    "DJANGO_ALLOWED_HOSTS": "todo.example.com",
    "JWT_ISSUER": "todo-microservices-auth",
    "JWT_AUDIENCE": "todo-microservices",
    "JWT_JWKS_URL": "http://auth.example.com/auth/.well-known/jwks.json",
}


@pytest.mark.parametrize("password", [" " * 12, "a" * 12, "abcdabcdabcd"])
def test_every_account_password_needs_five_different_characters(password: str) -> None:
    # Operators' passwords (the admin) as well as users': the validators are the same in both services.
    with pytest.raises(ValidationError, match="repeats too few characters"):
        password_validation.validate_password(password)


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base_env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICE_DIR,
        env={**base_env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "JWT_ISSUER", "JWT_AUDIENCE"])
def test_production_settings_refuse_to_start_without_a_required_variable(missing):
    env = {key: value for key, value in PRODUCTION_ENV.items() if key != missing}

    result = manage("check", env=env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_settings_turn_the_browsable_api_and_the_browser_cookie_off():
    result = manage(
        "shell",
        "-c",
        "from django.conf import settings; r = settings.REST_FRAMEWORK; "
        "print(settings.BROWSABLE_API, r['DEFAULT_RENDERER_CLASSES'], r['DEFAULT_AUTHENTICATION_CLASSES'])",
        env=PRODUCTION_ENV,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("False ")
    assert "BrowsableAPIRenderer" not in result.stdout
    assert "BrowserCookie" not in result.stdout


def test_the_verifier_allows_the_clock_skew_jwt_leeway_names():
    result = manage(
        "shell",
        "-c",
        "from todos.authentication import _token_backend; print(_token_backend.get_leeway().total_seconds())",
        env={**PRODUCTION_ENV, "JWT_LEEWAY": "30"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "30.0"


def test_the_failure_names_every_missing_variable_at_once():
    result = manage("check", env={"DJANGO_SETTINGS_MODULE": "config.settings.production"})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, JWT_ISSUER, JWT_AUDIENCE" in result.stderr


@pytest.mark.parametrize(("value", "read"), [(None, "4194304 True"), ("0", "0 False"), ("65536", "65536 True")])
def test_the_list_page_cache_takes_its_size_from_the_environment_and_zero_turns_it_off(value, read, monkeypatch):
    monkeypatch.delenv("TODO_LIST_PAGE_CACHE_BYTES", raising=False)
    env = {**PRODUCTION_ENV, "TODO_LIST_PAGE_CACHE_BYTES": value} if value is not None else PRODUCTION_ENV
    code = "from todos.conditional import rendered_pages as p; print(p.max_bytes, p.enabled)"

    result = manage("shell", "-c", code, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == read


def test_a_negative_list_page_cache_size_stops_the_start():
    result = manage("check", env={**PRODUCTION_ENV, "TODO_LIST_PAGE_CACHE_BYTES": "-1"})

    assert result.returncode != 0
    assert "TODO_LIST_PAGE_CACHE_BYTES" in result.stderr
