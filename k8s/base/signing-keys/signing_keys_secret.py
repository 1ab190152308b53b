"""Keep the auth service's keyring in the Secret auth-signing-keys: run `manage.py signing_keys ACTION` on it.

Runs in a Job on the auth image (docs/kubernetes.md). The Secret is flat (keyring.json, jwks.json,
private.<kid>.pem, public.<kid>.pem); the keyring is a folder, so the Secret is laid out in a scratch folder,
changed there by the auth service's own command, and written back only if the Secret did not change meanwhile
(its resourceVersion). After a change the auth Deployment is restarted, since its pods copy the keyring at
start. `dev-secrets` instead creates the dev overlay's random passwords and keys, once.
"""

import base64
import json
import logging
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger("signing-keys")

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
KEYRING_SECRET = os.environ.get("KEYRING_SECRET", "auth-signing-keys")
AUTH_DEPLOYMENT = os.environ.get("AUTH_DEPLOYMENT", "auth")
KEYRING_ACTIONS = {"ensure", "rotate", "prune", "list"}


class KubernetesApi:
    """The few calls this Job makes, with the pod's service account token."""

    def __init__(self) -> None:
        self.base = f"https://{os.environ['KUBERNETES_SERVICE_HOST']}:{os.environ['KUBERNETES_SERVICE_PORT']}"
        self.namespace = (SERVICE_ACCOUNT / "namespace").read_text().strip()
        self.token = (SERVICE_ACCOUNT / "token").read_text().strip()
        self.context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))

    def call(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json") -> dict:
        request = urllib.request.Request(
            f"{self.base}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
        )
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            return json.loads(response.read())

    def secret(self, name: str) -> dict | None:
        try:
            return self.call("GET", f"/api/v1/namespaces/{self.namespace}/secrets/{name}")
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def write_secret(self, name: str, data: dict[str, bytes], resource_version: str | None) -> None:
        """Create the Secret, or replace it if it is still at resource_version (else the API answers 409)."""
        metadata = {"name": name, "labels": {"app.kubernetes.io/part-of": "todo-microservices"}}
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata}
        body["data"] = {key: base64.b64encode(value).decode() for key, value in data.items()}
        if resource_version is None:
            self.call("POST", f"/api/v1/namespaces/{self.namespace}/secrets", body)
        else:
            metadata["resourceVersion"] = resource_version
            self.call("PUT", f"/api/v1/namespaces/{self.namespace}/secrets/{name}", body)

    def restart_deployment(self, name: str) -> None:
        """What `kubectl rollout restart` does: a new pod-template annotation, so pods are replaced one by one."""
        stamp = datetime.now(UTC).isoformat()
        patch = {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}}}
        path = f"/apis/apps/v1/namespaces/{self.namespace}/deployments/{name}"
        self.call("PATCH", path, patch, content_type="application/strategic-merge-patch+json")


def unpack(data: dict[str, str], directory: Path) -> None:
    """Lay the flat Secret out as the keyring folder docs/architecture.md describes."""
    (directory / "private").mkdir(mode=0o700)
    (directory / "public").mkdir()
    for key, value in data.items():
        content = base64.b64decode(value)
        kind, _, rest = key.partition(".")
        if kind in {"private", "public"} and rest.endswith(".pem"):
            (directory / kind / rest).write_bytes(content)
        else:
            (directory / key).write_bytes(content)


def pack(directory: Path) -> dict[str, bytes]:
    data = {name: (directory / name).read_bytes() for name in ("keyring.json", "jwks.json")}
    for kind in ("private", "public"):
        for pem in sorted((directory / kind).glob("*.pem")):
            data[f"{kind}.{pem.name}"] = pem.read_bytes()
    return data


def keyring_action(api: KubernetesApi, action: str) -> None:
    secret = api.secret(KEYRING_SECRET)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "keyring"
        directory.mkdir()
        if secret is not None:
            unpack(secret.get("data", {}), directory)
        before = pack(directory) if secret is not None else {}
        command = [sys.executable, "manage.py", "signing_keys", "--skip-checks", action]
        subprocess.run(command, check=True, env={**os.environ, "JWT_KEYS_DIR": str(directory)})
        after = pack(directory)
    if after == before:
        logger.info("the keyring in Secret %s is unchanged", KEYRING_SECRET)
        return
    version = secret["metadata"]["resourceVersion"] if secret is not None else None
    api.write_secret(KEYRING_SECRET, after, version)
    logger.info("wrote the keyring to Secret %s", KEYRING_SECRET)
    if secret is not None:
        api.restart_deployment(AUTH_DEPLOYMENT)
        logger.info("restarting Deployment %s to load it", AUTH_DEPLOYMENT)


def random_password() -> bytes:
    # Letters and digits only: the passwords go into database and broker URLs.
    return secrets.token_hex(24).encode()


def dev_secrets(api: KubernetesApi) -> None:
    """The dev overlay's database, broker and Django secrets, made once with random values."""
    auth_db, todo_db, broker = random_password(), random_password(), random_password()
    broker_url = b"amqp://todo-microservices:" + broker + b"@rabbitmq:5672/%2F"
    wanted = {
        "auth-postgres": {"POSTGRES_PASSWORD": auth_db},
        "todo-postgres": {"POSTGRES_PASSWORD": todo_db},
        "rabbitmq": {"RABBITMQ_DEFAULT_USER": b"todo-microservices", "RABBITMQ_DEFAULT_PASS": broker},
        "auth-secrets": {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50).encode(),
            "DATABASE_URL": b"postgres://auth:" + auth_db + b"@auth-postgres:5432/auth",
            "AMQP_URL": broker_url,
        },
        "todo-secrets": {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50).encode(),
            "DATABASE_URL": b"postgres://todo:" + todo_db + b"@todo-postgres:5432/todo",
            "AMQP_URL": broker_url,
        },
    }
    existing = [name for name in wanted if api.secret(name) is not None]
    if existing:
        # All or nothing: a password kept in one Secret and made anew in another would never match.
        logger.info("dev secrets already exist (%s): nothing to do", ", ".join(existing))
        return
    for name, data in wanted.items():
        api.write_secret(name, data, None)
        logger.info("created Secret %s", name)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    action = sys.argv[1] if len(sys.argv) > 1 else "ensure"
    api = KubernetesApi()
    if action == "dev-secrets":
        dev_secrets(api)
    elif action in KEYRING_ACTIONS:
        keyring_action(api, action)
    else:
        sys.exit(f"unknown action {action!r}: ensure, rotate, prune, list or dev-secrets")


if __name__ == "__main__":
    main()
