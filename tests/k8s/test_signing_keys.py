"""The signing-keys Job's script and the auth pods' keyring init container agree on the Secret's layout.

No API server runs here: a stand-in keeps Secrets in memory, with the API's resourceVersion conflict rule. The
keyring itself is made and changed by the auth service's real `manage.py signing_keys`.
"""

import base64
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from manifests import K8S, REPO, name_of

AUTH_PROJECT = REPO / "auth_project"
AUTH_PYTHON = REPO / ".venvs" / "auth" / "bin" / "python"


def load_script():
    spec = importlib.util.spec_from_file_location(
        "signing_keys_secret", K8S / "base/signing-keys/signing_keys_secret.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class StandInApi:
    """Secrets in memory, answering as the API server does: base64 data, and a conflict on a stale version."""

    def __init__(self) -> None:
        self.secrets: dict[str, dict] = {}
        self.restarted: list[str] = []

    def secret(self, name: str) -> dict | None:
        return self.secrets.get(name)

    def write_secret(self, name: str, data: dict[str, bytes], resource_version: str | None) -> None:
        current = self.secrets.get(name)
        expected = current["metadata"]["resourceVersion"] if current else None
        if resource_version != expected:
            raise RuntimeError(f"409 Conflict on Secret {name}")
        encoded = {key: base64.b64encode(value).decode() for key, value in data.items()}
        version = str(int(expected or 0) + 1)
        self.secrets[name] = {"metadata": {"name": name, "resourceVersion": version}, "data": encoded}

    def restart_deployment(self, name: str) -> None:
        self.restarted.append(name)


@pytest.fixture
def script(monkeypatch):
    """The script as the Job runs it: the auth service's Python, in its folder, with development settings."""
    monkeypatch.setattr(sys, "executable", str(AUTH_PYTHON))
    monkeypatch.chdir(AUTH_PROJECT)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings.local")
    return load_script()


def mount_as_the_auth_pod_does(api: StandInApi, rendered: dict, tmp_path: Path) -> Path:
    """Write the Secret as the kubelet mounts it, then run the auth pod's keyring init container on it."""
    secret_dir, keyring_dir = tmp_path / "keyring-secret", tmp_path / "keyring"
    secret_dir.mkdir()
    keyring_dir.mkdir()
    for key, value in api.secrets["auth-signing-keys"]["data"].items():
        (secret_dir / key).write_bytes(base64.b64decode(value))
    auth = next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/auth")
    init = next(c for c in auth["spec"]["template"]["spec"]["initContainers"] if c["name"] == "keyring")
    folders = {"/keyring-secret": str(secret_dir), "/keyring": str(keyring_dir)}
    command = re.sub(r"/keyring(?:-secret)?(?=/|\s|$)", lambda match: folders[match.group(0)], init["command"][-1])
    subprocess.run(["sh", "-c", command], check=True)
    return keyring_dir


def keyring_list(keyring_dir: Path) -> str:
    environment = {**os.environ, "JWT_KEYS_DIR": str(keyring_dir), "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    command = [str(AUTH_PYTHON), "manage.py", "signing_keys", "--skip-checks", "list"]
    return subprocess.run(command, cwd=AUTH_PROJECT, env=environment, capture_output=True, text=True, check=True).stdout


def test_ensure_creates_the_secret_once_and_the_auth_pod_reads_it_as_a_keyring(script, rendered, tmp_path):
    api = StandInApi()

    script.keyring_action(api, "ensure")
    script.keyring_action(api, "ensure")

    secret = api.secrets["auth-signing-keys"]
    assert secret["metadata"]["resourceVersion"] == "1", "a second ensure must change nothing"
    assert api.restarted == []
    keys = set(secret["data"])
    assert {"keyring.json", "jwks.json"} < keys
    [private] = [key for key in keys if key.startswith("private.")]
    kid = private.removeprefix("private.").removesuffix(".pem")
    assert f"public.{kid}.pem" in keys
    keyring_dir = mount_as_the_auth_pod_does(api, rendered, tmp_path)
    assert keyring_list(keyring_dir).startswith(f"{kid}  active")
    assert oct((keyring_dir / "private" / f"{kid}.pem").stat().st_mode & 0o777) == "0o600"


def test_rotate_writes_a_new_active_key_keeps_the_old_public_one_and_restarts_auth(script, rendered, tmp_path):
    api = StandInApi()
    script.keyring_action(api, "ensure")
    [old] = [key.split(".")[1] for key in api.secrets["auth-signing-keys"]["data"] if key.startswith("private.")]

    script.keyring_action(api, "rotate")

    data = api.secrets["auth-signing-keys"]["data"]
    [new] = [key.split(".")[1] for key in data if key.startswith("private.")]
    assert new != old
    assert f"public.{old}.pem" in data, "the retired key still verifies tokens it signed"
    assert api.restarted == ["auth"]
    listing = keyring_list(mount_as_the_auth_pod_does(api, rendered, tmp_path))
    assert f"{new}  active" in listing
    assert f"{old}  retired" in listing


def test_a_secret_changed_meanwhile_is_not_overwritten(script):
    api = StandInApi()
    script.keyring_action(api, "ensure")
    stale = api.secrets["auth-signing-keys"]
    api.secrets["auth-signing-keys"] = {**stale, "metadata": {**stale["metadata"], "resourceVersion": "7"}}
    original_secret = api.secret

    def stale_read(name):
        return stale if name == "auth-signing-keys" else original_secret(name)

    api.secret = stale_read

    with pytest.raises(RuntimeError, match="409"):
        script.keyring_action(api, "rotate")
    assert api.restarted == []
