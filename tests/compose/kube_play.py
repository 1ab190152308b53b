"""The rendered dev overlay, made playable by podman 4.3's `kube play`: each change is one named function here.

Every change is something a cluster would do that podman does not, or a podman 4.3 bug worked around, and so
something `make test-compose` does not exercise; docs/kubernetes.md lists them. The committed manifests are
never changed: only the objects `kubectl kustomize k8s/overlays/dev` renders, in memory.
"""

import base64
import copy
import ipaddress
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from compose_stack import REPO, podman

DEV_OVERLAY = REPO / "k8s" / "overlays" / "dev"
KUBECTL = REPO / ".venvs" / "k8s" / "bin" / "kubectl"
SIGNING_KEYS_SCRIPT = REPO / "k8s" / "base" / "signing-keys" / "signing_keys_secret.py"
# What `podman kube play` 4.3 runs: Pods, Deployments and PersistentVolumeClaims, with the ConfigMaps of the same
# file. Everything else it skips without a word, so the test drops it and lists it.
PLAYABLE_KINDS = {"Pod", "Deployment", "PersistentVolumeClaim", "ConfigMap"}
# Jobs that call the Kubernetes API (there is none under podman): the test runs their command itself, in their
# image, with the API client replaced by a recorder, and stores the Secrets they would write.
API_JOBS = ("dev-secrets", "signing-keys-ensure")
# Workloads left out: the broker's image (rabbitmq:4.1-alpine) has no stand-in that runs under the pod's restricted
# security context (uid 999, read-only root), and the journey needs no events; the relay and the consumer only
# talk to it.
WITHOUT_BROKER = ("rabbitmq", "auth-outbox-relay", "todo-event-consumer")

# Run inside the auth image: the Job script's own code, with a recorder where it would call the API server.
_JOB_DRIVER = """
import base64, json, sys
sys.path.insert(0, "/opt/signing-keys")
import signing_keys_secret as job

class Recorder:
    written = {}
    def secret(self, name):
        return None
    def write_secret(self, name, data, resource_version):
        self.written[name] = {key: base64.b64encode(value).decode() for key, value in data.items()}
    def restart_deployment(self, name):
        pass

api = Recorder()
job.dev_secrets(api) if sys.argv[1] == "dev-secrets" else job.keyring_action(api, sys.argv[1])
print(json.dumps(api.written))
"""


def render_dev_overlay() -> list[dict]:
    """`kubectl kustomize k8s/overlays/dev` with the pinned kubectl of .venvs/k8s."""
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(DEV_OVERLAY)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {DEV_OVERLAY} failed:\n{result.stderr}")
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def name_of(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_spec(obj: dict) -> dict | None:
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] in {"Deployment", "StatefulSet", "Job"}:
        return obj["spec"]["template"]["spec"]
    return None


def all_containers(spec: dict) -> Iterator[dict]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


@dataclass
class PlayPlan:
    """The rendered overlay on its way to `kube play`, and what each change dropped or replaced."""

    prefix: str
    host_dir: Path
    objects: list[dict]
    services: list[dict] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    pod_ips: dict[str, str] = field(default_factory=dict)

    def workloads(self) -> list[dict]:
        return [obj for obj in self.objects if obj["kind"] in {"Deployment", "Pod"}]

    def yaml(self) -> str:
        return yaml.safe_dump_all(self.objects, sort_keys=False)


def keep_only_what_podman_plays(plan: PlayPlan) -> None:
    """podman 4.3 skips Services, Ingress, NetworkPolicies, HPAs, PDBs, RBAC, the Namespace and CronJobs."""
    plan.services = [obj for obj in plan.objects if obj["kind"] == "Service"]
    kept = []
    for obj in plan.objects:
        if obj["kind"] in PLAYABLE_KINDS | {"StatefulSet", "Job"}:
            kept.append(obj)
        else:
            plan.dropped.append(name_of(obj))
    plan.objects = kept


def leave_out_the_broker(plan: PlayPlan) -> None:
    """No RabbitMQ (see WITHOUT_BROKER): the relay and the consumer would only wait for it."""
    plan.dropped += [name_of(obj) for obj in plan.objects if obj["metadata"]["name"] in WITHOUT_BROKER]
    plan.objects = [obj for obj in plan.objects if obj["metadata"]["name"] not in WITHOUT_BROKER]


def leave_out_the_api_jobs(plan: PlayPlan) -> None:
    """The Jobs that write Secrets through the API server: their Secrets come from `job_secrets` instead."""
    plan.dropped += [f"Job/{name} (its Secrets made by the test)" for name in API_JOBS]
    plan.objects = [obj for obj in plan.objects if not (obj["kind"] == "Job" and obj["metadata"]["name"] in API_JOBS)]


def jobs_as_pods(plan: PlayPlan) -> None:
    """podman 4.3 has no Jobs: the migration Jobs run as Pods with the Job's template (restartPolicy OnFailure),
    placed before the Deployments whose init containers wait for them."""
    pods, others = [], []
    for obj in plan.objects:
        if obj["kind"] == "Job":
            template = obj["spec"]["template"]
            metadata = {"name": obj["metadata"]["name"], "labels": template["metadata"].get("labels", {})}
            pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template["spec"]})
        else:
            others.append(obj)
    first_workload = next(i for i, obj in enumerate(others) if obj["kind"] in {"Deployment", "StatefulSet"})
    plan.objects = others[:first_workload] + pods + others[first_workload:]


def statefulsets_as_deployments(plan: PlayPlan) -> None:
    """podman 4.3 has no StatefulSets: each becomes a Deployment of one pod, and each volumeClaimTemplate a
    PersistentVolumeClaim (which podman makes a named volume) that the pod's volume names."""
    converted = []
    for obj in plan.objects:
        if obj["kind"] != "StatefulSet":
            converted.append(obj)
            continue
        spec = copy.deepcopy(obj["spec"])
        name = obj["metadata"]["name"]
        for claim in spec.pop("volumeClaimTemplates", []):
            claim_name = f"{claim['metadata']['name']}-{name}-0"
            converted.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim_name},
                    "spec": claim["spec"],
                }
            )
            volume = {"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}}
            spec["template"]["spec"].setdefault("volumes", []).append(volume)
        for key in ("serviceName", "podManagementPolicy", "updateStrategy"):
            spec.pop(key, None)
        converted.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": obj["metadata"], "spec": spec})
    # Claims first, servers before the services that need them: podman starts pods in file order.
    claims = [obj for obj in converted if obj["kind"] == "PersistentVolumeClaim"]
    rest = [obj for obj in converted if obj["kind"] != "PersistentVolumeClaim"]
    servers = [obj for obj in rest if obj["metadata"]["name"].endswith("-postgres")]
    plan.objects = claims + servers + [obj for obj in rest if obj not in servers]


def names_of_this_run(plan: PlayPlan) -> None:
    """podman's pods, volumes and secrets are machine-wide: every name gets the run's prefix, and so does every
    reference to one (ConfigMaps, Secrets, claims). Service names stay: they are host names inside the pods."""

    def prefixed(name: str) -> str:
        return f"{plan.prefix}-{name}"

    for obj in plan.objects:
        obj["metadata"]["name"] = prefixed(obj["metadata"]["name"])
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in all_containers(spec):
            for source in container.get("envFrom", []):
                for ref in ("configMapRef", "secretRef"):
                    if ref in source:
                        source[ref]["name"] = prefixed(source[ref]["name"])
            for variable in container.get("env", []):
                for ref in ("configMapKeyRef", "secretKeyRef"):
                    if ref in variable.get("valueFrom", {}):
                        variable["valueFrom"][ref]["name"] = prefixed(variable["valueFrom"][ref]["name"])
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                volume["configMap"]["name"] = prefixed(volume["configMap"]["name"])
            if "secret" in volume:
                volume["secret"]["secretName"] = prefixed(volume["secret"]["secretName"])
            if "persistentVolumeClaim" in volume:
                claim = volume["persistentVolumeClaim"]
                claim["claimName"] = prefixed(claim["claimName"])


def services_as_host_aliases(plan: PlayPlan, subnet: ipaddress.IPv4Network) -> None:
    """No Services under podman: each pod gets a fixed address on the test's network (`kube play --ip`, in file
    order), and every pod gets each Service's name as a host alias for the address of the one pod it selects."""
    addresses = iter(list(subnet.hosts())[9:])
    for workload in plan.workloads():
        plan.pod_ips[workload["metadata"]["name"]] = str(next(addresses))
    aliases: dict[str, list[str]] = {}
    for service in plan.services:
        selector = service["spec"]["selector"]
        chosen = [
            workload
            for workload in plan.workloads()
            if workload["kind"] == "Deployment"
            and selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
        ]
        if not chosen:
            continue
        assert len(chosen) == 1, f"Service {service['metadata']['name']} selects {len(chosen)} workloads"
        aliases.setdefault(plan.pod_ips[chosen[0]["metadata"]["name"]], []).append(service["metadata"]["name"])
    host_aliases = [{"ip": ip, "hostnames": names} for ip, names in sorted(aliases.items())]
    for workload in plan.workloads():
        pod_spec(workload)["hostAliases"] = host_aliases


def empty_dirs_as_host_folders(plan: PlayPlan) -> None:
    """podman 4.3 makes an emptyDir an anonymous volume owned like the image's folder (root for nginx's conf.d),
    where the kubelet makes it world-writable: each becomes a fresh host folder of mode 1777 (in /dev/shm for
    `medium: Memory`, as the kubelet uses tmpfs)."""
    for workload in plan.workloads():
        for volume in pod_spec(workload).get("volumes", []):
            if "emptyDir" not in volume:
                continue
            in_memory = volume["emptyDir"].get("medium") == "Memory"
            root = Path("/dev/shm") / plan.prefix if in_memory else plan.host_dir / "empty-dirs"
            folder = root / workload["metadata"]["name"] / volume["name"]
            folder.mkdir(parents=True)
            folder.chmod(0o1777)
            del volume["emptyDir"]
            volume["hostPath"] = {"path": str(folder), "type": "Directory"}


def config_map_files_as_host_folders(plan: PlayPlan) -> None:
    """podman 4.3 writes a ConfigMap volume's items flat (an item in a subfolder fails) and has no subPath: the
    gateway's nginx.conf and templates are laid out in host folders exactly as the kubelet lays them out."""
    config_maps = {obj["metadata"]["name"]: obj for obj in plan.objects if obj["kind"] == "ConfigMap"}
    for workload in plan.workloads():
        spec = pod_spec(workload)
        awkward = set()
        for container in all_containers(spec):
            awkward |= {mount["name"] for mount in container.get("volumeMounts", []) if "subPath" in mount}
        for volume in spec.get("volumes", []):
            items = volume.get("configMap", {}).get("items", [])
            if any("/" in item["path"] for item in items):
                awkward.add(volume["name"])
        for volume in spec.get("volumes", []):
            if volume["name"] not in awkward or "configMap" not in volume:
                continue
            data = config_maps[volume["configMap"]["name"]]["data"]
            items = volume["configMap"].get("items") or [{"key": key, "path": key} for key in data]
            folder = plan.host_dir / "config-maps" / workload["metadata"]["name"] / volume["name"]
            for item in items:
                path = folder / item["path"]
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(data[item["key"]])
                path.chmod(0o644)
            for directory in [folder, *folder.rglob("*")]:
                if directory.is_dir():
                    directory.chmod(0o755)
            del volume["configMap"]
            volume["hostPath"] = {"path": str(folder), "type": "Directory"}
        for container in all_containers(spec):
            for mount in container.get("volumeMounts", []):
                if "subPath" in mount:
                    volume = next(item for item in spec["volumes"] if item["name"] == mount["name"])
                    volume_path = Path(volume["hostPath"]["path"]) / mount.pop("subPath")
                    # A volume of its own for the one file, since podman cannot mount part of a volume.
                    file_volume = f"{mount['name']}-{volume_path.name.replace('.', '-')}"
                    host_file = {"path": str(volume_path), "type": "File"}
                    spec["volumes"].append({"name": file_volume, "hostPath": host_file})
                    mount["name"] = file_volume


def secret_volumes_not_optional(plan: PlayPlan) -> None:
    """podman 4.3 dereferences a Secret volume's `optional` without a default (containers/podman#16636): it is
    set to false, Kubernetes' own default."""
    for workload in plan.workloads():
        for volume in pod_spec(workload).get("volumes", []):
            if "secret" in volume:
                volume["secret"].setdefault("optional", False)


def postgres_as_the_standins_user(plan: PlayPlan) -> None:
    """The postgres stand-in's data and socket folders belong to Debian's postgres user, not the official
    image's uid 999 that the manifests name; PostgreSQL's initdb refuses a uid without a passwd entry."""
    for workload in plan.workloads():
        spec = pod_spec(workload)
        image = spec["containers"][0]["image"]
        if image.startswith("postgres:"):
            command = ("run", "--rm", "--entrypoint", "id", image)
            uid, gid = (int(podman(*command, flag, "postgres").stdout) for flag in ("-u", "-g"))
            spec["securityContext"].update(runAsUser=uid, runAsGroup=gid, fsGroup=gid)


def init_containers_run_once(plan: PlayPlan) -> None:
    """podman 4.3 gives init containers their pod's restart policy: under a Deployment's `Always` it restarts an
    init container that succeeded, then fails to remove it. The Deployments' pods restart on failure instead,
    which still restarts a main container that crashes."""
    for workload in plan.workloads():
        if workload["kind"] == "Deployment" and pod_spec(workload).get("initContainers"):
            pod_spec(workload)["restartPolicy"] = "OnFailure"


def publish_only_the_gateway(plan: PlayPlan, port: int) -> None:
    """podman 4.3 publishes every containerPort on every host address at the same port (PostgreSQL's 5432 would
    meet the machine's own), where a cluster publishes none: the ports go, except the gateway's, which stands in
    for the Ingress on 127.0.0.1 and a free port."""
    gateway = f"{plan.prefix}-gateway"
    for workload in plan.workloads():
        for container in all_containers(pod_spec(workload)):
            ports = container.pop("ports", [])
            if workload["metadata"]["name"] == gateway and ports:
                container["ports"] = [{**ports[0], "hostPort": port, "hostIP": "127.0.0.1"}]
    assert any(workload["metadata"]["name"] == gateway for workload in plan.workloads()), "no gateway Deployment"


def prepare(prefix: str, host_dir: Path, subnet: ipaddress.IPv4Network, gateway_port: int) -> PlayPlan:
    """Every change above, in order, on a fresh render of the dev overlay."""
    plan = PlayPlan(prefix=prefix, host_dir=host_dir, objects=render_dev_overlay())
    keep_only_what_podman_plays(plan)
    leave_out_the_broker(plan)
    leave_out_the_api_jobs(plan)
    jobs_as_pods(plan)
    statefulsets_as_deployments(plan)
    names_of_this_run(plan)
    services_as_host_aliases(plan, subnet)
    empty_dirs_as_host_folders(plan)
    config_map_files_as_host_folders(plan)
    secret_volumes_not_optional(plan)
    postgres_as_the_standins_user(plan)
    init_containers_run_once(plan)
    publish_only_the_gateway(plan, gateway_port)
    return plan


def job_secrets(auth_image: str, action: str) -> dict[str, dict[str, bytes]]:
    """The Secrets a signing-keys Job writes, made by running its command's own code in its image, as its user,
    on a read-only root, with a recorder in place of the API server."""
    result = podman(
        "run", "--rm", "--network", "none", "--user", "10001:10001", "--read-only", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--tmpfs", "/tmp", "--tmpfs", "/app/var",
        "--env", "DJANGO_SETTINGS_MODULE=config.settings.local",
        "--volume", f"{SIGNING_KEYS_SCRIPT.parent}:/opt/signing-keys:ro",
        "--entrypoint", "python", auth_image, "-c", _JOB_DRIVER, action,
        timeout=120,
    )  # fmt: skip
    written = json.loads(result.stdout.strip().splitlines()[-1])
    return {name: {key: base64.b64decode(value) for key, value in data.items()} for name, data in written.items()}


def store_secret(name: str, data: dict[str, bytes], *, as_volume: bool, scratch: Path) -> None:
    """A Secret in podman's store, in the shape podman 4.3 reads it: `secretKeyRef` wants a JSON map of base64
    values (a Secret played from YAML is unreadable there, containers/podman#16269); a Secret volume wants a
    Secret document whose `data` it writes to files as it is, without decoding."""
    if as_volume:
        document = {"apiVersion": "v1", "kind": "Secret", "data": {key: value.decode() for key, value in data.items()}}
    else:
        document = {key: base64.b64encode(value).decode() for key, value in data.items()}
    source = scratch / f"{name}.json"
    source.touch(mode=0o600)
    source.write_text(json.dumps(document))
    try:
        podman("secret", "create", name, str(source))
    finally:
        source.unlink()
