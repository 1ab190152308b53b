"""The Kubernetes dev overlay under `podman kube play`, on the images the compose test built: every pod up under its
security context, the gateway's ConfigMap templates and the keyring Secret in use, a user's journey through the
gateway pod, and `podman kube down` leaving nothing behind.

What podman 4.3 cannot run is changed in memory by tests/compose/kube_play.py, one named function per change, and
listed in docs/kubernetes.md ("Under podman kube play"). The tests run in file order on one play: the tear-down
comes last.
"""

import ipaddress
import json
import secrets
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import kube_play
import pytest
import requests
from compose_stack import PASSWORD, REPO, STANDINS_SCRIPT, free_port, free_subnet, podman, podman_env, say

# The names the manifests and the compose file give the service images; podman finds the images compose built by them.
AUTH_IMAGE = "todo-microservices/auth:local"
TODO_IMAGE = "todo-microservices/todo:local"
# The dev overlay's Ingress host (k8s/overlays/dev): what a browser sends through kind's or minikube's ingress.
PUBLIC_HOST = "todo.localtest.me"


@dataclass
class KubePlay:
    """One play of the dev overlay: its names' prefix, its file, the gateway's port and its network."""

    prefix: str
    plan: kube_play.PlayPlan
    kube_file: Path
    network: str
    gateway_port: int
    start_seconds: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def pods(self) -> list[dict]:
        listed = podman("pod", "ps", "--filter", f"name=^{self.prefix}-", "--format", "json").stdout
        return json.loads(listed or "[]")

    def containers(self) -> dict[str, dict]:
        """Every container of the play (infra containers aside), by name, as `podman inspect` reports it."""
        names = podman("ps", "--all", "--filter", f"name=^{self.prefix}-", "--format", "{{.Names}}").stdout.split()
        names = [name for name in names if not name.endswith("-infra")]
        if not names:
            return {}
        return {item["Name"]: item for item in json.loads(podman("container", "inspect", *names).stdout)}

    def leftovers(self) -> dict[str, list[str]]:
        """Whatever podman still holds under this play's prefix."""
        named = f"name=^{self.prefix}-"
        return {
            "pods": [pod["Name"] for pod in self.pods()],
            "containers": podman("ps", "--all", "--filter", named, "--format", "{{.Names}}").stdout.split(),
            "volumes": podman("volume", "ls", "--filter", named, "--format", "{{.Name}}").stdout.split(),
            "secrets": [
                name
                for name in podman("secret", "ls", "--format", "{{.Name}}").stdout.split()
                if name.startswith(f"{self.prefix}-")
            ],
        }


def _send(play: KubePlay, method: str, path: str, **kwargs) -> requests.Response:
    """A request through the gateway pod, as the Ingress would pass it on (with the Ingress host)."""
    headers = {"Host": PUBLIC_HOST, **kwargs.pop("headers", {})}
    return requests.request(method, f"{play.url}{path}", headers=headers, timeout=10, **kwargs)


def _get(play: KubePlay, path: str, **kwargs) -> requests.Response:
    return _send(play, "GET", path, **kwargs)


def _ensure_images() -> None:
    """The stand-ins (cached) and both service images: reused when the compose test built them, else built."""
    standins = ("postgres:15-bookworm", "nginx:1.28-alpine", "python:3.11-slim-bookworm")
    command = [sys.executable, str(STANDINS_SCRIPT), *standins]
    prepared = subprocess.run(command, env=podman_env(), text=True, check=False)
    if prepared.returncode != 0:
        pytest.fail("building the stand-in images failed (output above)")
    for image, project in ((AUTH_IMAGE, "auth_project"), (TODO_IMAGE, "todo_project")):
        if podman("image", "exists", image, check=False).returncode != 0:
            say(f"building {image} from {project}/Dockerfile (the compose test did not run first)")
            podman("build", "--pull=never", "--tag", image, str(REPO / project), timeout=900)


def _wait_until_the_gateway_serves_both_services(play: KubePlay, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = ["/healthz", "/auth/health/", "/todos/health/"]
    while pending:
        try:
            if _get(play, pending[0]).status_code == HTTPStatus.OK:
                pending.pop(0)
                continue
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            logs = "\n".join(
                f"--- {name}\n{podman('logs', '--tail', '20', name, check=False).stdout}"
                f"{podman('logs', '--tail', '20', name, check=False).stderr}"
                for name in play.containers()
            )
            raise AssertionError(f"{pending[0]} did not answer 200 through the gateway within {timeout:.0f} s\n{logs}")
        time.sleep(1)


def _remove_everything(play: KubePlay) -> None:
    podman("kube", "down", str(play.kube_file), check=False, timeout=120)
    for pod in play.pods():
        podman("pod", "rm", "--force", pod["Name"], check=False, timeout=120)
    left = play.leftovers()
    if left["volumes"]:
        podman("volume", "rm", "--force", *left["volumes"], check=False)
    if left["secrets"]:
        podman("secret", "rm", *left["secrets"], check=False)
    podman("network", "rm", "--force", play.network, check=False)
    shutil.rmtree(Path("/dev/shm") / play.prefix, ignore_errors=True)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubePlay]:
    if not kube_play.KUBECTL.exists():
        pytest.skip("kube play skipped: no pinned kubectl in .venvs/k8s (make test-compose installs it)")
    if shutil.which("catatonit") is None:
        pytest.skip("kube play skipped: catatonit, podman's pause process for pods, is missing (.ci/run installs it)")
    say("kube play: stand-in and service images (reused when built)")
    _ensure_images()
    prefix = f"tm-kube-{secrets.token_hex(3)}"
    host_dir = tmp_path_factory.mktemp("kube-play")
    # In 10.0.0.0/8, the pod network the services' TRUSTED_PROXY_IPS names (k8s/base/*/*.env).
    subnet = free_subnet(ipaddress.ip_network("10.0.0.0/8"))
    gateway_port = free_port()
    plan = kube_play.prepare(prefix, host_dir, subnet, gateway_port)
    kube_file = host_dir / "dev-overlay.yaml"
    play = KubePlay(prefix=prefix, plan=plan, kube_file=kube_file, network=f"{prefix}-net", gateway_port=gateway_port)
    play.kube_file.write_text(plan.yaml())
    try:
        say(f"kube play: the dev overlay's Secrets as its Jobs would make them (prefix {prefix})")
        made = kube_play.job_secrets(AUTH_IMAGE, "dev-secrets") | kube_play.job_secrets(AUTH_IMAGE, "ensure")
        for name, data in made.items():
            kube_play.store_secret(f"{prefix}-{name}", data, as_volume=name == "auth-signing-keys", scratch=host_dir)
        podman("network", "create", "--subnet", str(subnet), play.network)
        say(f"kube play: {len(plan.workloads())} pods on {subnet}, gateway on 127.0.0.1:{play.gateway_port}")
        started = time.monotonic()
        ips = [arg for name in plan.pod_ips for arg in ("--ip", plan.pod_ips[name])]
        podman("kube", "play", "--network", play.network, *ips, str(play.kube_file), timeout=600)
        _wait_until_the_gateway_serves_both_services(play, timeout=300)
        play.start_seconds = time.monotonic() - started
        say(f"kube play: the dev overlay up and serving through the gateway pod in {play.start_seconds:.1f} s")
        yield play
    finally:
        say(f"kube play: taking {prefix} down")
        _remove_everything(play)


def _register_and_login(play: KubePlay, username: str) -> dict[str, str]:
    registered = _send(
        play,
        "POST",
        "/auth/register/",
        json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.text
    login = _send(play, "POST", "/auth/login/", json={"username": username, "password": PASSWORD})
    assert login.status_code == HTTPStatus.OK, login.text
    return login.json()


def _bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access']}"}


def test_every_workload_of_the_dev_overlay_runs_under_kube_play(kube: KubePlay):
    states = {pod["Name"]: pod["Status"] for pod in kube.pods()}
    for workload in kube.plan.workloads():
        name = workload["metadata"]["name"]
        if workload["kind"] == "Pod":
            # The migration Jobs, run once as pods: their container exited 0.
            migrate = kube.containers()[f"{name}-migrate"]
            assert (migrate["State"]["Status"], migrate["State"]["ExitCode"]) == ("exited", 0), name
        else:
            assert states[f"{name}-pod-0"] == "Running", name
    say(f"kube play: not exercised (dropped or replaced): {', '.join(kube.plan.dropped)}")
    say(f"kube play: start time (kube play to both services answering through the gateway): {kube.start_seconds:.1f} s")


def test_every_container_runs_as_its_manifests_non_root_user_on_a_read_only_root(kube: KubePlay):
    wanted = {}
    for workload in kube.plan.workloads():
        spec = kube_play.pod_spec(workload)
        pod = workload["metadata"]["name"] if workload["kind"] == "Pod" else f"{workload['metadata']['name']}-pod-0"
        # podman removes init containers once they succeed; the keyring test shows theirs ran as the pod's user.
        for container in spec["containers"]:
            wanted[f"{pod}-{container['name']}"] = spec["securityContext"]
    inspected = kube.containers()
    assert set(inspected) == set(wanted)
    for name, context in wanted.items():
        config, host = inspected[name]["Config"], inspected[name]["HostConfig"]
        assert config["User"] == f"{context['runAsUser']}:{context['runAsGroup']}", name
        assert context["runAsUser"] != 0
        assert host["ReadonlyRootfs"] is True, name
        assert inspected[name]["EffectiveCaps"] in (None, []), name
        assert "no-new-privileges" in host["SecurityOpt"], name
    for name, container in inspected.items():
        if container["State"]["Status"] != "running":
            continue
        uid = podman("exec", name, "id", "-u").stdout.strip()
        assert uid == str(wanted[name]["runAsUser"]), name
        written = podman("exec", name, "touch", "/written-to-the-root", check=False)
        assert written.returncode != 0, name
        assert "Read-only file system" in written.stderr, name


def test_the_gateway_renders_the_config_maps_templates_into_its_config(kube: KubePlay):
    gateway = f"{kube.prefix}-gateway-pod-0-nginx"
    rendered = podman("exec", gateway, "find", "/etc/nginx/conf.d", "-type", "f").stdout.split()
    templates = sorted((REPO / "nginx" / "templates").rglob("*.template"))
    expected = {f"/etc/nginx/conf.d/{t.relative_to(REPO / 'nginx' / 'templates').with_suffix('')}" for t in templates}
    assert set(rendered) == expected
    upstreams = podman("exec", gateway, "cat", "/etc/nginx/conf.d/upstreams.conf").stdout
    assert "server auth:8001" in upstreams
    assert "${" not in upstreams


def test_the_auth_pod_signs_with_the_key_of_the_keyring_secret(kube: KubePlay):
    auth = f"{kube.prefix}-auth-pod-0-auth"
    keyring = json.loads(podman("exec", auth, "cat", "/keyring/keyring.json").stdout)
    modes = podman("exec", auth, "stat", "-c", "%a %U", f"/keyring/private/{keyring['active_kid']}.pem").stdout
    assert modes.split() == ["600", "app"]
    jwks = _get(kube, "/auth/.well-known/jwks.json")
    assert jwks.status_code == HTTPStatus.OK
    assert [key["kid"] for key in jwks.json()["keys"]] == [keyring["active_kid"]]


def test_a_user_registers_logs_in_manages_todos_refreshes_and_logs_out_through_the_gateway_pod(kube: KubePlay):
    username = f"kube-{uuid.uuid4().hex[:8]}"
    tokens = _register_and_login(kube, username)
    me = _get(kube, "/auth/me/", headers=_bearer(tokens))
    assert me.status_code == HTTPStatus.OK
    assert me.json()["username"] == username

    created = _send(kube, "POST", "/todos/", json={"title": "Buy milk"}, headers=_bearer(tokens))
    assert created.status_code == HTTPStatus.CREATED, created.text
    todo = created.json()
    listed = _get(kube, "/todos/", headers=_bearer(tokens))
    assert [item["id"] for item in listed.json()["results"]] == [todo["id"]]
    updated = _send(kube, "PATCH", f"/todos/{todo['id']}/", json={"completed": True}, headers=_bearer(tokens))
    assert updated.status_code == HTTPStatus.OK, updated.text
    assert updated.json()["completed"] is True
    deleted = _send(kube, "DELETE", f"/todos/{todo['id']}/", headers=_bearer(tokens))
    assert deleted.status_code == HTTPStatus.NO_CONTENT
    gone = _get(kube, f"/todos/{todo['id']}/", headers=_bearer(tokens))
    assert gone.status_code == HTTPStatus.NOT_FOUND
    assert gone.headers["Content-Type"].startswith("application/json")

    refreshed = _send(kube, "POST", "/auth/refresh/", json={"refresh": tokens["refresh"]})
    assert refreshed.status_code == HTTPStatus.OK, refreshed.text
    new_tokens = refreshed.json()
    reused = _send(kube, "POST", "/auth/refresh/", json={"refresh": tokens["refresh"]})
    assert reused.status_code == HTTPStatus.UNAUTHORIZED, "a used refresh token is blacklisted"

    logout = _send(kube, "POST", "/auth/logout/", json={"refresh": new_tokens["refresh"]}, headers=_bearer(new_tokens))
    assert logout.status_code == HTTPStatus.NO_CONTENT, logout.text
    after_logout = _send(kube, "POST", "/auth/refresh/", json={"refresh": new_tokens["refresh"]})
    assert after_logout.status_code == HTTPStatus.UNAUTHORIZED


def test_a_user_can_neither_see_nor_change_another_users_todos_through_the_gateway_pod(kube: KubePlay):
    alice = _register_and_login(kube, f"kube-alice-{uuid.uuid4().hex[:8]}")
    bob = _register_and_login(kube, f"kube-bob-{uuid.uuid4().hex[:8]}")
    created = _send(kube, "POST", "/todos/", json={"title": "Alice's"}, headers=_bearer(alice))
    assert created.status_code == HTTPStatus.CREATED, created.text
    path = f"/todos/{created.json()['id']}/"

    assert _get(kube, "/todos/", headers=_bearer(bob)).json()["count"] == 0
    assert _get(kube, path, headers=_bearer(bob)).status_code == HTTPStatus.NOT_FOUND
    assert _send(kube, "PATCH", path, json={"title": "Bob's"}, headers=_bearer(bob)).status_code == HTTPStatus.NOT_FOUND
    assert _send(kube, "DELETE", path, headers=_bearer(bob)).status_code == HTTPStatus.NOT_FOUND
    assert _get(kube, path, headers=_bearer(alice)).json()["title"] == "Alice's"


def test_kube_down_removes_every_pod_and_the_rest_is_removed_by_name(kube: KubePlay):
    podman("kube", "down", str(kube.kube_file), timeout=120)
    left = kube.leftovers()
    assert left["pods"] == []
    assert left["containers"] == []
    # podman 4.3's kube down keeps the claims' volumes, the Secret volume and the stored Secrets (as a cluster keeps
    # PersistentVolumeClaims and Secrets when a Deployment goes): they carry the play's prefix, so they go by name.
    claims = {f"{kube.prefix}-data-{name}-postgres-0" for name in ("auth", "todo")}
    assert claims <= set(left["volumes"])
    _remove_everything(kube)
    assert kube.leftovers() == {"pods": [], "containers": [], "volumes": [], "secrets": []}
    assert podman("network", "exists", kube.network, check=False).returncode != 0
