"""Static checks of each service's Dockerfile and .dockerignore, and a dry run of the image's build steps."""

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from container_files import REPO, SERVICES

PORTS = {"auth": 8001, "todo": 8002}
HEALTH_PATHS = {"auth": "/auth/health/", "todo": "/todos/health/"}
SLIM_PYTHON_311 = re.compile(r"^python:3\.11(\.\d+)?-slim(-[a-z]+)?$")


def instructions_of(dockerfiles, service: str, keyword: str):
    return [instruction for instruction in dockerfiles[service] if instruction.keyword == keyword]


def runtime_stage(dockerfiles, service: str):
    """The instructions after the last FROM: what the image that runs is made of."""
    instructions = dockerfiles[service]
    last_from = max(index for index, instruction in enumerate(instructions) if instruction.keyword == "FROM")
    return instructions[last_from:]


def image_environment(dockerfiles, service: str) -> dict[str, str]:
    environment = {}
    for instruction in runtime_stage(dockerfiles, service):
        if instruction.keyword == "ENV":
            for word in shlex.split(instruction.arguments):
                name, _, value = word.partition("=")
                environment[name] = value.replace("${PATH}", os.environ["PATH"])
    return environment


def dockerignore_patterns(service: str) -> list[str]:
    lines = (REPO / f"{service}_project" / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker reads it: * and ? stay within one path segment, ** crosses them."""
    regex = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        elif pattern[index] == "[" and "]" in pattern[index:]:
            end = pattern.index("]", index)
            regex, index = regex + pattern[index : end + 1], end + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.compile(regex + r"\Z")


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether Docker leaves a path out of the build context: a pattern matching a folder excludes its content."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: index + 1]) for index in range(len(parts))]
    return any(_pattern_regex(pattern.rstrip("/")).match(candidate) for pattern in patterns for candidate in candidates)


def build_context(service: str, destination: Path) -> Path:
    """Copy the service folder into destination as `docker build` would send it."""
    source = REPO / f"{service}_project"
    patterns = dockerignore_patterns(service)
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source).as_posix()
        if path.is_file() and not ignored(relative, patterns):
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return destination


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_is_built_in_two_stages_on_slim_python_311(dockerfiles, service):
    stages = [shlex.split(instruction.arguments) for instruction in instructions_of(dockerfiles, service, "FROM")]
    assert len(stages) >= 2
    assert all(SLIM_PYTHON_311.match(stage[0]) for stage in stages), stages
    assert stages[0][1:] == ["AS", "builder"]
    copies_from_builder = [
        instruction
        for instruction in runtime_stage(dockerfiles, service)
        if instruction.keyword == "COPY" and instruction.options().get("from") == "builder"
    ]
    assert any("/opt/venv" in instruction.arguments for instruction in copies_from_builder), "the builder's venv"


@pytest.mark.parametrize("service", SERVICES)
def test_every_base_image_is_pinned_by_version_or_digest(dockerfiles, service):
    for instruction in instructions_of(dockerfiles, service, "FROM"):
        image = shlex.split(instruction.arguments)[0]
        assert "@sha256:" in image or re.search(r":\d+\.\d+", image), f"{image}: pin a version or a digest"


@pytest.mark.parametrize("service", SERVICES)
def test_the_builder_installs_the_services_own_requirements_file(dockerfiles, service):
    builder = dockerfiles[service][: [i.keyword for i in dockerfiles[service]].index("FROM", 1)]
    copies = [shlex.split(instruction.arguments) for instruction in builder if instruction.keyword == "COPY"]
    (copied,) = [arguments[-1] for arguments in copies if arguments[0] == "requirements.txt"]
    installs = [instruction.arguments for instruction in builder if instruction.keyword == "RUN"]
    assert any(re.search(rf"pip install .*-r {re.escape(copied)}", command) for command in installs)
    # The tests run in a virtual environment made from requirements-dev.txt, which starts from the same file.
    dev_requirements = (REPO / f"{service}_project" / "requirements-dev.txt").read_text().splitlines()
    assert "-r requirements.txt" in dev_requirements


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_pins_are_the_versions_the_service_tests_ran_with(service):
    venv_python = REPO / ".venvs" / service / "bin" / "python"
    if not venv_python.exists():
        pytest.skip(f".venvs/{service} is missing: run `make setup`")
    installed = json.loads(
        subprocess.run(
            [
                str(venv_python),
                "-c",
                "import importlib.metadata as m, json; "
                "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    installed = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in installed.items()}
    mismatches = {}
    for line in (REPO / f"{service}_project" / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, _, pinned = line.partition("==")
        name = re.sub(r"[-_.]+", "-", requirement.split("[", 1)[0]).lower()
        if installed.get(name) != pinned:
            mismatches[name] = (pinned, installed.get(name))
    assert mismatches == {}


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_runs_as_a_non_root_user(dockerfiles, service):
    users = [step.arguments for step in runtime_stage(dockerfiles, service) if step.keyword == "USER"]
    assert users, "no USER: the container would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


@pytest.mark.parametrize("service", SERVICES)
def test_gunicorn_is_pid_1_in_exec_form_and_stops_gracefully(dockerfiles, service):
    (cmd,) = instructions_of(dockerfiles, service, "CMD")
    command = cmd.exec_form()
    assert command[0] == "gunicorn", "gunicorn itself is PID 1 and gets the stop signal"
    assert command[command.index("--config") + 1] == "gunicorn.conf.py"
    assert instructions_of(dockerfiles, service, "ENTRYPOINT") == []
    (stop_signal,) = instructions_of(dockerfiles, service, "STOPSIGNAL")
    assert stop_signal.arguments == "SIGTERM"
    # The grace gunicorn takes is shorter than the stop timeout compose gives (stop_grace_period: 30s).
    assert int(image_environment(dockerfiles, service)["GUNICORN_GRACEFUL_TIMEOUT"]) < 30


@pytest.mark.parametrize("service", SERVICES)
def test_gunicorn_listens_on_the_port_the_image_exposes_and_checks(dockerfiles, service):
    port = PORTS[service]
    assert image_environment(dockerfiles, service)["GUNICORN_BIND"] == f"0.0.0.0:{port}"
    (expose,) = instructions_of(dockerfiles, service, "EXPOSE")
    assert expose.arguments == str(port)
    (healthcheck,) = instructions_of(dockerfiles, service, "HEALTHCHECK")
    command = healthcheck.exec_form()
    assert command[:2] == ["python", "-c"]
    assert f"urllib.request.urlopen('http://127.0.0.1:{port}{HEALTH_PATHS[service]}'" in command[2]
    assert {"interval", "timeout", "retries"} <= set(healthcheck.options())


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_runs_production_settings(dockerfiles, service):
    assert image_environment(dockerfiles, service)["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("service", SERVICES)
def test_no_secret_is_baked_into_the_image(dockerfiles, service, env_example):
    text = (REPO / f"{service}_project" / "Dockerfile").read_text()
    for name, value in env_example.items():
        if "PASSWORD" in name or "SECRET" in name:
            assert value not in text
    for instruction in dockerfiles[service]:
        if instruction.keyword in ("ENV", "ARG"):
            assert not re.search(r"SECRET|PASSWORD|TOKEN", instruction.arguments), instruction
        assert "PRIVATE KEY" not in instruction.arguments
    # The one build-time secret is a throwaway given to collectstatic alone, and says so.
    keys = re.findall(r"DJANGO_SECRET_KEY=(\S+)", text)
    assert all("build-time" in key for key in keys), keys


@pytest.mark.parametrize("service", SERVICES)
def test_dockerignore_keeps_state_keys_secrets_environments_and_caches_out(service):
    patterns = dockerignore_patterns(service)
    for path in (
        "var/keys/private/abc.pem",
        "var/db.sqlite3",
        ".venv/bin/python",
        "accounts/__pycache__/models.cpython-311.pyc",
        "config/stray.pyc",
        ".pytest_cache/v/cache/nodeids",
        ".ruff_cache/CACHEDIR.TAG",
        "tests/test_api.py",
        "todos/tests/test_api.py",
        "signing.pem",
        "config/leftover.key",
        ".env",
        "config/.env.production",
        "requirements-dev.txt",
    ):
        assert ignored(path, patterns), path
    kept = ("manage.py", "config/settings/production.py", "gunicorn.conf.py", "requirements.txt", "config/venv.py")
    for path in kept:
        assert not ignored(path, patterns), path


@pytest.mark.parametrize("service", SERVICES)
def test_the_build_context_holds_what_the_image_needs_and_no_tests(service, tmp_path):
    context = build_context(service, tmp_path / "context")
    assert (context / "manage.py").is_file()
    assert (context / "gunicorn.conf.py").is_file()
    assert (context / "requirements.txt").is_file()
    assert not list(context.rglob("test_*.py"))
    assert not list(context.rglob("*.pem"))


@pytest.mark.parametrize("service", SERVICES)
def test_the_image_build_steps_collect_static_files_with_production_settings(dockerfiles, service, tmp_path):
    """Run the Dockerfile's collectstatic step, with its own environment, in a copy of the build context."""
    venv = REPO / ".venvs" / service
    if not venv.exists():
        pytest.skip(f".venvs/{service} is missing: run `make setup`")
    context = build_context(service, tmp_path / "app")
    (step,) = [
        instruction.arguments
        for instruction in instructions_of(dockerfiles, service, "RUN")
        if "collectstatic" in instruction.arguments
    ]
    words = shlex.split(step.split("&&", 1)[0])
    build_environment = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    command = [word for word in words if not re.match(r"^[A-Z_]+=", word)]
    static_root = tmp_path / "staticfiles"
    environment = {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        **image_environment(dockerfiles, service),
        **build_environment,
        "DJANGO_STATIC_ROOT": str(static_root),
    }
    environment["PATH"] = f"{venv / 'bin'}:{os.environ['PATH']}"
    result = subprocess.run(command, cwd=context, env=environment, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert any(name.startswith("rest_framework/") for name in manifest["paths"])


@pytest.mark.parametrize("service", SERVICES)
def test_production_settings_refuse_to_start_without_the_env_file_values(dockerfiles, service, tmp_path):
    """The image alone is not enough to serve: the secret and hosts must come from the environment."""
    venv = REPO / ".venvs" / service
    if not venv.exists():
        pytest.skip(f".venvs/{service} is missing: run `make setup`")
    environment = {**image_environment(dockerfiles, service), "PATH": f"{venv / 'bin'}:{os.environ['PATH']}"}
    result = subprocess.run(
        ["python", "manage.py", "check"],
        cwd=REPO / f"{service}_project",
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_auth_image_hands_its_user_the_keyring_mount_points(dockerfiles):
    # An empty named volume takes the owner of the folder it is mounted on: without these, the keys
    # service (user app) could not write its keyring into a fresh volume.
    steps = " ".join(step.arguments for step in runtime_stage(dockerfiles, "auth") if step.keyword == "RUN")
    assert "mkdir -p /keyring /public-keys" in steps
    assert "chown app:app /keyring /public-keys" in steps
    assert "chmod 0700 /keyring" in steps
    assert image_environment(dockerfiles, "auth")["JWT_KEYS_DIR"] == "/keyring"
    assert image_environment(dockerfiles, "todo")["JWT_JWKS_FILE"] == "/public-keys/jwks.json"
