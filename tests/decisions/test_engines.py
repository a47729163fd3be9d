"""Each engine on constructed data where the right answer is known."""

import numpy as np
import pytest

from decisions.engines import (
    BalancedEngine,
    Candidate,
    CheapestEngine,
    Context,
    HazardModel,
    LearnedEngine,
    StableEngine,
)
from decisions.engines.base import expected_costs
from decisions.engines.features import FEATURE_NAMES, feature_fixture
from decisions.engines.training import hazard_fit, hazard_metrics


def pool(pool_id, price, band=None, **features):
    return Candidate(pool_id=pool_id, instance_type="m5.large", az=pool_id[-1],
                     price=price, band=band, features=features)


def context(current=None, disruption=1.0):
    return Context(current_pool_id=current, horizon_hours=24,
                   disruption_cost=disruption, switch_cost_hours=0.25)


def best_id(engine, candidates, ctx):
    ranked = engine.rank(candidates, ctx)
    return candidates[ranked.best].pool_id


def test_expected_cost_adds_price_risk_and_switch_cost():
    costs = expected_costs(prices=[0.1, 0.1], risks=[0.5, 0.5],
                           is_current=[True, False], horizon_hours=10,
                           disruption_cost=2.0, switch_cost_hours=0.5)

    assert costs.tolist() == pytest.approx([1.0 + 1.0, 1.0 + 1.0 + 0.05])


def test_cheapest_picks_the_lowest_price_whatever_the_band():
    pools = [pool("a", 0.04, band=0), pool("b", 0.03, band=4),
             pool("c", 0.035, band=1)]

    assert best_id(CheapestEngine(), pools, context(disruption=100)) == "b"


def test_stable_picks_the_lowest_band_then_the_lowest_price():
    pools = [pool("a", 0.05, band=0), pool("b", 0.03, band=4),
             pool("c", 0.04, band=0)]

    assert best_id(StableEngine(), pools, context()) == "c"


def test_balanced_pays_a_little_more_to_avoid_a_risky_pool():
    pools = [pool("risky", 0.030, band=4), pool("safe", 0.031, band=0)]

    cheap_workload = best_id(BalancedEngine(), pools, context(disruption=0.01))
    costly_workload = best_id(BalancedEngine(), pools, context(disruption=50))

    assert cheap_workload == "risky"
    assert costly_workload == "safe"


def test_on_demand_carries_no_interruption_risk():
    ondemand = Candidate(pool_id="ondemand", instance_type="", az="",
                         price=0.096, mode="ondemand")

    ranked = BalancedEngine().rank([pool("a", 0.03, band=4), ondemand], context())

    assert ranked.risks[1] == 0


def tiny_model(seed=0) -> HazardModel:
    """Risk rises with the fleet's observed rate, and nothing else."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(400, len(FEATURE_NAMES)))
    rate_column = FEATURE_NAMES.index("fleet_log_rate_30d")
    labels = (rows[:, rate_column] + rng.normal(0, 0.3, 400) > 0.5).astype(int)
    estimator = hazard_fit(rows=rows, labels=labels)
    return HazardModel(name="tiny", version="t1", features=list(FEATURE_NAMES),
                       estimator=estimator, horizon_hours=24)


def features(rate):
    values = dict.fromkeys(FEATURE_NAMES, 0.0)
    values["fleet_log_rate_30d"] = rate
    return values


def test_learned_engine_avoids_the_pool_its_model_finds_risky():
    engine = LearnedEngine(tiny_model())
    pools = [pool("shaky", 0.030, **features(3.0)),
             pool("calm", 0.031, **features(-3.0))]

    ranked = engine.rank(pools, context(disruption=50))

    assert pools[ranked.best].pool_id == "calm"
    assert ranked.risks[0] > 0.9 > 0.1 > ranked.risks[1]


def test_fast_scoring_path_matches_the_estimator():
    model = tiny_model()
    rows = np.stack([feature_fixture()[name] for name in FEATURE_NAMES], axis=1)

    assert model.predict(rows) == pytest.approx(model.predict_reference(rows))


def test_metrics_report_brier_auc_and_deciles():
    metrics = hazard_metrics(probabilities=[0.1] * 10 + [0.9] * 10,
                             labels=[0] * 10 + [1] * 10)

    assert metrics["roc_auc"] == 1.0
    assert metrics["brier"] == pytest.approx(0.01)
    assert len(metrics["calibration"]) == 10
