"""Put a backtest together: data, world, model, policies, figures.

Steps:

1. read prices, on-demand prices, bands (and traces) into hourly grids;
2. draw the latent hazards, what the monitoring fleet saw, and workloads;
3. train the hazard model on the training window only, with the features
   of `decisions.engines.features`, and measure it on the test window;
4. replay every policy over the test window with the same random draws;
5. time the learned engine's decision for single agents.
"""

import time
from datetime import UTC, datetime

import numpy as np

from decisions.backtest import data
from decisions.backtest import world as worlds
from decisions.backtest.simulate import (
    GUARD_CONFIG,
    HORIZON_HOURS,
    POLICIES,
    SWITCH_COST_HOURS,
    policy_run,
    risk_grids,
)
from decisions.engines import Candidate, Context, HazardModel, LearnedEngine
from decisions.engines.features import (
    FEATURE_NAMES,
    feature_matrix,
    fleet_features,
    price_features,
)
from decisions.engines.training import hazard_fit, hazard_metrics
from decisions.guardrails import GuardInputs, switch_check

SAMPLE_STRIDE_HOURS = 6
WARM_UP_HOURS = 7 * 24
LATENCY_CALLS = 2000


def backtest_run(
    *, prices_path: str, ondemand_path: str, bands_path: str,
    train_until: str, agents: int, seed: int, policies=POLICIES,
    traces_path: str | None = None, specs_path: str | None = None,
    region: str = "us-east-1",
) -> dict:
    state = backtest_prepare(
        prices_path=prices_path, ondemand_path=ondemand_path,
        bands_path=bands_path, train_until=train_until, agents=agents,
        seed=seed, traces_path=traces_path, specs_path=specs_path,
        region=region,
    )
    return _replay(state, policies, agents, seed)


def backtest_prepare(
    *, prices_path: str, ondemand_path: str, bands_path: str,
    train_until: str, agents: int, seed: int, traces_path: str | None = None,
    specs_path: str | None = None, region: str = "us-east-1",
) -> dict:
    """Steps 1 to 3: the world, and the model trained on its first part."""
    grid = data.spot_prices_load(path=prices_path, region=region)
    ondemand = data.ondemand_prices_load(path=ondemand_path, region=region)
    bands_by_type = data.advisor_bands_load(path=bands_path, region=region)
    traces = (
        data.trace_hazards_load(path=traces_path, region=region)
        if traces_path else {}
    )
    specs = data.instance_specs_load(path=specs_path) if specs_path else {}
    split = grid.hour_of(_epoch(train_until))
    if not 0 < split < grid.hours - HORIZON_HOURS:
        raise ValueError(f"--train-until {train_until} is outside the history")

    rng = np.random.default_rng(seed)
    bands, previous = data.band_grids(
        bands=bands_by_type, grid=grid, hours=np.arange(grid.hours)
    )
    hazard = worlds.latent_hazards(
        bands=bands[:, split], types=grid.instance_types,
        trace_hazards=traces, rng=rng,
    )
    events, rebalances, converted = worlds.fleet_observe(
        hazard=hazard, hours=grid.hours, rng=rng
    )
    base_types, agent_pools, base_ondemand, disruption = worlds.workloads_draw(
        count=agents, grid=grid, ondemand=ondemand, specs=specs,
        train_hours=split, rng=rng,
    )
    world = worlds.World(
        pool_hazard=hazard, monitor_events=events, rebalances=rebalances,
        rebalances_converted=converted, agent_pools=agent_pools,
        agent_ondemand=base_ondemand, disruption_cost=disruption,
        base_types=base_types,
    )

    used = np.unique(agent_pools[agent_pools >= 0])
    features = _features(grid, ondemand, used, bands, previous, world)
    model, metrics = _train(features, events[used], split, grid.hours)
    return {
        "grid": grid, "world": world, "features": features, "split": split,
        "bands": bands, "hazard": hazard, "used": used, "model": model,
        "metrics": metrics, "rng": rng,
    }


def _replay(state, policies, agents, seed) -> dict:
    grid, world, split = state["grid"], state["world"], state["split"]
    model, used, features = state["model"], state["used"], state["features"]
    agent_pools, rng = world.agent_pools, state["rng"]
    hazard, bands, metrics = state["hazard"], state["bands"], state["metrics"]
    learned_risk = np.zeros((len(grid.pool_ids), grid.hours - split))
    test_rows = feature_matrix(
        {name: grid_[:, split:] for name, grid_ in features.items()}
    )
    learned_risk[used] = model.predict(test_rows).reshape(len(used), -1)

    test_prices = grid.prices[:, split:]
    test_bands = bands[:, split:]
    uniforms = rng.random((agents, agent_pools.shape[1] + 1, test_prices.shape[1]))
    results = {}
    for policy in policies:
        risks = risk_grids(
            policy=policy, pool_bands=test_bands, hazard=hazard,
            learned_risk=learned_risk, hours=test_prices.shape[1],
        )
        results[policy] = policy_run(
            policy=policy, world=world, prices=test_prices, risks=risks,
            uniforms=uniforms, bands=test_bands,
        )
    ondemand_total = float(world.agent_ondemand.sum() * test_prices.shape[1])
    latency = _latency(model, features, grid, world, split)
    return _summary(results, ondemand_total, metrics, latency, grid, split,
                    agents, seed)


def _epoch(day: str) -> int:
    moment = datetime.fromisoformat(day)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _features(grid, ondemand, used, bands, previous, world) -> dict:
    prices = grid.prices[used]
    ondemand_of = np.asarray([ondemand[grid.instance_types[i]] for i in used])
    exposure = np.full(prices.shape, float(worlds.MONITOR_INSTANCES))
    features = price_features(prices=prices, ondemand=ondemand_of)
    features.update(fleet_features(
        bands=np.where(np.isnan(bands[used]), 2, bands[used]),
        previous_bands=np.where(np.isnan(previous[used]), 2, previous[used]),
        interruptions=world.monitor_events[used],
        exposure_hours=exposure,
        rebalances=world.rebalances[used],
        rebalances_converted=world.rebalances_converted[used],
    ))
    return features


def _samples(features, events, hours):
    """Rows at sampled hours, labelled per monitored instance (weighted)."""
    horizon = int(HORIZON_HOURS)
    total = np.concatenate(
        [np.zeros((len(events), 1)), np.cumsum(events, axis=1)], axis=1
    )
    ahead = total[:, hours + horizon] - total[:, hours]
    positives = np.minimum(ahead, worlds.MONITOR_INSTANCES).ravel()
    rows = feature_matrix({k: v[:, hours] for k, v in features.items()})
    labels = np.concatenate([np.ones(len(rows)), np.zeros(len(rows))])
    weights = np.concatenate(
        [positives, worlds.MONITOR_INSTANCES - positives]
    )
    keep = weights > 0
    return np.concatenate([rows, rows])[keep], labels[keep], weights[keep]


def _train(features, events, split, total_hours):
    horizon = int(HORIZON_HOURS)
    train_hours = np.arange(WARM_UP_HOURS, split - horizon, SAMPLE_STRIDE_HOURS)
    rows, labels, weights = _samples(features, events, train_hours)
    estimator = hazard_fit(rows=rows, labels=labels, weights=weights)
    model = HazardModel(
        name="hazard-logit", version="backtest", features=list(FEATURE_NAMES),
        estimator=estimator, horizon_hours=HORIZON_HOURS,
    )
    test_hours = np.arange(split, total_hours - horizon, SAMPLE_STRIDE_HOURS)
    rows, labels, weights = _samples(features, events, test_hours)
    metrics = hazard_metrics(
        probabilities=model.predict(rows), labels=labels, weights=weights
    )
    return model, metrics


def _latency(model, features, grid, world, split) -> dict:
    """Time one agent's decision: candidates, the engine, the guard rails."""
    engine = LearnedEngine(model)
    used = np.unique(world.agent_pools[world.agent_pools >= 0])
    position = {pool: index for index, pool in enumerate(used)}
    durations, cpu = [], []
    for call in range(LATENCY_CALLS):
        agent = call % len(world.agent_pools)
        hour = split + call % 24
        started, cpu_started = time.perf_counter(), time.thread_time()
        candidates = [
            Candidate(
                pool_id=grid.pool_ids[pool], instance_type="", az="",
                price=float(grid.prices[pool, hour]),
                features={
                    name: values[position[pool], hour]
                    for name, values in features.items()
                },
            )
            for pool in world.agent_pools[agent] if pool >= 0
        ]
        context = Context(
            current_pool_id=candidates[0].pool_id, horizon_hours=HORIZON_HOURS,
            disruption_cost=float(world.disruption_cost[agent]),
            switch_cost_hours=SWITCH_COST_HOURS,
        )
        ranked = engine.rank(candidates, context)
        switch_check(inputs=GuardInputs(
            auto_switch=True, switches_last_week=0, hours_in_pool=5.0,
            current_cost=float(ranked.costs[0]),
            target_cost=float(ranked.costs[ranked.best]),
            current_risk=float(ranked.risks[0]),
        ), config=GUARD_CONFIG)
        durations.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - cpu_started) * 1000)
    # Wall-clock tails include time the process waited for a core; the CPU
    # time of the same calls shows the cost of the decision itself.
    return {
        "calls": LATENCY_CALLS,
        "p50_ms": round(float(np.percentile(durations, 50)), 3),
        "p99_ms": round(float(np.percentile(durations, 99)), 3),
        "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 3),
        "cpu_p99_ms": round(float(np.percentile(cpu, 99)), 3),
    }


def _summary(results, ondemand_total, metrics, latency, grid, split, agents,
             seed) -> dict:
    policies = {}
    for name, outcome in results.items():
        policies[name] = {
            "net_cost": round(outcome.net_cost, 2),
            "spot_cost": round(outcome.spot_cost, 2),
            "switch_cost": round(outcome.switch_cost, 2),
            "disruption_cost": round(outcome.disruption_cost, 2),
            "savings_percent": round(
                100 * (ondemand_total - outcome.net_cost) / ondemand_total, 2
            ),
            "interruptions": outcome.interruptions,
            "switches": outcome.switches,
            "downtime_hours": round(outcome.downtime_seconds / 3600, 3),
        }
    return {
        "seed": seed,
        "agents": agents,
        "test_hours": grid.hours - split,
        "ondemand_cost": round(ondemand_total, 2),
        "policies": policies,
        "hourly_cost": {
            name: outcome.hourly_cost for name, outcome in results.items()
        },
        "model_metrics": metrics,
        "decision_latency": latency,
    }
