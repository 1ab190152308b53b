"""OBSERVABILITY=on: the gateway's stub_status, Debian's nginx exporter and a Prometheus scraping every process."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import components
from .components import NGINX_EXPORTER, PROMETHEUS, Instance
from .config import REPO, StackConfig, StackError, say

RULES = REPO / "observability" / "prometheus" / "alerts.yml"
# Debian's packages: the programs they install.
PACKAGES = {
    "prometheus": "prometheus",
    "promtool": "prometheus",
    "prometheus-nginx-exporter": "prometheus-nginx-exporter",
}
SCRAPE_INTERVAL = "5s"
STUB_STATUS = """# Written by `make up` with OBSERVABILITY=on: nginx's connection counts, for the exporter only.
server {{
    listen 127.0.0.1:{port};
    access_log off;
    location = /stub_status {{
        stub_status;
    }}
    location / {{
        return 404;
    }}
}}
"""


def find(program: str) -> str | None:
    return shutil.which(program) or next(
        (path for path in (f"/usr/bin/{program}", f"/usr/sbin/{program}") if os.access(path, os.X_OK)), None
    )


def ensure_tools() -> None:
    """Install Prometheus, promtool and the nginx exporter from Debian when one is missing and we may."""
    missing = sorted({package for program, package in PACKAGES.items() if find(program) is None})
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError(
            f"OBSERVABILITY=on needs the Debian packages {' '.join(missing)} "
            f"(sudo apt-get install {' '.join(missing)}), or run without OBSERVABILITY"
        )
    say(f"installing {', '.join(missing)} (apt-get install)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], env=env, check=True)


def folder(config: StackConfig) -> Path:
    return config.var_dir / "prometheus"


def scrape_configs(config: StackConfig) -> list[dict]:
    """One job per component (auth, todo, relay, consumer, nginx), one target per instance: they follow the counts."""
    jobs: dict[str, list[str]] = {}
    for instance in components.metrics_instances(config):
        job = "nginx" if instance.spec.name == NGINX_EXPORTER else instance.spec.name
        jobs.setdefault(job, []).append(f"127.0.0.1:{instance.metrics_port(config)}")
    return [{"job_name": job, "static_configs": [{"targets": targets}]} for job, targets in jobs.items()]


def render(config: StackConfig) -> None:
    """Write Prometheus's configuration and the gateway's stub_status server (after the gateway's own render)."""
    say(f"rendering Prometheus's configuration into {folder(config)}")
    folder(config).mkdir(parents=True, exist_ok=True)
    settings = {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(RULES)],
        "scrape_configs": scrape_configs(config),
    }
    # JSON is YAML: no YAML library is needed to write it.
    (folder(config) / "prometheus.yml").write_text(json.dumps(settings, indent=2) + "\n")
    stub_status = STUB_STATUS.format(port=components.stub_status_port(config))
    (config.nginx_dir / "conf.d" / "stub_status.conf").write_text(stub_status)
    promtool = find("promtool")
    if promtool:
        checked = subprocess.run(
            [promtool, "check", "config", str(folder(config) / "prometheus.yml")], capture_output=True, text=True
        )
        if checked.returncode != 0:
            raise StackError(f"promtool refused the Prometheus configuration:\n{checked.stdout}{checked.stderr}")


def ports(config: StackConfig) -> dict[int, str]:
    """Every port OBSERVABILITY=on listens on, by what uses it."""
    used = {
        instance.metrics_port(config): f"{instance.name} metrics" for instance in components.metrics_instances(config)
    }
    if config.observability:
        used[components.stub_status_port(config)] = "nginx stub_status"
        used[config.prometheus_port] = "Prometheus"
    return used


def command_line(config: StackConfig, instance: Instance) -> list[str]:
    if instance.spec.name == PROMETHEUS:
        return [
            find("prometheus") or "prometheus",
            f"--config.file={folder(config) / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder(config) / 'data'}",
            "--storage.tsdb.retention.time=2d",
            f"--web.listen-address=127.0.0.1:{config.prometheus_port}",
        ]
    return [
        find("prometheus-nginx-exporter") or "prometheus-nginx-exporter",
        f"-nginx.scrape-uri=http://127.0.0.1:{components.stub_status_port(config)}/stub_status",
        f"-web.listen-address=127.0.0.1:{instance.metrics_port(config)}",
        "-nginx.retries=10",
        "-nginx.retry-interval=1s",
    ]
