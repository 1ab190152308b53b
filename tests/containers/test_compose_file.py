"""Static checks of compose/docker-compose.yml: schema, start order, health, volumes, key access, secrets."""

import json
import re
import subprocess

import pytest
from container_files import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    REPO,
    SCHEMA_FILE,
    MissingVariableError,
    compose_variables,
    interpolate,
)
from jsonschema import Draft201909Validator

LONG_RUNNING = ("postgres", "rabbitmq", "auth", "todo", "gateway")
ONE_SHOT = ("keys", "auth-migrate", "todo-migrate")
SECRET_VARIABLES = (
    "POSTGRES_PASSWORD",
    "AUTH_DB_PASSWORD",
    "TODO_DB_PASSWORD",
    "AUTH_DJANGO_SECRET_KEY",
    "TODO_DJANGO_SECRET_KEY",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
)
OBSERVABILITY_UIS = {"prometheus", "grafana", "jaeger"}


def validate_against_compose_spec(document: dict) -> list[str]:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The schema names draft 2019-09 by an address jsonschema does not know, so the draft is chosen here.
    validator = Draft201909Validator(schema)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def mounts(service: dict) -> list[dict]:
    """The service's volumes in long syntax (the file uses only that, so access modes are explicit)."""
    return service.get("volumes", [])


def test_the_compose_file_is_valid_under_the_compose_specification_schema(compose_raw, compose):
    assert validate_against_compose_spec(compose_raw) == []
    assert validate_against_compose_spec(compose) == []


def test_the_schema_check_rejects_a_misspelt_service_key(compose):
    broken = json.loads(json.dumps(compose))
    broken["services"]["auth"]["healthchek"] = broken["services"]["auth"].pop("healthcheck")
    assert validate_against_compose_spec(broken)


def test_every_variable_the_compose_file_uses_is_in_the_env_example(compose_raw, env_example):
    assert compose_variables(compose_raw) - set(env_example) == set()


def test_every_setting_of_the_env_example_is_used(compose_raw, env_example):
    # COMPOSE_PROJECT_NAME is read by Compose itself, not interpolated.
    assert set(env_example) - compose_variables(compose_raw) == {"COMPOSE_PROJECT_NAME"}


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_compose_refuses_to_start_without_each_secret(compose_raw, env_example, variable):
    without = {name: value for name, value in env_example.items() if name != variable}
    with pytest.raises(MissingVariableError, match=variable):
        interpolate(compose_raw, without)


def test_the_env_example_holds_only_obvious_placeholder_secrets(env_example):
    for variable in SECRET_VARIABLES:
        assert env_example[variable].startswith("change-me"), variable


def test_no_secret_value_is_written_in_the_compose_file(compose_text, env_example):
    for variable in SECRET_VARIABLES:
        assert env_example[variable] not in compose_text
    # Secret-looking settings are always references to the env file, never literal values.
    literal = re.compile(r"^\s*[A-Z_]*(?:SECRET|PASSWORD|TOKEN)[A-Z_]*:\s*(?!\$\{)\S", re.MULTILINE)
    assert literal.findall(compose_text) == []


def test_the_real_env_file_is_ignored_by_git_and_the_example_is_not():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(COMPOSE_FILE.parent / ".env")], cwd=REPO, check=False
    ).returncode
    example = subprocess.run(["git", "check-ignore", "-q", str(ENV_EXAMPLE)], cwd=REPO, check=False).returncode
    assert (ignored, example) == (0, 1)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_each_long_running_service_has_a_healthcheck_and_restarts(services, name):
    service = services[name]
    assert service["healthcheck"]["test"][0] == "CMD"
    assert not service["healthcheck"].get("disable", False)
    assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize(("name", "path"), [("auth", "/auth/health/"), ("todo", "/todos/health/")])
def test_each_service_healthcheck_asks_its_health_endpoint_with_python_alone(services, name, path):
    test = services[name]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in test[3]
    assert path in test[3]


def test_no_healthcheck_argument_holds_whitespace(services):
    # podman's Docker-compatible API (4.x, the compose test's engine) splits CMD arguments on whitespace.
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD":
            assert not [argument for argument in test[1:] if any(char.isspace() for char in argument)], name


@pytest.mark.parametrize("name", ONE_SHOT)
def test_one_shot_services_run_once_and_are_not_health_checked(services, name):
    assert services[name]["restart"] == "no"
    assert services[name]["healthcheck"] == {"disable": True}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("auth-migrate", {"postgres": "service_healthy"}),
        ("todo-migrate", {"postgres": "service_healthy"}),
        (
            "auth",
            {
                "postgres": "service_healthy",
                "keys": "service_completed_successfully",
                "auth-migrate": "service_completed_successfully",
            },
        ),
        (
            "todo",
            {
                "postgres": "service_healthy",
                "keys": "service_completed_successfully",
                "todo-migrate": "service_completed_successfully",
            },
        ),
        ("gateway", {"auth": "service_healthy", "todo": "service_healthy"}),
    ],
)
def test_services_start_only_when_what_they_need_is_ready(services, name, expected):
    depends_on = {dependency: rule["condition"] for dependency, rule in services[name]["depends_on"].items()}
    assert depends_on == expected


@pytest.mark.parametrize("name", ["auth", "todo"])
def test_each_service_migrates_its_own_database_before_serving(services, name):
    migrate = services[f"{name}-migrate"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert migrate["image"] == services[name]["image"]
    assert migrate["environment"] == services[name]["environment"]
    assert "command" not in services[name], "the image's CMD (gunicorn, exec form) serves"


def test_postgres_keeps_its_data_in_a_named_volume_and_runs_the_init_script(compose, services):
    by_target = {mount["target"]: mount for mount in mounts(services["postgres"])}
    data = by_target["/var/lib/postgresql/data"]
    assert data["type"] == "volume"
    assert data["source"] in compose["volumes"]
    init = by_target["/docker-entrypoint-initdb.d"]
    assert (init["type"], init["source"], init["read_only"]) == ("bind", "./postgres/init", True)
    assert (REPO / "compose" / "postgres" / "init" / "10-service-databases.sh").stat().st_mode & 0o111


def test_postgres_health_is_checked_over_tcp_so_it_waits_for_the_init_scripts(services):
    test = services["postgres"]["healthcheck"]["test"]
    assert test[1] == "pg_isready"
    assert "--host=127.0.0.1" in test


def test_the_keys_service_writes_the_keyring_and_the_public_keys_and_has_no_network(compose, services):
    keys = services["keys"]
    by_target = {mount["target"]: mount for mount in mounts(keys)}
    assert by_target["/keyring"]["source"] == "signing-keys"
    assert by_target["/public-keys"]["source"] == "public-keys"
    assert not by_target["/keyring"].get("read_only", False)
    assert keys["network_mode"] == "none"
    assert keys["environment"]["JWT_KEYS_DIR"] == "/keyring"
    assert keys["environment"]["PUBLIC_KEYS_DIR"] == "/public-keys"
    assert {"signing-keys", "public-keys"} <= set(compose["volumes"])


def test_the_auth_service_mounts_the_keyring_read_only(services):
    assert mounts(services["auth"]) == [
        {"type": "volume", "source": "signing-keys", "target": "/keyring", "read_only": True}
    ]
    assert services["auth"]["environment"]["JWT_KEYS_DIR"] == "/keyring"


def test_the_todo_service_sees_only_the_public_keys_read_only(services):
    assert mounts(services["todo"]) == [
        {"type": "volume", "source": "public-keys", "target": "/public-keys", "read_only": True}
    ]
    assert services["todo"]["environment"]["JWT_JWKS_FILE"] == "/public-keys/jwks.json"


def test_only_the_keys_and_auth_services_touch_the_private_keyring(services):
    holders = {
        name for name, service in services.items() for mount in mounts(service) if mount.get("source") == "signing-keys"
    }
    assert holders == {"keys", "auth"}


def test_only_the_gateway_is_published_on_the_host(services):
    published = {name for name, service in services.items() if service.get("ports")}
    # The observability profile's web interfaces, on the host's loopback only (test_observability_profile.py).
    assert published - OBSERVABILITY_UIS == {"gateway"}
    assert services["gateway"]["ports"] == ["127.0.0.1:8080:8080"]


@pytest.mark.parametrize(
    "name", ["keys", "auth-migrate", "auth", "auth-relay", "todo-migrate", "todo", "todo-consumer"]
)
def test_python_services_run_hardened_from_their_own_images(services, name):
    service = services[name]
    assert service["build"]["context"] in ("../auth_project", "../todo_project")
    assert service["read_only"] is True
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert "user" not in service, "the image's non-root user runs it"


@pytest.mark.parametrize("name", ["auth", "todo"])
def test_services_run_production_settings_configured_by_the_env_file(services, name):
    environment = services[name]["environment"]
    assert "DJANGO_SETTINGS_MODULE" not in environment, "the image sets config.settings.production"
    for variable in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "JWT_ISSUER", "JWT_AUDIENCE", "DATABASE_URL"):
        assert environment[variable], variable
    assert environment["DATABASE_URL"] == f"postgres://{name}:change-me-{name}-database-password@postgres:5432/{name}"
    assert "127.0.0.1" in environment["DJANGO_ALLOWED_HOSTS"].split(","), "the healthcheck asks 127.0.0.1"


@pytest.mark.parametrize("name", ["auth", "todo"])
def test_every_variable_given_to_a_service_is_one_it_reads(services, name):
    project = REPO / f"{name}_project"
    sources = "".join(path.read_text() for path in (project / "config").rglob("*.py"))
    sources += (project / "gunicorn.conf.py").read_text()
    given = services[name]["environment"]
    unread = [variable for variable in given if f'"{variable}"' not in sources]
    assert unread == []


def test_both_services_agree_on_the_token_issuer_and_audience(services):
    for variable in ("JWT_ISSUER", "JWT_AUDIENCE"):
        assert services["auth"]["environment"][variable] == services["todo"]["environment"][variable]


def test_the_services_trust_forwarded_addresses_only_from_the_gateway(compose, services):
    gateway_ip = services["gateway"]["networks"]["backend"]["ipv4_address"]
    subnet = compose["networks"]["backend"]["ipam"]["config"][0]["subnet"]
    assert gateway_ip.rsplit(".", 1)[0] == subnet.split("/")[0].rsplit(".", 1)[0]
    for name in ("auth", "todo"):
        assert services[name]["environment"]["TRUSTED_PROXY_IPS"] == gateway_ip


def test_the_gateway_mounts_the_repository_config_read_only_and_hides_the_image_default(services):
    gateway = services["gateway"]
    assert gateway["image"].startswith("nginx:")
    by_target = {mount["target"]: mount for mount in mounts(gateway)}
    assert by_target["/etc/nginx/nginx.conf"]["source"] == "../nginx/nginx.conf"
    assert by_target["/etc/nginx/templates"]["source"] == "../nginx/templates"
    # The token check's script, imported by conf.d/token_check.conf from beside nginx.conf.
    assert by_target["/etc/nginx/njs"]["source"] == "../nginx/njs"
    assert all(mount["read_only"] for mount in by_target.values())
    assert gateway["tmpfs"] == ["/etc/nginx/conf.d"]


def test_the_gateway_resolves_the_services_at_request_time_through_docker_dns(services):
    environment = services["gateway"]["environment"]
    assert environment["GATEWAY_RESOLVER"] == "127.0.0.11"
    # host:port rather than an upstream{} name, so proxy_pass goes through the resolver.
    assert environment["GATEWAY_AUTH_UPSTREAM"] == "auth:8001"
    assert environment["GATEWAY_TODO_UPSTREAM"] == "todo:8002"


def test_every_gateway_template_variable_is_set_for_the_container(services):
    templates = "".join(path.read_text() for path in (REPO / "nginx" / "templates").rglob("*.template"))
    used = set(re.findall(r"\$\{(GATEWAY_[A-Z0-9_]+)\}", templates))
    environment = services["gateway"]["environment"]
    assert environment["NGINX_ENVSUBST_FILTER"] == "^GATEWAY_"
    assert used - set(environment) == set()


def test_the_build_contexts_and_bind_mounts_exist(services):
    for service in services.values():
        if "build" in service:
            assert (COMPOSE_FILE.parent / service["build"]["context"] / "Dockerfile").is_file()
        for mount in mounts(service):
            if mount["type"] == "bind":
                assert (COMPOSE_FILE.parent / mount["source"]).exists(), mount["source"]


@pytest.mark.parametrize(
    ("name", "service", "command"),
    [("auth-relay", "auth", "outbox_relay"), ("todo-consumer", "todo", "consume_events")],
)
def test_the_relay_and_the_consumer_run_their_command_from_their_services_image_once_the_broker_is_healthy(
    services, name, service, command
):
    worker = services[name]
    assert worker["command"] == ["python", "manage.py", command]
    assert worker["image"] == services[service]["image"]
    assert worker["environment"] == services[service]["environment"]
    depends_on = {dependency: rule["condition"] for dependency, rule in worker["depends_on"].items()}
    assert depends_on == {
        "postgres": "service_healthy",
        "rabbitmq": "service_healthy",
        f"{service}-migrate": "service_completed_successfully",
    }
    assert worker["healthcheck"] == {"disable": True}, "the image's HTTP check would fail: nothing listens"
    assert worker["restart"] == "unless-stopped"


def test_rabbitmq_is_health_checked_keeps_its_data_and_both_services_reach_it_with_the_env_files_password(services):
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["image"] == "rabbitmq:3.10"
    assert rabbitmq["healthcheck"]["test"] == ["CMD", "rabbitmq-diagnostics", "-q", "ping"]
    assert mounts(rabbitmq) == [{"type": "volume", "source": "rabbitmq-data", "target": "/var/lib/rabbitmq"}]
    assert rabbitmq["hostname"] == "rabbitmq", "RabbitMQ names its data folder after the host name"
    password = rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"]
    for name in ("auth", "todo"):
        assert services[name]["environment"]["AMQP_URL"] == f"amqp://events:{password}@rabbitmq:5672/%2F"
