"""docs/ops: the Grafana dashboard and the alert rules load, and use only metrics that
/metrics actually exposes (promtool checks the PromQL where it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

OPS = Path(__file__).resolve().parents[2] / "docs" / "ops"
METRIC = re.compile(r"\bnotify_[a-z_]+\b")


def _exposed(db: Any) -> set[str]:
    text = Client().get("/metrics").content.decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + s for s in ("", "_total", "_bucket", "_count", "_sum")}
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((OPS / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_the_dashboard_charts_what_the_issue_asks_for(db: Any) -> None:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    titles = {p["title"] for p in dashboard["panels"]}
    assert {
        "Deliveries per minute by status",
        "Deliveries per minute by channel",
        "Error rate by provider",
        "Queue depth",
        "Oldest due pending delivery",
        "Provider call latency p95",
        "Accept → sent latency p95 by channel",
        "Circuit breaker per provider",
    } <= titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    used = {m for expr in _dashboard_exprs() for m in METRIC.findall(expr)}
    assert used <= _exposed(db), used - _exposed(db)


def test_alert_rules_cover_errors_age_queues_circuits_and_workers(db: Any) -> None:
    rules = _alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {
        "NotifyProviderErrorRateHigh",
        "NotifyOldestPendingTooOld",
        "NotifyQueueDepthGrowing",
        "NotifyCircuitOpen",
        "NotifyNoWorkers",
    } <= names
    for rule in rules:
        assert rule["annotations"]["summary"]
        assert rule["labels"]["severity"] in ("warning", "critical")
    used = {m for rule in rules for m in METRIC.findall(rule["expr"])}
    assert used <= _exposed(db), used - _exposed(db)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_the_rules_and_the_dashboard_queries(tmp_path: Path) -> None:
    check = ["promtool", "check", "rules"]
    result = subprocess.run(
        [*check, str(OPS / "alerts.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    records = [
        {"record": f"notify:panel{i}", "expr": e.replace("$__rate_interval", "5m")}
        for i, e in enumerate(_dashboard_exprs())
    ]
    as_rules = tmp_path / "panels.yml"
    as_rules.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": records}]}))
    result = subprocess.run([*check, str(as_rules)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
