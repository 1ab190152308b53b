"""The alert rules (observability/prometheus/alerts.yml): promtool accepts them, and they fire when their tests say."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from container_files import REPO

RULES_DIR = REPO / "observability" / "prometheus"
EXPECTED_ALERTS = {
    "ServiceDown",
    "HighErrorRatio",
    "HighLatencyP99",
    "OutboxBacklogGrowing",
    "DeadLetterQueueNotEmpty",
    "LoginFailuresSpiking",
}


@pytest.fixture(scope="session")
def promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    assert found, "promtool is missing: apt-get install prometheus (.ci/run installs it)"
    return found


def promtool_run(promtool: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *arguments], cwd=RULES_DIR, capture_output=True, text=True, timeout=120)


def test_promtool_accepts_the_alert_rules(promtool):
    checked = promtool_run(promtool, "check", "rules", "alerts.yml")

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alert_rules_pass_their_unit_tests(promtool):
    tested = promtool_run(promtool, "test", "rules", "alerts.test.yml")

    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_the_issue_asks_for_exists_and_has_a_unit_test():
    rules = yaml.safe_load((RULES_DIR / "alerts.yml").read_text())
    tests = yaml.safe_load((RULES_DIR / "alerts.test.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tested = {case["alertname"] for test in tests["tests"] for case in test.get("alert_rule_test", [])}

    assert alerts == EXPECTED_ALERTS
    assert tested == EXPECTED_ALERTS


def test_a_broken_rule_would_fail_its_unit_test(promtool, tmp_path):
    rules = (RULES_DIR / "alerts.yml").read_text().replace("expr: up == 0", "expr: up == 2")
    (tmp_path / "alerts.yml").write_text(rules)
    (tmp_path / "alerts.test.yml").write_text((RULES_DIR / "alerts.test.yml").read_text())

    tested = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )

    assert tested.returncode != 0
    assert "ServiceDown" in tested.stdout + tested.stderr
