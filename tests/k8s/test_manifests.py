"""The rendered overlays: valid Kubernetes, hardened pods, sized containers, the compose images, the whole stack."""

import copy
import re

import kubernetes_validate
import pytest
import yaml
from manifests import KUBERNETES_VERSIONS, REPO, containers, custom_resource_problems, name_of, pod_spec, pods

COMPOSE = yaml.safe_load((REPO / "compose" / "docker-compose.yml").read_text())
WEB_DEPLOYMENTS = ("auth", "todo", "gateway")


def test_each_overlay_holds_the_whole_stack(overlay):
    name, objects = overlay
    names = {name_of(obj) for obj in objects}
    expected = {
        "Namespace/todo-microservices",
        "Deployment/gateway",
        "Deployment/auth",
        "Deployment/todo",
        "Deployment/auth-outbox-relay",
        "Deployment/todo-event-consumer",
        "Job/auth-migrate",
        "Job/todo-migrate",
        "Job/signing-keys-ensure",
        "Ingress/gateway",
        "NetworkPolicy/default-deny",
    }
    if name == "dev":
        expected |= {
            "StatefulSet/auth-postgres",
            "StatefulSet/todo-postgres",
            "StatefulSet/rabbitmq",
            "Job/dev-secrets",
        }
    assert expected <= names
    if name == "prod":
        assert not any(obj["kind"] == "StatefulSet" for obj in objects), "prod uses external servers"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas_in_strict_mode(overlay, version):
    _, objects = overlay
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            # A custom resource (an operator's): at least well formed.
            assert not custom_resource_problems(obj), f"{name_of(obj)}: {custom_resource_problems(obj)}"


def test_a_custom_resource_is_held_to_its_shape():
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": "auth-postgres"},
        "spec": {"instances": 1, "storage": {"size": "1Gi"}},
    }
    assert custom_resource_problems(cluster) == []
    assert custom_resource_problems({**cluster, "apiVersion": "v1"}) == [
        "apiVersion must be <group with a dot>/<version>"
    ]
    assert custom_resource_problems({k: v for k, v in cluster.items() if k != "spec"}) == ["no spec mapping"]


def test_strict_validation_refuses_a_misspelt_field(rendered):
    deployment = copy.deepcopy(next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/auth"))
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_object_is_in_the_namespace_labelled_for_the_restricted_pod_security_standard(overlay):
    _, objects = overlay
    namespace = next(obj for obj in objects if obj["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in objects:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == namespace["metadata"]["name"], name_of(obj)


def test_every_pod_runs_as_the_restricted_standard_asks(overlay):
    _, objects = overlay
    for workload, spec in pods(objects):
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, name_of(workload)
        assert pod_security["seccompProfile"]["type"] == "RuntimeDefault", name_of(workload)
        for container in containers(spec):
            security = container["securityContext"]
            where = f"{name_of(workload)} {container['name']}"
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert not security.get("capabilities", {}).get("add"), where


def test_only_the_signing_key_jobs_get_a_kubernetes_api_token(overlay):
    _, objects = overlay
    for workload, spec in pods(objects):
        if spec.get("automountServiceAccountToken", True):
            assert spec["serviceAccountName"] == "signing-keys", name_of(workload)


def test_every_container_has_memory_and_cpu_requests_and_limits(overlay):
    _, objects = overlay
    for workload, spec in pods(objects):
        for container in containers(spec):
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{name_of(workload)} {container['name']} {kind}"


def test_web_services_have_probes_an_autoscaler_and_a_disruption_budget(overlay):
    _, objects = overlay
    by_name = {name_of(obj): obj for obj in objects}
    for name in WEB_DEPLOYMENTS:
        main = by_name[f"Deployment/{name}"]["spec"]["template"]["spec"]["containers"][0]
        assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(main), name
        assert by_name[f"HorizontalPodAutoscaler/{name}"]["spec"]["scaleTargetRef"]["name"] == name
        assert (
            by_name[f"PodDisruptionBudget/{name}"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == name
        )
        assert by_name[f"Deployment/{name}"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_services_use_the_images_compose_builds(rendered):
    compose_images = {service["image"] for service in COMPOSE["services"].values() if "image" in service}
    for workload, spec in pods(rendered["dev"]):
        for container in containers(spec):
            assert container["image"] in compose_images | {"rabbitmq:4.1-alpine"}, name_of(workload)


def test_the_relay_and_the_consumer_run_their_management_commands_with_the_broker_url(overlay):
    _, objects = overlay
    by_name = {name_of(obj): obj for obj in objects}
    for name, command in (("auth-outbox-relay", "outbox_relay"), ("todo-event-consumer", "consume_events")):
        container = by_name[f"Deployment/{name}"]["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["python", "manage.py", command]
        assert "AMQP_URL" in {entry["name"] for entry in container["env"]}


def test_pods_wait_for_the_migration_job_instead_of_migrating_themselves(overlay):
    _, objects = overlay
    for obj in objects:
        spec = pod_spec(obj)
        if obj["kind"] != "Deployment" or obj["metadata"]["name"] == "gateway":
            continue
        commands = [" ".join(container.get("command", [])) for container in containers(spec)]
        assert any("migrate --check" in command for command in commands), name_of(obj)
        assert not any("migrate --noinput" in command for command in commands), name_of(obj)


def test_every_nginx_template_is_mounted_where_the_image_renders_it(rendered):
    gateway = next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/gateway")
    volume = next(v for v in gateway["spec"]["template"]["spec"]["volumes"] if v["name"] == "nginx-templates")
    mounted = {item["path"] for item in volume["configMap"]["items"]}
    templates = REPO / "nginx" / "templates"
    assert mounted == {str(path.relative_to(templates)) for path in templates.rglob("*.template")}
    config_map = next(obj for obj in rendered["dev"] if obj["metadata"]["name"] == volume["configMap"]["name"])
    for item in volume["configMap"]["items"]:
        assert config_map["data"][item["key"]] == (templates / item["path"]).read_text(), item["path"]


def test_the_token_check_script_is_mounted_beside_nginx_conf(rendered):
    gateway = next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/gateway")
    pod = gateway["spec"]["template"]["spec"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "nginx-njs")
    assert mount["mountPath"] == "/etc/nginx/njs"
    volume = next(v for v in pod["volumes"] if v["name"] == "nginx-njs")
    config_map = next(obj for obj in rendered["dev"] if obj["metadata"]["name"] == volume["configMap"]["name"])
    scripts = REPO / "nginx" / "njs"
    assert {item["path"] for item in volume["configMap"]["items"]} == {path.name for path in scripts.glob("*.js")}
    for item in volume["configMap"]["items"]:
        assert config_map["data"][item["key"]] == (scripts / item["path"]).read_text(), item["path"]


def test_the_gateway_expects_the_issuer_and_audience_of_the_auth_services_config(rendered):
    gateway = next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/gateway")
    env = {entry["name"]: entry for entry in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    auth_config = next(
        obj["metadata"]["name"]
        for obj in rendered["dev"]
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"].startswith("auth-config")
    )
    for name in ("JWT_ISSUER", "JWT_AUDIENCE", "JWT_LEEWAY"):
        reference = env[f"GATEWAY_{name}"]["valueFrom"]["configMapKeyRef"]
        assert reference == {"name": auth_config, "key": name}


def test_the_gateway_sets_every_variable_its_templates_use(rendered):
    gateway = next(obj for obj in rendered["dev"] if name_of(obj) == "Deployment/gateway")
    env = {entry["name"] for entry in gateway["spec"]["template"]["spec"]["containers"][0]["env"]}
    text = "".join(path.read_text() for path in (REPO / "nginx" / "templates").rglob("*.template"))
    used = set(re.findall(r"\$\{(GATEWAY_[A-Z0-9_]+)\}", text))
    assert used <= env, f"set these in k8s/base/gateway/deployment.yaml: {sorted(used - env)}"
