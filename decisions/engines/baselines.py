"""The three baselines: cheapest, stable and balanced.

They need no training and stand in when no learned model is active.
"""

import numpy as np

from decisions.engines.base import (
    UNKNOWN_BAND,
    Engine,
    band_hazard_per_hour,
    risk_within,
)

# What the cheapest baseline assumes for every spot pool: it ignores risk
# between pools but still weighs spot against on-demand.
CHEAPEST_RISK_PRIOR = 0.05


def _bands(candidates) -> np.ndarray:
    return np.asarray(
        [UNKNOWN_BAND if c.band is None else c.band for c in candidates],
        dtype=float,
    )


class CheapestEngine(Engine):
    """The lowest price wins; every spot pool is equally risky."""

    name = "cheapest"

    def risks(self, candidates, context):
        return np.full(len(candidates), CHEAPEST_RISK_PRIOR)


class StableEngine(Engine):
    """The lowest Advisor band wins; price only breaks ties within a band."""

    name = "stable"

    def risks(self, candidates, context):
        hazard = band_hazard_per_hour(_bands(candidates))
        return risk_within(hazard, context.horizon_hours)

    def order(self, candidates, risks, costs):
        bands = np.where(
            [c.is_ondemand for c in candidates], -1.0, _bands(candidates)
        )
        # On-demand has no band: it is last resort for stability seekers.
        bands = np.where(bands < 0, np.inf, bands)
        return np.lexsort((np.arange(len(costs)), costs, bands))


class BalancedEngine(Engine):
    """Price against capacity, the idea of AWS's price-capacity-optimised
    allocation: the band's implied hazard is costed at the workload's
    disruption cost, so a cheaper but shakier pool must be cheaper enough."""

    name = "balanced"

    def risks(self, candidates, context):
        hazard = band_hazard_per_hour(_bands(candidates))
        return risk_within(hazard, context.horizon_hours)
