"""Guard rails for automatic switches, written once for one agent or many.

Each rule is an elementwise numpy expression, so that the service checks one
agent with the very code the backtest runs over thousands of agent-hours.
The rules, in the order a blocked switch reports them:

1. auto-switch must be on (and the agent enabled);
2. at most `max_switches_per_week` switches in the trailing seven days;
3. the agent must have stayed `min_pool_duration_hours` in its pool;
4. the saving over the horizon, after the switch's own cost, must reach
   `min_savings_percent` (never less than the hysteresis floor);
5. going back to the pool it just left needs twice that saving, so two pools
   of near-equal cost cannot make it ping-pong.

A current pool whose risk exceeds `risk_threshold` makes the switch urgent:
dwell, savings and hysteresis give way, the weekly limit does not. Targets
above the risk threshold or in quarantine are never offered at all; see
`candidates_acceptable`.
"""

from dataclasses import dataclass

import numpy as np

ALLOWED = 0
AUTO_SWITCH_OFF = 1
WEEKLY_LIMIT = 2
MIN_DWELL = 3
MIN_SAVINGS = 4
HYSTERESIS = 5
REASONS = {
    ALLOWED: "allowed",
    AUTO_SWITCH_OFF: "auto-switch is off",
    WEEKLY_LIMIT: "weekly switch limit reached",
    MIN_DWELL: "minimum time in the current pool not yet served",
    MIN_SAVINGS: "saving after the switch's cost is under the minimum",
    HYSTERESIS: "returning to the pool just left needs a larger saving",
}
# The least relative saving any automatic switch needs, whatever the config.
HYSTERESIS_FLOOR_PERCENT = 2.0
# Going back to the pool left within this window needs this many times the
# usual saving.
RETURN_WINDOW_HOURS = 48.0
RETURN_SAVINGS_FACTOR = 2.0
# Quarantine after an interruption or failed launch: base, doubling per
# repeat within the look-back, capped.
QUARANTINE_BASE_HOURS = 6.0
QUARANTINE_MAX_HOURS = 7 * 24.0
QUARANTINE_LOOKBACK_DAYS = 30


@dataclass
class GuardInputs:
    """What the rules need to know about the agent and the proposed switch."""

    auto_switch: bool
    switches_last_week: int
    hours_in_pool: float | None
    current_cost: float
    target_cost: float
    current_risk: float
    target_is_previous_pool: bool = False


def switch_block_codes(
    *, auto_switch, switches_last_week, hours_in_pool, current_cost,
    target_cost, current_risk, target_is_previous_pool, max_switches_per_week,
    min_pool_duration_hours, min_savings_percent, risk_threshold,
):
    """The first rule blocking each switch (ALLOWED if none), and urgency."""
    urgent = np.asarray(current_risk) > risk_threshold
    current_cost = np.asarray(current_cost, dtype=float)
    saving = np.where(
        current_cost > 0,
        (current_cost - target_cost) / np.where(current_cost > 0, current_cost, 1),
        0.0,
    ) * 100
    required = np.maximum(min_savings_percent, HYSTERESIS_FLOOR_PERCENT)
    dwell = np.where(np.isnan(hours_in_pool), np.inf, hours_in_pool)

    codes = np.full(np.broadcast(urgent, saving).shape, ALLOWED)
    checks = [
        (HYSTERESIS, ~urgent & target_is_previous_pool
         & (saving < required * RETURN_SAVINGS_FACTOR)),
        (MIN_SAVINGS, ~urgent & (saving < required)),
        (MIN_DWELL, ~urgent & (dwell < min_pool_duration_hours)),
        (WEEKLY_LIMIT, np.asarray(switches_last_week) >= max_switches_per_week),
        (AUTO_SWITCH_OFF, ~np.asarray(auto_switch, dtype=bool)),
    ]
    # Later checks overwrite earlier ones: the first rule in order wins.
    for code, blocked in checks:
        codes = np.where(blocked, code, codes)
    return codes, urgent


def switch_check(*, inputs: GuardInputs, config: dict) -> tuple[bool, str, bool]:
    """Check one proposed switch; return (allowed, reason, urgent)."""
    codes, urgent = switch_block_codes(
        auto_switch=np.asarray([inputs.auto_switch]),
        switches_last_week=np.asarray([inputs.switches_last_week]),
        hours_in_pool=np.asarray(
            [np.nan if inputs.hours_in_pool is None else inputs.hours_in_pool]
        ),
        current_cost=np.asarray([inputs.current_cost]),
        target_cost=np.asarray([inputs.target_cost]),
        current_risk=np.asarray([inputs.current_risk]),
        target_is_previous_pool=np.asarray([inputs.target_is_previous_pool]),
        max_switches_per_week=config["max_switches_per_week"],
        min_pool_duration_hours=config["min_pool_duration_hours"],
        min_savings_percent=config["min_savings_percent"],
        risk_threshold=config["risk_threshold"],
    )
    code = int(codes[0])
    return code == ALLOWED, REASONS[code], bool(urgent[0])


def candidates_acceptable(*, risks, is_current, quarantined, risk_threshold):
    """Which candidates may be switched to: not too risky, not quarantined.

    The current pool always stays acceptable, as the option of not moving.
    """
    risks = np.asarray(risks, dtype=float)
    ok = (risks <= risk_threshold) & ~np.asarray(quarantined, dtype=bool)
    return ok | np.asarray(is_current, dtype=bool)


def quarantine_hours(failures):
    """Back-off after `failures` recent failures: 6 h, 12 h, 24 h ... 7 days.

    Accepts a count or an array of counts; no failure means no quarantine.
    """
    failures = np.asarray(failures, dtype=float)
    hours = np.minimum(
        QUARANTINE_BASE_HOURS * 2.0 ** np.maximum(failures - 1, 0),
        QUARANTINE_MAX_HOURS,
    )
    return np.where(failures > 0, hours, 0.0)
