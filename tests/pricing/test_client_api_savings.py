"""Savings, switch history, chart data and CSV exports, from the ledger."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from instances.models import Switch
from pricing.models import LedgerRollup


def _rollup(agent, period, start, actual, ondemand, replica="0"):
    LedgerRollup.objects.create(
        agent=agent, client_id=agent.client_id, period=period,
        period_start=start, instance_hours=Decimal(24),
        actual_cost=Decimal(actual), ondemand_cost=Decimal(ondemand),
        replica_cost=Decimal(replica), fallback_cost=Decimal(0),
    )


def _ledger(agent):
    today = timezone.now().date()
    _rollup(agent, "day", today - timedelta(days=1), "0.72", "2.30", "0.10")
    _rollup(agent, "day", today, "0.70", "2.30")
    _rollup(agent, "month", today.replace(day=1), "1.42", "4.60", "0.10")
    return today


def test_savings_come_from_the_ledger_roll_ups(owner, registered):
    today = _ledger(registered)

    body = owner.get(f"/api/client/{owner.client.pk}/savings").json()

    assert body["source"] == "ledger"
    assert body["month"]["savings"] == 3.18
    assert body["month"]["safety_cost"] == 0.1
    assert [row["period_start"] for row in body["daily"]] == [
        (today - timedelta(days=1)).isoformat(), today.isoformat()
    ]


def test_savings_are_estimated_before_the_ledger_has_rows(owner, priced):
    body = owner.get(f"/api/client/{owner.client.pk}/savings").json()

    assert body["source"] == "estimate"
    assert body["daily"] == []


def test_charts_carry_savings_switches_and_instance_states(owner, registered):
    _ledger(registered)
    Switch.objects.create(
        agent=registered, client=owner.client, trigger="manual",
        status="completed", downtime_ms=900,
    )

    body = owner.get(f"/api/client/{owner.client.pk}/stats/charts").json()

    assert len(body["savings_daily"]) == 2
    assert body["switches_daily"][0]["count"] == 1
    assert body["instances_by_state"]["running_primary"] == 1


def test_the_switch_history_is_filtered_and_query_bounded(
    owner, registered, django_assert_max_num_queries
):
    for status in ("completed", "failed", "completed"):
        Switch.objects.create(
            agent=registered, client=owner.client, trigger="manual", status=status
        )

    with django_assert_max_num_queries(4):
        body = owner.get(
            f"/api/client/{owner.client.pk}/switch-history?status=completed"
        ).json()

    assert body["count"] == 2
    assert body["results"][0]["logical_agent_id"] == "web-1"


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_savings_export_is_a_csv_of_the_daily_ledger(owner, registered):
    _ledger(registered)

    response = owner.get(f"/api/client/{owner.client.pk}/export/savings")

    assert response["Content-Type"] == "text/csv"
    rows = _rows(response)
    assert rows[0][:2] == ["period_start", "instance_hours"]
    assert [row[4] for row in rows[1:]] == ["1.58", "1.6"]


def test_the_switch_history_export_lists_every_switch(owner, registered):
    Switch.objects.create(
        agent=registered, client=owner.client, trigger="manual",
        status="completed", from_pool_id="a", to_pool_id="b", downtime_ms=1500,
    )

    rows = _rows(owner.get(f"/api/client/{owner.client.pk}/export/switch-history"))

    assert rows[1][1:6] == ["web-1", "manual", "completed", "a", "b"]
    assert rows[1][11] == "1500"


def test_the_savings_page_embeds_chart_data_and_export_links(
    owner_web, registered, django_assert_max_num_queries
):
    _ledger(registered)
    for _ in range(5):
        Switch.objects.create(
            agent=registered, client=registered.client, trigger="manual",
            status="completed",
        )

    with django_assert_max_num_queries(10):
        response = owner_web.get("/savings/")

    assert response.status_code == 200
    assert len(response.context["daily"]) == 2
    assert b'id="daily-data"' in response.content
    assert b"vendor/plotly.min.js" in response.content
    assert b'href="/savings/export/switch-history.csv"' in response.content


def test_the_monthly_export_from_the_page_is_a_csv(owner_web, registered):
    _ledger(registered)

    response = owner_web.get("/savings/export/savings.csv?period=month")

    assert _rows(response)[1][0] == date.today().replace(day=1).isoformat()
