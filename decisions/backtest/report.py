"""Show a backtest's result: a table, ratios, a chart."""

import numpy as np

COLUMNS = ("net_cost", "savings_percent", "interruptions", "switches",
           "downtime_hours", "disruption_cost", "switch_cost")


def report_ratios(result: dict) -> dict:
    """The learned engine against the best baseline and against the oracle."""
    policies = result["policies"]
    baselines = [policies[name] for name in ("cheapest", "stable", "balanced")
                 if name in policies]
    ratios = {}
    if "learned" in policies and baselines:
        best = min(baseline["net_cost"] for baseline in baselines)
        ratios["ml_vs_best_baseline"] = round(
            policies["learned"]["net_cost"] / best, 4
        )
    if "learned" in policies and "oracle" in policies:
        ratios["ml_vs_oracle"] = round(
            policies["learned"]["savings_percent"]
            / policies["oracle"]["savings_percent"], 4
        )
    return ratios


def report_table(result: dict) -> str:
    header = f"{'policy':<10}" + "".join(f"{name:>17}" for name in COLUMNS)
    lines = [
        f"seed {result['seed']}, {result['agents']} agents, "
        f"{result['test_hours']} test hours, all on-demand "
        f"${result['ondemand_cost']:,.2f}",
        header,
    ]
    for name, figures in result["policies"].items():
        lines.append(f"{name:<10}" + "".join(
            f"{figures[column]:>17,.2f}" for column in COLUMNS
        ))
    metrics = result["model_metrics"]
    lines.append(
        f"hazard model on the test window: Brier {metrics['brier']:.5f}, "
        f"ROC AUC {metrics['roc_auc'] or float('nan'):.3f}"
    )
    latency = result["decision_latency"]
    lines.append(
        f"decision latency per agent: p50 {latency['p50_ms']} ms, p99 "
        f"{latency['p99_ms']} ms wall clock; CPU p50 {latency['cpu_p50_ms']} "
        f"ms, p99 {latency['cpu_p99_ms']} ms"
    )
    lines.append(" ".join(f"{k} {v}" for k, v in report_ratios(result).items()))
    return "\n".join(lines)


def report_plot(result: dict, path: str) -> None:
    """Cumulative cost per policy over the test window, against on-demand."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4), dpi=100)
    for name, hourly in result["hourly_cost"].items():
        axes.plot(np.cumsum(hourly), label=name, linewidth=1.2)
    hours = result["test_hours"]
    axes.plot([0, hours], [0, result["ondemand_cost"]], "k--", linewidth=0.8,
              label="all on-demand")
    axes.set_xlabel("hour of the test window")
    axes.set_ylabel("cumulative cost, USD")
    axes.set_title(f"Backtest: {result['agents']} agents, seed {result['seed']}")
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
