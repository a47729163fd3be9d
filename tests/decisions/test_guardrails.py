"""Each guard rail blocks what it should and nothing else."""

import pytest

from decisions.guardrails import (
    GuardInputs,
    candidates_acceptable,
    quarantine_hours,
    switch_check,
)

CONFIG = {"max_switches_per_week": 3, "min_pool_duration_hours": 2.0,
          "min_savings_percent": 10.0, "risk_threshold": 0.3}


def proposal(**changes) -> GuardInputs:
    values = {"auto_switch": True, "switches_last_week": 0, "hours_in_pool": 5.0,
                  "current_cost": 1.0, "target_cost": 0.8, "current_risk": 0.01,
                  "target_is_previous_pool": False}
    values.update(changes)
    return GuardInputs(**values)


def test_a_good_switch_passes_every_rule():
    assert switch_check(inputs=proposal(), config=CONFIG) == (True, "allowed", False)


@pytest.mark.parametrize("changes, reason", [
    ({"auto_switch": False}, "auto-switch is off"),
    ({"switches_last_week": 3}, "weekly switch limit reached"),
    ({"hours_in_pool": 1.0}, "minimum time in the current pool not yet served"),
    ({"target_cost": 0.95}, "saving after the switch's cost is under the minimum"),
    ({"target_is_previous_pool": True, "target_cost": 0.85},
     "returning to the pool just left needs a larger saving"),
])
def test_each_rule_blocks_its_own_case(changes, reason):
    allowed, why, _ = switch_check(inputs=proposal(**changes), config=CONFIG)

    assert (allowed, why) == (False, reason)


def test_rules_stop_just_short_of_their_limits():
    just_inside = proposal(switches_last_week=2, hours_in_pool=2.0,
                           target_cost=0.899)

    assert switch_check(inputs=just_inside, config=CONFIG)[0] is True


def test_hysteresis_lets_a_large_enough_saving_return():
    back = proposal(target_is_previous_pool=True, target_cost=0.79)

    assert switch_check(inputs=back, config=CONFIG)[0] is True


def test_a_zero_minimum_saving_still_refuses_near_equal_pools():
    config = {**CONFIG, "min_savings_percent": 0.0}

    allowed, _, _ = switch_check(inputs=proposal(target_cost=0.99), config=config)

    assert allowed is False


def test_a_risky_current_pool_overrides_dwell_and_savings_not_the_weekly_limit():
    urgent = proposal(current_risk=0.5, hours_in_pool=0.1, target_cost=0.99)
    exhausted = proposal(current_risk=0.5, switches_last_week=3)

    assert switch_check(inputs=urgent, config=CONFIG) == (True, "allowed", True)
    assert switch_check(inputs=exhausted, config=CONFIG)[0] is False


def test_risky_and_quarantined_targets_are_not_acceptable_but_current_is():
    acceptable = candidates_acceptable(
        risks=[0.5, 0.1, 0.1, 0.5], is_current=[False, False, False, True],
        quarantined=[False, True, False, False], risk_threshold=0.3,
    )

    assert acceptable.tolist() == [False, False, True, True]


def test_quarantine_backs_off_exponentially_up_to_a_week():
    hours = [float(quarantine_hours(n)) for n in range(7)]

    assert hours == [0.0, 6.0, 12.0, 24.0, 48.0, 96.0, 168.0]
    assert float(quarantine_hours(20)) == 168.0
