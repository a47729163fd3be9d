"""The savings ledger against a scripted fleet with hand-computed totals."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from agents.models import Agent
from agents.services.clients import client_create
from instances.models import Instance, Switch
from pricing.ledger import ledger_rebuild
from pricing.models import ConsolidatedPrice, LedgerHour, OnDemandPrice
from pricing.selectors import savings_daily, savings_monthly, savings_total
from tests.pricing.factories import pool_make, raw_make

DAY = datetime(2026, 3, 2, tzinfo=UTC)


def hour(hours: float) -> datetime:
    return DAY + timedelta(hours=hours)


def instance_make(agent, name, pool=None, *, start, end, promoted=None,
                  role=Instance.Role.PRIMARY, mode=Instance.Mode.SPOT):
    return Instance.objects.create(
        agent=agent, client=agent.client, temp_instance_id=name,
        instance_id=name, pool=pool, instance_type="m5.large",
        region="us-east-1", az=pool.az if pool else "", mode=mode,
        role_hint=role, state=Instance.State.TERMINATED,
        confirmed_at=hour(start), promoted_at=promoted and hour(promoted),
        terminated_at=hour(end), spot_price=Decimal("0.9"),
    )


@pytest.fixture
def fleet(db):
    """Agent web-1 for six hours on 2 March, web-2 for one on 3 March.

    web-1: primary I1 in pool a (0.04, then 0.05 from 02:00) until a switch
    at 03:00 to I2 in pool b (0.03, known only from a raw report), launched
    at 02:45 and kept until 03:30 as overlap; a rebalance replica I3 in pool
    a from 04:00 to 04:30; at 05:00 an on-demand fallback I4 (0.096) takes
    over for an hour.
    """
    client, _ = client_create(name="fleet")
    web1 = Agent.objects.create(client=client, logical_agent_id="web-1")
    web2 = Agent.objects.create(client=client, logical_agent_id="web-2")
    pool_a, pool_b = pool_make("m5.large.us-east-1a"), pool_make(
        "m5.large.us-east-1b"
    )
    OnDemandPrice.objects.create(
        instance_type="m5.large", region="us-east-1", price=Decimal("0.096")
    )
    for at, price in [(hour(-1), "0.04"), (hour(2), "0.05")]:
        ConsolidatedPrice.objects.create(
            pool=pool_a, bucket=at, price=Decimal(price), origin="agent"
        )
    raw_make(pool_b, "0.03", -13 * 60)  # 23:00 the day before

    one = instance_make(web1, "i-1", pool_a, start=0, end=3.5)
    two = instance_make(web1, "i-2", pool_b, start=2.75, end=5, promoted=3,
                        role=Instance.Role.REPLICA)
    instance_make(web1, "i-3", pool_a, start=4, end=4.5,
                  role=Instance.Role.REPLICA)
    instance_make(web1, "i-4", start=5, end=6, promoted=5,
                  mode=Instance.Mode.ONDEMAND)
    instance_make(web2, "i-5", pool_a, start=34, end=35)
    # The switch's own price claim must not count: savings are measured.
    Switch.objects.create(
        agent=web1, client=client, trigger="model", status="completed",
        old_instance=one, new_instance=two, old_price=Decimal("5"),
        new_price=Decimal("0.01"), ondemand_price=Decimal("9"),
    )
    return client, web1, web2


def test_each_instance_hour_is_costed_at_its_pool_price_in_force(fleet):
    ledger_rebuild()

    rows = {
        (row.instance.instance_id, row.hour.hour, row.role): (
            row.fraction, row.price, row.actual_cost, row.ondemand_cost
        )
        for row in LedgerHour.objects.select_related("instance")
    }
    assert rows[("i-1", 2, "primary")] == (
        Decimal("1"), Decimal("0.05"), Decimal("0.05"), Decimal("0.096")
    )
    assert rows[("i-1", 3, "replica")] == (
        Decimal("0.5"), Decimal("0.05"), Decimal("0.025"), Decimal("0")
    )
    assert rows[("i-2", 2, "replica")][2] == Decimal("0.0075")
    assert rows[("i-2", 3, "primary")][1] == Decimal("0.03")
    assert rows[("i-4", 5, "ondemand")][2:] == (Decimal("0.096"), Decimal("0.096"))
    assert len(rows) == 10


def test_totals_match_the_hand_computed_figures(fleet):
    client, web1, _ = fleet

    ledger_rebuild()

    # actual: i-1 .04+.04+.05 primary + .025 overlap; i-2 .0075 standby +
    # .03+.03 primary; i-3 .025 replica; i-4 .096 on demand = 0.3435.
    # on-demand counterfactual: six hours of one m5.large = 0.576.
    total = savings_total(agent_id=web1.pk)
    assert total["actual_cost"] == Decimal("0.3435")
    assert total["on_demand_cost"] == Decimal("0.576")
    assert total["savings"] == Decimal("0.2325")
    assert total["replica_cost"] == Decimal("0.0575")
    assert total["fallback_cost"] == Decimal("0.096")
    assert total["safety_cost"] == Decimal("0.1535")
    assert total["instance_hours"] == Decimal("7.25")


def test_daily_and_monthly_roll_ups_sum_per_client_and_agent(fleet):
    client, web1, web2 = fleet

    ledger_rebuild()

    days = savings_daily(client_id=client.pk)
    assert [(d["period_start"], d["actual_cost"], d["savings"]) for d in days] == [
        (date(2026, 3, 2), Decimal("0.3435"), Decimal("0.2325")),
        (date(2026, 3, 3), Decimal("0.05"), Decimal("0.046")),
    ]
    assert days[1]["safety_cost"] == Decimal("0")
    [month] = savings_monthly(client_id=client.pk)
    assert month["period_start"] == date(2026, 3, 1)
    assert month["on_demand_cost"] == Decimal("0.672")
    assert month["savings"] == Decimal("0.2785")
    assert month["safety_cost"] == Decimal("0.1535")
    only_web2 = savings_daily(client_id=client.pk, agent_id=web2.pk)
    assert [d["actual_cost"] for d in only_web2] == [Decimal("0.05")]


def test_rebuilding_the_ledger_twice_gives_the_same_rows(fleet):
    client, _, _ = fleet
    ledger_rebuild()
    first = sorted(LedgerHour.objects.values_list("hour", "role", "actual_cost"))

    ledger_rebuild()
    ledger_rebuild(since=hour(3))

    assert sorted(
        LedgerHour.objects.values_list("hour", "role", "actual_cost")
    ) == first
    assert savings_monthly(client_id=client.pk)[0]["savings"] == Decimal("0.2785")
