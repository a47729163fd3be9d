"""Pricing selectors others rely on: price in force, agent savings."""

from decimal import Decimal

import pytest

from pricing.ledger import ledger_rebuild
from pricing.models import ConsolidatedPrice
from pricing.selectors import agent_savings_report, price_in_force
from tests.pricing.factories import at, pool_make, raw_make


@pytest.mark.django_db
def test_the_price_in_force_prefers_the_consolidated_tier_then_raw():
    consolidated, raw_only = pool_make(), pool_make("m5.large.us-east-1b")
    ConsolidatedPrice.objects.create(
        pool=consolidated, bucket=at(0), price=Decimal("0.04"), origin="agent"
    )
    raw_make(consolidated, "0.09", 1)
    raw_make(raw_only, "0.03", 0)
    raw_make(raw_only, "0.05", 10)

    assert price_in_force(pool_id=consolidated.pk, at=at(7)) == Decimal("0.04")
    assert price_in_force(pool_id=raw_only.pk, at=at(7)) == Decimal("0.03")
    assert price_in_force(pool_id=raw_only.pk, at=at(-1)) is None


def test_agent_savings_are_estimated_until_the_ledger_has_hours(priced):
    before = agent_savings_report(agent=priced)

    ledger_rebuild()
    after = agent_savings_report(agent=priced)

    assert before["source"] == "estimate"
    assert after["source"] == "ledger"
    assert after["on_demand_cost"] >= after["actual_cost"] >= 0
    assert set(after) >= {"actual_cost", "on_demand_cost", "savings",
                          "safety_cost", "instance_hours", "currency"}


def test_the_statistics_endpoint_reports_the_ledger(owner, priced):
    ledger_rebuild()

    body = owner.get(f"/api/agents/{priced.pk}/statistics").json()

    assert body["savings"]["source"] == "ledger"
