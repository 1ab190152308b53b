"""Static checks of compose's observability profile: pinned images, config files that parse, scrape targets and
exporters that name real services and ports, and a dashboard whose queries use metrics the services export."""

import json
import re
import shutil
import subprocess

import pytest
import yaml
from container_files import COMPOSE_FILE, REPO

PROFILE = ("nginx-exporter", "prometheus", "grafana", "otel-collector", "jaeger")
OBSERVABILITY = REPO / "observability"
COMPOSE_DIR = COMPOSE_FILE.parent
DASHBOARD = OBSERVABILITY / "grafana" / "dashboards" / "todo-microservices.json"
# Where each scraped process serves its metrics in compose (METRICS_BIND, and the exporter's default).
METRICS_PORTS = {"auth": 9100, "todo": 9100, "auth-relay": 9100, "todo-consumer": 9100, "nginx-exporter": 9113}
PROMQL_FUNCTIONS = {"sum", "rate", "max", "histogram_quantile", "by"}


def bind_sources(service: dict) -> dict[str, str]:
    """Container path -> file or folder of the repository, for each bind mount."""
    return {
        mount["target"]: str((COMPOSE_DIR / mount["source"]).resolve().relative_to(REPO))
        for mount in service.get("volumes", [])
        if mount.get("type") == "bind"
    }


def documented_metrics() -> set[str]:
    text = (REPO / "docs" / "observability.md").read_text()
    return set(re.findall(r"^\| `([a-z_]+)`", text, re.M)) | {"nginx_http_requests_total", "nginx_connections_active"}


def test_every_observability_service_is_in_the_profile_only(services):
    for name in PROFILE:
        assert services[name]["profiles"] == ["observability"], name
    others = [name for name, service in services.items() if name not in PROFILE and service.get("profiles")]
    assert others == []


@pytest.mark.parametrize("name", PROFILE)
def test_each_observability_image_is_pinned_to_a_version(services, name):
    repository, _, tag = services[name]["image"].rpartition(":")
    assert repository
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: pin an exact version, not {tag!r}"


@pytest.mark.parametrize("name", ["prometheus", "grafana", "jaeger"])
def test_the_web_interfaces_are_published_on_the_hosts_loopback_only(services, name):
    for port in services[name]["ports"]:
        assert port.startswith("127.0.0.1:"), port


def test_every_bind_mounted_file_exists(services):
    for name in PROFILE:
        for target, source in bind_sources(services[name]).items():
            assert (REPO / source).exists(), f"{name}: {source} (mounted at {target}) is missing"


def test_every_scrape_target_is_a_service_on_the_port_it_serves_metrics_on(services):
    config = yaml.safe_load((COMPOSE_DIR / "observability" / "prometheus.yml").read_text())
    targets = [
        target for job in config["scrape_configs"] for group in job["static_configs"] for target in group["targets"]
    ]
    scraped = {host: int(port) for host, port in (target.rsplit(":", 1) for target in targets)}

    assert scraped == METRICS_PORTS
    for service in ("auth", "todo", "auth-relay", "todo-consumer"):
        assert services[service]["environment"]["METRICS_BIND"] == "0.0.0.0:9100"
    assert {job["job_name"] for job in config["scrape_configs"]} == {"auth", "todo", "relay", "consumer", "nginx"}


def test_prometheus_loads_the_repositorys_alert_rules(services):
    config = yaml.safe_load((COMPOSE_DIR / "observability" / "prometheus.yml").read_text())
    mounts = bind_sources(services["prometheus"])

    assert [mounts[path] for path in config["rule_files"]] == ["observability/prometheus/alerts.yml"]
    assert mounts["/etc/prometheus/prometheus.yml"] == "compose/observability/prometheus.yml"


def test_promtool_accepts_the_compose_prometheus_configuration(tmp_path):
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    config = yaml.safe_load((COMPOSE_DIR / "observability" / "prometheus.yml").read_text())
    shutil.copyfile(OBSERVABILITY / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    config["rule_files"] = [str(tmp_path / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))

    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True, text=True, timeout=60
    )

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_collector_receives_otlp_http_and_exports_to_jaeger(services):
    config = yaml.safe_load((COMPOSE_DIR / "observability" / "otel-collector.yaml").read_text())
    pipeline = config["service"]["pipelines"]["traces"]
    exporter = config["exporters"][pipeline["exporters"][0]]

    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert exporter["endpoint"].split(":")[0] in services
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"
    assert services["otel-collector"]["command"] == ["--config=/etc/otelcol-contrib/config.yaml"]
    assert "/etc/otelcol-contrib/config.yaml" in bind_sources(services["otel-collector"])


def test_the_exporter_reads_the_gateways_stub_status_which_the_gateway_serves(services):
    stub_status = (COMPOSE_DIR / "observability" / "stub_status.conf").read_text()
    port = re.search(r"listen (\d+);", stub_status).group(1)

    assert f"--nginx.scrape-uri=http://gateway:{port}/stub_status" in services["nginx-exporter"]["command"]
    assert bind_sources(services["gateway"])["/etc/nginx/conf.d/stub_status.conf"] == (
        "compose/observability/stub_status.conf"
    )


def test_grafana_provisions_both_data_sources_and_the_dashboard(services):
    mounts = bind_sources(services["grafana"])
    sources = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    )
    providers = yaml.safe_load(
        (OBSERVABILITY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )

    assert mounts["/etc/grafana/provisioning"] == "observability/grafana/provisioning"
    assert mounts[providers["providers"][0]["options"]["path"]] == "observability/grafana/dashboards"
    for source in sources["datasources"]:
        assert source["url"].split("//")[1].split(":")[0] in services
    assert {source["uid"] for source in sources["datasources"]} == {"prometheus", "jaeger"}


def test_the_dashboard_queries_only_metrics_the_stack_exports():
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    names = {
        name
        for expression in expressions
        for name in re.findall(r"\b([a-z_]+)(?:\{|\[)", expression)
        if name not in PROMQL_FUNCTIONS
    }
    exported = documented_metrics()

    assert expressions
    assert {name.removesuffix("_bucket") for name in names} <= exported


def test_the_dashboard_shows_rates_errors_latency_percentiles_and_the_event_pipeline():
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = " ".join(target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", []))

    for needed in ("http_requests_total", 'status=~"5..', "histogram_quantile(0.99", "histogram_quantile(0.5"):
        assert needed in expressions
    for needed in ("outbox_events_pending", "outbox_oldest_pending_age_seconds", "events_queue_messages"):
        assert needed in expressions
    assert "by (job, route, le)" in expressions, "latency per route and service"
