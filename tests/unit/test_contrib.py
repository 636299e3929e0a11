"""The files in contrib/: alerting rules (promtool), Grafana dashboard, container and systemd unit.

Every metric they name must be one the exporter writes; the rules are checked and
unit-tested by promtool (Debian's ``prometheus`` package), skipped only without it.
"""

from __future__ import annotations

import configparser
import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from seqdoctor.exporter import DEFAULT_PORT, parse_listen
from seqdoctor.render.prometheus import METRICS

CONTRIB = Path(__file__).parents[2] / "contrib"
RULES = CONTRIB / "prometheus" / "seqdoctor.rules.yml"
RULES_TEST = CONTRIB / "prometheus" / "seqdoctor.rules.test.yml"
DASHBOARD = CONTRIB / "grafana" / "seqdoctor.json"
DOCKERFILE = CONTRIB / "docker" / "Dockerfile"
UNIT = CONTRIB / "systemd" / "seqdoctor.service"
# Metrics of Prometheus itself that the rules may name beside ours.
PROMETHEUS_OWN = {"up"}
# PromQL words that look like metric names: keywords and the label lists they take.
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or"}
_KEYWORDS |= {"unless", "bool", "offset"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (the names of its vector selectors)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery durations
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("("):
            continue  # a function
        if match.group() not in _KEYWORDS:
            names.add(match.group())
    return names


def test_metric_names_are_read_out_of_promql() -> None:
    expr = 'time() - max by (a) (x_seconds{b=~"$c", d="e f"}[5m]) > 2 * 3600 unless on(g) y'

    assert metric_names(expr) == {"x_seconds", "y"}


def rule_expressions() -> Iterator[tuple[str, str]]:
    """(alert, expr) of each rule, read without a YAML library: ``expr:`` scalars and
    folded blocks, as the rules file writes them."""
    name = ""
    lines = RULES.read_text().splitlines()
    for i, line in enumerate(lines):
        if found := re.match(r"\s*- alert: (\S+)", line):
            name = found.group(1)
        if found := re.match(r"(\s*)expr: (.*)", line):
            indent, value = len(found.group(1)), found.group(2)
            if value.startswith(">-"):
                block = []
                for more in lines[i + 1 :]:
                    if len(more) - len(more.lstrip()) <= indent:
                        break
                    block.append(more.strip())
                value = " ".join(block)
            yield name, value


def test_the_rules_name_only_metrics_the_exporter_writes() -> None:
    expressions = list(rule_expressions())

    assert len(expressions) >= 9
    for alert, expr in expressions:
        names = metric_names(expr)
        assert names, alert
        assert names <= set(METRICS) | PROMETHEUS_OWN, (alert, names - set(METRICS))


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return found


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", RULES.name],
        cwd=RULES.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_pass_their_promtool_unit_tests() -> None:
    result = subprocess.run(
        [promtool(), "test", "rules", RULES_TEST.name],
        cwd=RULES_TEST.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            yield panel["title"], target["expr"]


def test_every_dashboard_query_names_only_metrics_the_exporter_writes() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = list(dashboard_queries(dashboard))
    used = set()

    assert len(queries) >= 10
    for title, expr in queries:
        names = metric_names(expr)
        assert names, title
        assert names <= set(METRICS), (title, names - set(METRICS))
        used |= names
    # What the issue asks the dashboard to show.
    for shown in (
        "seqdoctor_audit_status",
        "seqdoctor_column_used_ratio",
        "seqdoctor_column_values_left",
        "seqdoctor_column_exhaustion_timestamp_seconds",
        "seqdoctor_column_values_behind",
        "seqdoctor_audit_success",
        "seqdoctor_audit_timestamp_seconds",
    ):
        assert shown in used
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            (metric,) = re.findall(r"label_values\((\w+),", variable["definition"])
            assert metric in METRICS


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_the_container_serves_as_a_user_on_the_default_port_with_a_health_check() -> None:
    instructions = dockerfile()
    keywords = [keyword for keyword, _ in instructions]
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    (exposed,) = [rest for keyword, rest in instructions if keyword == "EXPOSE"]
    (health,) = [rest for keyword, rest in instructions if keyword == "HEALTHCHECK"]
    (entrypoint,) = [json.loads(rest) for keyword, rest in instructions if keyword == "ENTRYPOINT"]

    assert keywords[0] == "FROM"
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert keywords.index("USER") < keywords.index("ENTRYPOINT")
    assert exposed == str(DEFAULT_PORT)
    assert f"127.0.0.1:{DEFAULT_PORT}/healthz" in health
    assert entrypoint[:2] == ["seqdoctor", "serve"]
    assert parse_listen(entrypoint[entrypoint.index("--listen") + 1])[1] == DEFAULT_PORT


def test_the_systemd_unit_serves_as_an_unprivileged_user() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    unit.read_string(UNIT.read_text())
    service = unit["Service"]
    command = shlex.split(service["ExecStart"])

    assert service.get("DynamicUser") == "yes" or service.get("User") not in {None, "root"}
    assert service.get("NoNewPrivileges") == "yes"
    assert Path(command[0]).name == "seqdoctor"
    assert command[1] == "serve"
    assert parse_listen(command[command.index("--listen") + 1])[1] == DEFAULT_PORT
    assert unit["Install"]["WantedBy"] == "multi-user.target"
