"""checkov's Kubernetes policies pass on every rendered overlay (skips: k8s/.checkov.yaml and annotations)."""

import re
import subprocess

import yaml
from manifests import K8S, REPO

CHECKOV = REPO / ".venvs" / "checkov" / "bin" / "checkov"


def test_checkov_finds_no_failed_check_in_either_overlay(rendered, tmp_path):
    for overlay, objects in rendered.items():
        (tmp_path / f"{overlay}.yaml").write_text(yaml.safe_dump_all(objects))
    result = subprocess.run(
        [
            str(CHECKOV),
            *("--config-file", str(K8S / ".checkov.yaml"), "--directory", str(tmp_path), "--compact"),
            # Offline: no download of policies or guidelines from checkov's platform.
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    summary = re.search(r"Passed checks: (\d+), Failed checks: (\d+)", result.stdout)
    assert summary is not None, result.stdout[-2000:] + result.stderr[-2000:]
    assert int(summary.group(1)) > 100, "checkov ran far fewer checks than the manifests have"
    assert result.returncode == 0, result.stdout[-6000:]
