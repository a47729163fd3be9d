"""Run the policies over the test window, all agents at once.

Each hour, for every policy and agent, the candidates are costed by the
shared expected-cost rule, filtered by risk threshold and quarantine, and
the guard rails decide whether to move; then the hour is paid and the latent
hazard may interrupt the instance (a notice, the disruption cost, a forced
move that bypasses the guard rails). All policies face the same random
draws, so differences come from their choices alone.
"""

from dataclasses import dataclass, field

import numpy as np

from decisions.engines.base import (
    band_hazard_per_hour,
    expected_costs,
    risk_within,
)
from decisions.engines.baselines import CHEAPEST_RISK_PRIOR
from decisions.guardrails import (
    ALLOWED,
    RETURN_WINDOW_HOURS,
    candidates_acceptable,
    quarantine_hours,
    switch_block_codes,
)

POLICIES = ("cheapest", "stable", "balanced", "learned", "oracle")
HORIZON_HOURS = 24.0
SWITCH_COST_HOURS = 0.25
PLANNED_SWITCH_DOWNTIME_SECONDS = 10.0
INTERRUPTION_DOWNTIME_SECONDS = 90.0
GUARD_CONFIG = {
    "max_switches_per_week": 10,
    "min_pool_duration_hours": 2.0,
    "min_savings_percent": 10.0,
    "risk_threshold": 0.3,
}


@dataclass
class Outcome:
    """What one policy did and paid over the test window."""

    spot_cost: float = 0.0
    switch_cost: float = 0.0
    disruption_cost: float = 0.0
    interruptions: int = 0
    switches: int = 0
    downtime_seconds: float = 0.0
    hourly_cost: list = field(default_factory=list)

    @property
    def net_cost(self) -> float:
        return self.spot_cost + self.switch_cost + self.disruption_cost


def risk_grids(*, policy, pool_bands, hazard, learned_risk, hours):
    """Pools x hours risk within the horizon, as each policy believes it."""
    if policy == "cheapest":
        return np.full((len(hazard), hours), CHEAPEST_RISK_PRIOR)
    if policy in ("stable", "balanced"):
        return risk_within(band_hazard_per_hour(pool_bands), HORIZON_HOURS)
    if policy == "learned":
        return learned_risk
    return np.repeat(risk_within(hazard, HORIZON_HOURS)[:, None], hours, axis=1)


def future_mean_prices(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Mean price over the next `horizon` hours: the oracle's hindsight."""
    total = np.cumsum(np.pad(prices, ((0, 0), (0, horizon)), mode="edge"), axis=1)
    padded = np.concatenate([np.zeros((len(prices), 1)), total], axis=1)
    hours = np.arange(prices.shape[1])
    return (padded[:, hours + horizon] - padded[:, hours]) / horizon


def policy_run(*, policy, world, prices, risks, uniforms, bands) -> Outcome:
    """Replay one policy; `prices`, `risks`, `bands` are pools x test hours."""
    agents, slots = world.agent_pools.shape
    valid = np.concatenate(
        [world.agent_pools >= 0, np.ones((agents, 1), bool)], axis=1
    )
    pools = np.maximum(world.agent_pools, 0)
    ondemand_slot = slots
    rows = np.arange(agents)
    seen_prices = future_mean_prices(prices, int(HORIZON_HOURS)) if (
        policy == "oracle") else prices
    hourly_hazard = np.concatenate(
        [world.pool_hazard[pools], np.zeros((agents, 1))], axis=1
    )
    current = np.full(agents, -1)
    entered = np.zeros(agents)
    previous = np.full(agents, -1)
    left_at = np.full(agents, -np.inf)
    switch_times = [[] for _ in range(agents)]
    failures = np.zeros((agents, slots + 1))
    last_failure = np.full((agents, slots + 1), -np.inf)
    forced = np.ones(agents, bool)
    outcome = Outcome()
    disruption = world.disruption_cost[:, None]

    for hour in range(prices.shape[1]):
        price_now = np.concatenate(
            [prices[pools, hour], world.agent_ondemand[:, None]], axis=1
        )
        price_seen = np.concatenate(
            [seen_prices[pools, hour], world.agent_ondemand[:, None]], axis=1
        )
        risk = np.concatenate(
            [risks[pools, hour], np.zeros((agents, 1))], axis=1
        )
        is_current = np.arange(slots + 1)[None, :] == current[:, None]
        costs = expected_costs(
            prices=price_seen, risks=risk, is_current=is_current,
            horizon_hours=HORIZON_HOURS, disruption_cost=disruption,
            switch_cost_hours=SWITCH_COST_HOURS,
        )
        backoff = quarantine_hours(failures)
        quarantined = hour < last_failure + backoff
        acceptable = candidates_acceptable(
            risks=risk, is_current=is_current & ~forced[:, None],
            quarantined=quarantined,
            risk_threshold=GUARD_CONFIG["risk_threshold"],
        ) & valid
        acceptable[:, ondemand_slot] = True
        if policy == "stable":
            band = np.concatenate(
                [bands[pools, hour], np.full((agents, 1), np.inf)], axis=1
            )
            band = np.where(np.isnan(band), 2, band)
            score = band * 1e6 + costs
        else:
            score = costs
        score = np.where(acceptable & ~(is_current & forced[:, None]), score,
                         np.inf)
        best = np.argmin(score, axis=1)

        weekly = np.asarray([
            sum(1 for moment in times if moment > hour - 168)
            for times in switch_times
        ])
        has_current = current >= 0
        safe_current = np.where(has_current, current, ondemand_slot)
        codes, _ = switch_block_codes(
            auto_switch=np.ones(agents, bool),
            switches_last_week=weekly,
            hours_in_pool=np.where(has_current, hour - entered, np.nan),
            current_cost=costs[rows, safe_current],
            target_cost=costs[rows, best],
            current_risk=np.where(has_current, risk[rows, safe_current], 0.0),
            target_is_previous_pool=(best == previous)
            & (hour - left_at < RETURN_WINDOW_HOURS),
            **GUARD_CONFIG,
        )
        move = (forced | (codes == ALLOWED)) & (best != current)
        for agent in np.flatnonzero(move):
            if current[agent] >= 0 and not forced[agent]:
                switch_times[agent].append(hour)
                outcome.switches += 1
                outcome.downtime_seconds += PLANNED_SWITCH_DOWNTIME_SECONDS
                outcome.switch_cost += price_now[agent, best[agent]] * (
                    SWITCH_COST_HOURS
                )
            previous[agent], left_at[agent] = current[agent], hour
            current[agent], entered[agent] = best[agent], hour
        forced[:] = False

        paid = price_now[rows, current]
        hit = uniforms[rows, current, hour] < 1 - np.exp(
            -hourly_hazard[rows, current]
        )
        hit &= current != ondemand_slot
        outcome.spot_cost += float(paid.sum())
        outcome.disruption_cost += float(world.disruption_cost[hit].sum())
        outcome.interruptions += int(hit.sum())
        outcome.downtime_seconds += INTERRUPTION_DOWNTIME_SECONDS * int(hit.sum())
        failures[rows[hit], current[hit]] += 1
        last_failure[rows[hit], current[hit]] = hour
        forced = hit
        outcome.hourly_cost.append(
            float(paid.sum() + world.disruption_cost[hit].sum())
        )
    return outcome
