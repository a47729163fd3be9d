"""Backtest benchmark: three seeds over the us-east-1 history.

Trains on the first 60 days, tests on the last 30, 200 agents per seed, and
prints as its last line one JSON object with each policy's mean net cost and
savings, the learned engine's ratios and the decision latency.

    .venv/bin/python bench/backtest.py [DATA_DIR] [--plot docs/backtest.png]
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.test")

import django  # noqa: E402

django.setup()

from decisions.backtest.report import (  # noqa: E402
    report_plot,
    report_ratios,
    report_table,
)
from decisions.backtest.runner import backtest_run  # noqa: E402

SEEDS = (1, 2, 3)
AGENTS = 200
TRAIN_UNTIL = "2021-05-01"  # 60 days after 2021-03-02; 30 days remain


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default=str(ROOT / ".." / "shared" / "data"))
    parser.add_argument("--plot", help="PNG chart of the first seed")
    parser.add_argument("--agents", type=int, default=AGENTS)
    args = parser.parse_args()
    data = Path(args.data)
    paths = {
        "prices_path": data / "spot_prices/us-east-1_2021-03-02_to_2021-05-31.csv.gz",
        "ondemand_path": data / "on_demand/us-east-1_ondemand_linux_2026-07-20.csv",
        "bands_path": data
        / "interruptions/spot_advisor_bands_2021-02_to_2025-06.csv.gz",
        "traces_path": data / "interruptions/availability_traces_2022-2023.csv.gz",
        "specs_path": data / "interruptions/instance_type_specs.csv",
    }
    runs = []
    for seed in SEEDS:
        result = backtest_run(
            **{key: str(path) for key, path in paths.items()},
            train_until=TRAIN_UNTIL, agents=args.agents, seed=seed,
        )
        print(report_table(result), flush=True)
        if args.plot and seed == SEEDS[0]:
            report_plot(result, args.plot)
        runs.append(result)
    print(json.dumps(_summary(runs)))


def _summary(runs) -> dict:
    policies = {}
    for name in runs[0]["policies"]:
        figures = [run["policies"][name] for run in runs]
        policies[name] = {
            key: round(float(np.mean([f[key] for f in figures])), 3)
            for key in ("net_cost", "savings_percent", "interruptions",
                        "switches", "downtime_hours")
        }
    averaged = {"policies": policies}
    per_seed = [report_ratios(run) for run in runs]
    return {
        "seeds": list(SEEDS),
        "agents": runs[0]["agents"],
        "test_hours": runs[0]["test_hours"],
        "ondemand_cost": round(float(np.mean([r["ondemand_cost"] for r in runs])), 2),
        "policies": policies,
        **report_ratios(averaged),
        "ml_vs_best_baseline_per_seed": [r["ml_vs_best_baseline"] for r in per_seed],
        "ml_vs_oracle_per_seed": [r["ml_vs_oracle"] for r in per_seed],
        "hazard_roc_auc": [run["model_metrics"]["roc_auc"] for run in runs],
        "hazard_brier": [run["model_metrics"]["brier"] for run in runs],
        "decision_latency_p50_ms": max(
            run["decision_latency"]["p50_ms"] for run in runs),
        "decision_latency_p99_ms": max(
            run["decision_latency"]["p99_ms"] for run in runs),
        "decision_cpu_p99_ms": max(
            run["decision_latency"]["cpu_p99_ms"] for run in runs),
    }


if __name__ == "__main__":
    main()
