"""The simulated world of a backtest: workloads, latent hazards, the fleet.

Policies never see the latent hazards. They see prices, Advisor bands and
what the fleet observed: interruptions and rebalance recommendations of a
monitoring fleet of `MONITOR_INSTANCES` instances per pool (the customers'
wider fleet, whose history the canonical tier would hold).
"""

from dataclasses import dataclass

import numpy as np

from decisions.engines.base import BAND_MONTHLY_FREQUENCY, HOURS_PER_MONTH

MAX_CANDIDATES = 24
MONITOR_INSTANCES = 20
# Spread of a pool's true hazard around its band (log-normal sigma).
HAZARD_SIGMA = 1.0
# Most rebalance recommendations precede an interruption; others are false
# alarms at a rate independent of the hazard.
REBALANCE_BEFORE_INTERRUPTION = 0.7
FALSE_REBALANCES_PER_MONTH = 0.5
# A workload's disruption cost: hours of on-demand-priced work redone.
DISRUPTION_HOURS_RANGE = (4.0, 48.0)
BASE_PRICE_LIMIT = 2.0


@dataclass
class World:
    pool_hazard: np.ndarray  # pools, per hour (constant)
    monitor_events: np.ndarray  # pools x hours
    rebalances: np.ndarray  # pools x hours
    rebalances_converted: np.ndarray  # pools x hours
    agent_pools: np.ndarray  # agents x candidates, pool index (-1 padding)
    agent_ondemand: np.ndarray  # agents: price of the base type on-demand
    disruption_cost: np.ndarray  # agents
    base_types: list


def latent_hazards(*, bands, types, trace_hazards, rng) -> np.ndarray:
    """Per-pool hourly hazard, drawn around the band (or a measured trace)."""
    table = np.asarray(BAND_MONTHLY_FREQUENCY)
    known = np.where(np.isnan(bands), 2, bands).astype(int)
    monthly = table[known] * rng.lognormal(
        -HAZARD_SIGMA**2 / 2, HAZARD_SIGMA, len(bands)
    )
    hazard = -np.log1p(-np.minimum(monthly, 0.95)) / HOURS_PER_MONTH
    for index, kind in enumerate(types):
        if kind in trace_hazards:
            hazard[index] = trace_hazards[kind] * rng.lognormal(-0.125, 0.5)
    return hazard


def fleet_observe(*, hazard, hours: int, rng):
    """What the monitoring fleet saw: interruptions and rebalance notices."""
    rates = np.repeat((hazard * MONITOR_INSTANCES)[:, None], hours, axis=1)
    events = rng.poisson(rates)
    converted = rng.binomial(events, REBALANCE_BEFORE_INTERRUPTION)
    false_rate = FALSE_REBALANCES_PER_MONTH * MONITOR_INSTANCES / HOURS_PER_MONTH
    false_alarms = rng.poisson(false_rate, size=events.shape)
    return events, converted + false_alarms, converted


def workloads_draw(*, count, grid, ondemand, specs, train_hours, rng):
    """Pick `count` workloads and the pools each may run in.

    A workload's acceptable types have its vCPUs and at least its memory (at
    most twice), and an on-demand price at most 1.5 times its own; its
    candidates are the cheapest of those types' pools over the training
    window, at most MAX_CANDIDATES.
    """
    types = np.asarray(grid.instance_types)
    median = np.median(grid.prices[:, :train_hours], axis=1)
    eligible = sorted(
        kind for kind in set(grid.instance_types)
        if kind in ondemand and ondemand[kind] <= BASE_PRICE_LIMIT
        and (not specs or kind in specs)
    )
    base_types = list(rng.choice(eligible, size=count, replace=True))
    pools = np.full((count, MAX_CANDIDATES), -1)
    for agent, base in enumerate(base_types):
        accepted = _interchangeable(base, eligible, ondemand, specs)
        indexes = np.flatnonzero(np.isin(types, accepted))
        indexes = indexes[np.argsort(median[indexes], kind="stable")]
        chosen = indexes[:MAX_CANDIDATES]
        pools[agent, : len(chosen)] = chosen
    base_ondemand = np.asarray([ondemand[kind] for kind in base_types])
    hours = rng.uniform(*DISRUPTION_HOURS_RANGE, count)
    return base_types, pools, base_ondemand, base_ondemand * hours


def _interchangeable(base, eligible, ondemand, specs) -> list:
    if not specs:
        size = base.split(".", 1)[1]
        return [
            kind for kind in eligible if kind.split(".", 1)[1] == size
            and ondemand[kind] <= 1.5 * ondemand[base]
        ]
    vcpus, memory = specs[base]
    return [
        kind for kind in eligible
        if specs[kind][0] == vcpus and memory <= specs[kind][1] <= 2 * memory
        and ondemand[kind] <= 1.5 * ondemand[base]
    ]
