"""The alert rules parse and watch only series the server exports."""

import re
from pathlib import Path

import yaml

RULES = Path(__file__).resolve().parents[2] / "monitoring" / "alerts.yml"
SUFFIXES = ("_bucket", "_count", "_sum")


def _rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_names_an_alert_a_severity_and_a_summary():
    rules = _rules()

    assert len(rules) >= 10
    for rule in rules:
        assert rule["alert"].startswith("SpotOpt"), rule
        assert rule["labels"]["severity"] in ("page", "ticket"), rule
        assert rule["annotations"]["summary"], rule


def test_the_rules_watch_only_series_that_metrics_exposes(client, priced):
    from pricing.consolidation import consolidation_run

    consolidation_run()
    exposed = set(
        re.findall(r"^# TYPE (\w+) ", client.get("/metrics").content.decode(), re.M)
    )

    for rule in _rules():
        for name in re.findall(r"\bspotopt_\w+", rule["expr"]):
            base = next(
                (name[: -len(s)] for s in SUFFIXES if name.endswith(s)), name
            )
            assert base in exposed, (rule["alert"], name)
