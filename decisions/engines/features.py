"""Features of the interruption-hazard model, from arrays.

Every feature is computed from an hourly grid (pools x hours): prices, the
Advisor band in force, and the fleet's interruptions, exposure and rebalance
recommendations. Training from CSV exports, the backtest and a live decision
(which builds a short grid from the canonical tier) all call these same
functions, so a model never sees a feature computed two ways.

Only the past is used: the value at hour t depends on hours before t (and the
price in force at t), never on what happens after.
"""

import numpy as np

from decisions.engines.base import BAND_MONTHLY_FREQUENCY, HOURS_PER_MONTH

FEATURE_NAMES = (
    "price_to_ondemand",
    "price_change_24h",
    "price_volatility_7d",
    "price_to_mean_7d",
    "advisor_band",
    "advisor_band_drift",
    "fleet_log_rate_30d",
    "fleet_exposure_months_30d",
    "rebalance_conversion_30d",
)
HOURS_24 = 24
HOURS_7D = 7 * 24
HOURS_30D = 30 * 24
# Weight of the Advisor band, in instance-months, when the fleet's own
# observed rate is shrunk towards it (an empirical-Bayes estimate).
BAND_PRIOR_MONTHS = 1.0


def _lagged_window_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum over the `window` hours strictly before each hour."""
    total = np.cumsum(values, axis=1)
    padded = np.concatenate([np.zeros((values.shape[0], 1)), total], axis=1)
    hours = np.arange(values.shape[1])
    start = np.maximum(hours - window, 0)
    return padded[:, hours] - padded[:, start]


def _rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean over the `window` hours up to and including each hour."""
    total = np.cumsum(values, axis=1)
    padded = np.concatenate([np.zeros((values.shape[0], 1)), total], axis=1)
    hours = np.arange(values.shape[1])
    start = np.maximum(hours + 1 - window, 0)
    return (padded[:, hours + 1] - padded[:, start]) / (hours + 1 - start)


def price_features(*, prices: np.ndarray, ondemand: np.ndarray) -> dict:
    """Price-derived features; `prices` is pools x hours, forward-filled."""
    prices = np.maximum(np.asarray(prices, dtype=float), 1e-6)
    ondemand = np.asarray(ondemand, dtype=float).reshape(-1, 1)
    logs = np.log(prices)
    returns = np.diff(logs, axis=1, prepend=logs[:, :1])
    ago = np.concatenate(
        [np.repeat(logs[:, :1], HOURS_24, axis=1), logs[:, :-HOURS_24]], axis=1
    )[:, : prices.shape[1]]
    mean = _rolling_mean(returns, HOURS_7D)
    square = _rolling_mean(returns**2, HOURS_7D)
    return {
        "price_to_ondemand": prices / np.maximum(ondemand, 1e-6),
        "price_change_24h": logs - ago,
        "price_volatility_7d": np.sqrt(np.maximum(square - mean**2, 0.0)),
        "price_to_mean_7d": prices / _rolling_mean(prices, HOURS_7D),
    }


def fleet_features(
    *, bands: np.ndarray, previous_bands: np.ndarray, interruptions: np.ndarray,
    exposure_hours: np.ndarray, rebalances: np.ndarray,
    rebalances_converted: np.ndarray,
) -> dict:
    """Band and fleet-experience features; every argument is pools x hours.

    The fleet's observed rate is shrunk towards the band's rate in proportion
    to how little exposure backs it, so a pool nobody ran in reads as its
    band, and a pool that keeps interrupting this fleet moves away from it.
    """
    bands = np.asarray(bands, dtype=float)
    table = np.asarray(BAND_MONTHLY_FREQUENCY)
    band_rate = table[np.clip(bands, 0, len(table) - 1).astype(int)]
    events = _lagged_window_sum(np.asarray(interruptions, float), HOURS_30D)
    months = _lagged_window_sum(
        np.asarray(exposure_hours, float), HOURS_30D
    ) / HOURS_PER_MONTH
    rate = (events + BAND_PRIOR_MONTHS * band_rate) / (months + BAND_PRIOR_MONTHS)
    seen = _lagged_window_sum(np.asarray(rebalances, float), HOURS_30D)
    converted = _lagged_window_sum(
        np.asarray(rebalances_converted, float), HOURS_30D
    )
    return {
        "advisor_band": bands,
        "advisor_band_drift": bands - np.asarray(previous_bands, dtype=float),
        "fleet_log_rate_30d": np.log(rate),
        "fleet_exposure_months_30d": months,
        "rebalance_conversion_30d": (converted + 1.0) / (seen + 2.0),
    }


def feature_matrix(features: dict, names=FEATURE_NAMES) -> np.ndarray:
    """Stack pools x hours feature grids into rows of (pool, hour)."""
    missing = [name for name in names if name not in features]
    if missing:
        raise KeyError(f"features not available: {', '.join(missing)}")
    return np.stack([np.asarray(features[name]).ravel() for name in names], axis=1)


def feature_row(features: dict, names=FEATURE_NAMES) -> list:
    """One candidate's features, in the order a model declared."""
    missing = [name for name in names if name not in features]
    if missing:
        raise KeyError(f"features not available: {', '.join(missing)}")
    return [float(features[name]) for name in names]


def feature_fixture() -> dict:
    """A few plausible rows of every feature, to score a model before use."""
    return {
        "price_to_ondemand": [0.25, 0.35, 0.5, 0.8, 0.3],
        "price_change_24h": [0.0, 0.05, -0.1, 0.2, 0.0],
        "price_volatility_7d": [0.0, 0.01, 0.03, 0.1, 0.005],
        "price_to_mean_7d": [1.0, 1.05, 0.9, 1.3, 1.0],
        "advisor_band": [0, 1, 2, 3, 4],
        "advisor_band_drift": [0, 0, 1, -1, 2],
        "fleet_log_rate_30d": [-3.7, -2.6, -2.1, -0.5, -1.4],
        "fleet_exposure_months_30d": [0.0, 1.0, 5.0, 20.0, 0.5],
        "rebalance_conversion_30d": [0.5, 0.3, 0.6, 0.9, 0.5],
    }
