"""The keys service's script, run as its container runs it: the auth code, production settings, two volumes."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from container_files import REPO

SCRIPT = REPO / "compose" / "keys" / "signing-keys.sh"
AUTH_VENV = REPO / ".venvs" / "auth"


def snapshot(volume: Path) -> dict[str, bytes]:
    return {path.relative_to(volume).as_posix(): path.read_bytes() for path in volume.rglob("*") if path.is_file()}


def kids_of(jwks: bytes) -> list[str]:
    return [key["kid"] for key in json.loads(jwks)["keys"]]


@pytest.fixture(scope="module")
def keys_service(services, tmp_path_factory):
    """Run the keys service's entrypoint with its compose environment, the two volumes being temporary folders."""
    if not AUTH_VENV.exists():
        pytest.skip(".venvs/auth is missing: run `make setup`")
    keys = services["keys"]
    assert keys["entrypoint"] == ["/bin/sh", "/opt/compose/signing-keys.sh"]
    root = tmp_path_factory.mktemp("keys-volumes")
    keyring, public = root / "keyring", root / "public-keys"
    keyring.mkdir()
    public.mkdir()

    def run(*arguments: str) -> subprocess.CompletedProcess:
        environment = {
            **keys["environment"],
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "JWT_KEYS_DIR": str(keyring),
            "PUBLIC_KEYS_DIR": str(public),
            "PATH": f"{AUTH_VENV / 'bin'}:{os.environ['PATH']}",
        }
        return subprocess.run(
            ["/bin/sh", str(SCRIPT), *(arguments or keys["command"])],
            cwd=REPO / "auth_project",
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    return keyring, public, run


@pytest.fixture(scope="module")
def lifecycle(keys_service) -> dict[str, dict]:
    """The volumes after each step an operator takes: first start, restart, rotation, prune."""
    keyring, public, run = keys_service
    states = {}
    for step, arguments in [
        ("first start", ()),
        ("restart", ()),
        ("rotate", ("rotate",)),
        ("prune", ("prune", "--retired-for", "0")),
    ]:
        result = run(*arguments)
        assert result.returncode == 0, f"{step}: {result.stderr}"
        states[step] = {"keyring": snapshot(keyring), "public": snapshot(public)}
    return states


def test_the_first_start_creates_a_key_and_publishes_only_its_public_half(lifecycle, keys_service):
    state = lifecycle["first start"]
    kid = json.loads(state["keyring"]["keyring.json"])["active_kid"]
    assert set(state["public"]) == {"jwks.json", f"public/{kid}.pem"}
    assert kids_of(state["public"]["jwks.json"]) == [kid]
    assert not any(b"PRIVATE KEY" in content for content in state["public"].values())
    assert f"private/{kid}.pem" in state["keyring"]


def test_private_keys_stay_readable_by_their_owner_alone(lifecycle, keys_service):
    keyring, _, _ = keys_service
    for path in (keyring / "private").iterdir():
        assert path.stat().st_mode & 0o777 == 0o600


def test_a_restart_keeps_the_existing_key(lifecycle):
    assert lifecycle["restart"] == lifecycle["first start"]


def test_a_rotation_publishes_the_new_key_first_and_keeps_the_old_one(lifecycle):
    (old,) = kids_of(lifecycle["first start"]["public"]["jwks.json"])
    state = lifecycle["rotate"]
    kids = kids_of(state["public"]["jwks.json"])
    assert kids == [json.loads(state["keyring"]["keyring.json"])["active_kid"], old]
    assert set(state["public"]) == {"jwks.json", *(f"public/{kid}.pem" for kid in kids)}
    assert state["public"]["jwks.json"] == state["keyring"]["jwks.json"]


def test_a_pruned_key_leaves_the_published_set(lifecycle):
    (old,) = kids_of(lifecycle["first start"]["public"]["jwks.json"])
    state = lifecycle["prune"]
    assert old not in kids_of(state["public"]["jwks.json"])
    assert f"public/{old}.pem" not in state["public"]


def test_an_unknown_action_fails_and_publishes_nothing(services, tmp_path):
    if not AUTH_VENV.exists():
        pytest.skip(".venvs/auth is missing: run `make setup`")
    environment = {
        **services["keys"]["environment"],
        "JWT_KEYS_DIR": str(tmp_path / "keyring"),
        "PUBLIC_KEYS_DIR": str(tmp_path / "public-keys"),
        "PATH": f"{AUTH_VENV / 'bin'}:{os.environ['PATH']}",
    }
    result = subprocess.run(
        ["/bin/sh", str(SCRIPT), "explode"],
        cwd=REPO / "auth_project",
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert not (tmp_path / "public-keys").exists()
