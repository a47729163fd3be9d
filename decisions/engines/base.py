"""The one interface every engine answers, and the expected-cost rule.

An engine only estimates risk: the probability that an instance in each
candidate pool is interrupted within the horizon. Ranking is shared, so
that engines differ in what they believe, never in how they weigh it:

    expected cost = price x horizon
                    + P(interruption within horizon) x disruption cost
                    + switch cost (unless the candidate is the current pool)

The arithmetic works on numpy arrays so that the backtest ranks thousands of
agents with the same code that serves one agent in a request.
"""

from dataclasses import dataclass, field

import numpy as np

ONDEMAND_POOL_ID = "ondemand"
HOURS_PER_MONTH = 730.0
# The Spot Advisor's monthly interruption-frequency bands, by their middle
# (the open top band is taken at 25%).
BAND_MONTHLY_FREQUENCY = (0.025, 0.075, 0.125, 0.175, 0.25)
# A pool whose band is unknown is assumed to sit in the middle band.
UNKNOWN_BAND = 2


@dataclass
class Candidate:
    """A place the workload could run: a spot pool, or on-demand."""

    pool_id: str
    instance_type: str
    az: str
    price: float
    mode: str = "spot"
    band: int | None = None
    features: dict = field(default_factory=dict)

    @property
    def is_ondemand(self) -> bool:
        return self.mode == "ondemand"


@dataclass
class Context:
    """What the ranking needs to know about the workload and its horizon."""

    current_pool_id: str | None
    horizon_hours: float
    disruption_cost: float
    switch_cost_hours: float
    ondemand_price: float | None = None


@dataclass
class Ranked:
    """Candidates with their risk and expected cost, best first."""

    candidates: list
    risks: np.ndarray
    costs: np.ndarray
    order: np.ndarray

    @property
    def best(self) -> int:
        return int(self.order[0])

    def index_of(self, pool_id: str | None) -> int | None:
        for index, candidate in enumerate(self.candidates):
            if candidate.pool_id == pool_id:
                return index
        return None


def band_hazard_per_hour(bands) -> np.ndarray:
    """Hourly hazard implied by Advisor bands (a constant monthly rate)."""
    bands = np.asarray(bands, dtype=float)
    bands = np.where(np.isnan(bands), UNKNOWN_BAND, bands)
    table = np.asarray(BAND_MONTHLY_FREQUENCY)
    monthly = table[np.clip(bands, 0, len(table) - 1).astype(int)]
    return -np.log1p(-monthly) / HOURS_PER_MONTH


def risk_within(hazard_per_hour, horizon_hours: float) -> np.ndarray:
    return 1.0 - np.exp(-np.asarray(hazard_per_hour) * horizon_hours)


def expected_costs(
    *, prices, risks, is_current, horizon_hours: float,
    disruption_cost, switch_cost_hours: float,
) -> np.ndarray:
    """Expected cost of running in each candidate over the horizon.

    Works elementwise, so `prices` may be one agent's candidates or a matrix
    of agents by candidates (with `disruption_cost` a column).
    """
    prices = np.asarray(prices, dtype=float)
    switch = np.where(is_current, 0.0, prices * switch_cost_hours)
    return prices * horizon_hours + np.asarray(risks) * disruption_cost + switch


class Engine:
    """Estimate interruption risk per candidate; rank by expected cost."""

    name = "engine"
    version = "1"

    def risks(self, candidates: list, context: Context) -> np.ndarray:
        raise NotImplementedError

    def order(self, candidates, risks, costs) -> np.ndarray:
        return np.lexsort((np.arange(len(costs)), costs))

    def rank(self, candidates: list, context: Context) -> Ranked:
        risks = np.asarray(self.risks(candidates, context), dtype=float)
        risks = np.where([c.is_ondemand for c in candidates], 0.0, risks)
        costs = expected_costs(
            prices=[c.price for c in candidates],
            risks=risks,
            is_current=[c.pool_id == context.current_pool_id for c in candidates],
            horizon_hours=context.horizon_hours,
            disruption_cost=context.disruption_cost,
            switch_cost_hours=context.switch_cost_hours,
        )
        order = self.order(candidates, risks, costs)
        return Ranked(candidates=candidates, risks=risks, costs=costs, order=order)

    @property
    def model(self) -> dict:
        return {"name": self.name, "version": self.version}
