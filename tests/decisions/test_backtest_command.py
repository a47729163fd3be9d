"""The backtest command on a tiny constructed history."""

import csv
import gzip
import json
from datetime import datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

TYPES = {"m5.large": 0.096, "m5a.large": 0.086}
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
DAYS = 20


@pytest.fixture
def history(tmp_path):
    prices = tmp_path / "prices.csv.gz"
    start = datetime(2021, 3, 1)
    with gzip.open(prices, "wt", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp_utc", "region", "availability_zone",
                      "instance_type", "product_description", "spot_price_usd"])
        for index, (kind, ondemand) in enumerate(TYPES.items()):
            for zone, az in enumerate(AZS):
                for hour in range(0, DAYS * 24, 6):
                    price = ondemand * (0.3 + 0.02 * zone + 0.01 * index
                                        + 0.01 * ((hour // 6) % 3))
                    stamp = start + timedelta(hours=hour)
                    out.writerow([f"{stamp:%Y-%m-%dT%H:%M:%SZ}", "us-east-1", az,
                                  kind, "Linux/UNIX", f"{price:.4f}"])
    ondemand = tmp_path / "ondemand.csv"
    with open(ondemand, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["partition", "region", "instance_type",
                      "ondemand_linux_usd_per_hour", "generated_at_utc"])
        for kind, price in TYPES.items():
            out.writerow(["aws", "us-east-1", kind, price, "2026-07-20"])
    bands = tmp_path / "bands.csv"
    with open(bands, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["snapshot_date", "snapshot_id", "region", "os",
                      "instance_type", "interruption_band", "interruption_label",
                      "savings_pct_vs_ondemand"])
        out.writerow(["2021-02-10", "x", "us-east-1", "Linux", "m5.large", 0,
                      "<5%", 70])
        out.writerow(["2021-02-10", "x", "us-east-1", "Linux", "m5a.large", 4,
                      ">20%", 70])
    return {"prices": str(prices), "ondemand": str(ondemand), "bands": str(bands)}


def test_backtest_reports_every_policy_and_writes_json_and_a_chart(
    history, tmp_path, capsys
):
    out, chart = tmp_path / "out.json", tmp_path / "chart.png"

    call_command("backtest", **history, train_until="2021-03-15",
                 policies="all", agents=5, seed=3, json_path=str(out),
                 plot=str(chart))

    result = json.loads(out.read_text())
    assert set(result["policies"]) == {
        "cheapest", "stable", "balanced", "learned", "oracle"
    }
    for figures in result["policies"].values():
        assert 0 < figures["net_cost"] < result["ondemand_cost"]
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert "ml_vs_best_baseline" in capsys.readouterr().out


def test_backtest_refuses_an_unknown_policy(history):
    with pytest.raises(CommandError, match="psychic"):
        call_command("backtest", **history, train_until="2021-03-15",
                     policies="cheapest,psychic")


def test_train_model_from_csv_writes_a_loadable_artefact(history, tmp_path):
    from decisions.registry import artifact_load

    target = tmp_path / "model.skops"

    call_command("train_model", **history, train_until="2021-03-15", agents=5,
                 output=str(target), model_version="csv1")

    model = artifact_load(target.read_bytes())
    assert model.version == "csv1"
    assert model.metrics["calibration"]
