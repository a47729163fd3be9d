"""Figures the client sees: savings from the ledger and per-pool analytics.

Savings come from the ledger's daily and monthly roll-ups. Until the ledger
has rows for a client (a fresh install before its first roll-up), the
totals fall back to a per-instance estimate from the prices recorded on
each instance, the same estimate decisions.selectors.agent_savings makes.
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Max, Min
from django.utils import timezone

from instances.models import EmergencyEvent, Instance
from instances.selectors import switch_downtime_average_ms
from pricing.models import (
    ConsolidatedPrice,
    LedgerRollup,
    RawPriceReport,
    SpotPool,
)
from pricing.selectors import ondemand_price_get, savings_daily, savings_monthly
from spotopt.events import event_publish

RISK_LOOKBACK_DAYS = 30
PRICE_HISTORY_MAX_POINTS = 2000
# Without a measured switch, a switch is assumed to cost this much downtime.
DEFAULT_SWITCH_DOWNTIME_MS = 30_000.0


def _money(value) -> float:
    return round(float(value or 0), 4)


def savings_series(*, client_id: int, period: str, since: date) -> list[dict]:
    """Per day or month from the ledger: actual, on-demand, savings, safety."""
    read = savings_monthly if period == "month" else savings_daily
    return [
        {
            "period_start": row["period_start"].isoformat(),
            "instance_hours": _money(row["instance_hours"]),
            "actual_cost": _money(row["actual_cost"]),
            "on_demand_cost": _money(row["on_demand_cost"]),
            "savings": _money(row["savings"]),
            "safety_cost": _money(row["safety_cost"]),
        }
        for row in read(client_id=client_id, since=since)
    ]


def savings_updated_publish(*, since: date) -> int:
    """Tell every client whose ledger changed since the day its new figures.

    Called after a ledger run; the event goes out after the commit like any
    other, so an open overview refreshes its savings in place.
    """
    client_ids = (
        LedgerRollup.objects.filter(period="day", period_start__gte=since)
        .values_list("client_id", flat=True).distinct().order_by()
    )
    published = 0
    for client_id in client_ids:
        summary = savings_summary(client_id=client_id)
        event_publish(
            client_id=client_id, event_type="savings.updated",
            payload={"month": summary["month"],
                     "total_savings": summary["total_savings"]},
        )
        published += 1
    return published


def savings_summary(*, client_id: int, today: date | None = None) -> dict:
    """This month's and all-time savings; estimated when the ledger is empty."""
    today = today or timezone.now().date()
    month_start = today.replace(day=1)
    months = savings_series(client_id=client_id, period="month", since=date.min)
    if months:
        this_month = [m for m in months if m["period_start"] == month_start.isoformat()]
        return {
            "source": "ledger",
            "month": this_month[0] if this_month else _empty(month_start),
            "total_savings": _money(sum(m["savings"] for m in months)),
            "currency": "USD",
        }

    return _summary_estimated(client_id, month_start)


def _empty(month_start: date) -> dict:
    return {
        "period_start": month_start.isoformat(), "instance_hours": 0.0,
        "actual_cost": 0.0, "on_demand_cost": 0.0, "savings": 0.0,
        "safety_cost": 0.0,
    }


def _summary_estimated(client_id: int, month_start: date) -> dict:
    """Each confirmed instance costed at its recorded prices for the hours it
    ran this month, as decisions.selectors.agent_savings does, in one query."""
    now = timezone.now()
    since = datetime.combine(month_start, time.min, tzinfo=UTC)
    actual = ondemand = Decimal(0)
    hours_total = Decimal(0)
    instances = Instance.objects.filter(
        client_id=client_id, confirmed_at__isnull=False,
        ondemand_price__isnull=False,
    ).exclude(state=Instance.State.LAUNCHING).exclude(
        terminated_at__lt=since
    ).only(
        "mode", "spot_price", "ondemand_price", "confirmed_at", "terminated_at"
    )
    for instance in instances:
        started = max(instance.confirmed_at, since)
        seconds = (instance.terminated_at or now) - started
        hours = Decimal(max(0.0, seconds.total_seconds()) / 3600)
        spot = instance.mode == Instance.Mode.SPOT
        price = instance.spot_price if spot else instance.ondemand_price
        if price is None:
            continue
        actual += price * hours
        ondemand += instance.ondemand_price * hours
        hours_total += hours
    month = _empty(month_start) | {
        "instance_hours": _money(hours_total), "actual_cost": _money(actual),
        "on_demand_cost": _money(ondemand), "savings": _money(ondemand - actual),
    }
    return {
        "source": "estimate", "month": month,
        "total_savings": month["savings"], "currency": "USD",
    }


def pool_risk(*, pool_ids: list[str]) -> dict[str, dict]:
    """Termination notices this fleet saw per pool lately, as a risk band."""
    since = timezone.now() - timedelta(days=RISK_LOOKBACK_DAYS)
    rows = (
        EmergencyEvent.objects.filter(
            received_at__gte=since, kind=EmergencyEvent.Kind.TERMINATION,
            instance__pool__pool_id__in=pool_ids,
        )
        .values("instance__pool__pool_id").annotate(total=Count("id")).order_by()
    )
    counts = {row["instance__pool__pool_id"]: row["total"] for row in rows}
    return {
        pool_id: {
            "interruptions_30d": counts.get(pool_id, 0),
            "risk": _risk_band(counts.get(pool_id, 0)),
        }
        for pool_id in pool_ids
    }


def _risk_band(interruptions: int) -> str:
    if interruptions == 0:
        return "low"
    return "medium" if interruptions < 3 else "high"


def pool_options(*, instance: Instance) -> list[dict]:
    """Every known pool of the instance's type and region, cheapest first."""
    pools = list(
        SpotPool.objects.filter(
            region=instance.region, instance_type=instance.instance_type
        ).order_by("latest_price", "pool_id")
    )
    risk = pool_risk(pool_ids=[pool.pool_id for pool in pools])
    ondemand = ondemand_price_get(
        instance_type=instance.instance_type, region=instance.region
    )
    return [
        {
            "pool_id": pool.pool_id,
            "az": pool.az,
            "instance_type": pool.instance_type,
            "price": _money(pool.latest_price) if pool.latest_price else None,
            "price_at": pool.latest_price_at,
            "ondemand_price": _money(ondemand) if ondemand else None,
            "current": pool.pk == instance.pool_id,
            **risk[pool.pool_id],
        }
        for pool in pools
    ]


def price_history(*, pool: SpotPool, hours: int = 24) -> list[dict]:
    """The consolidated tier of the pool, or its raw reports before the first
    consolidation run has covered it."""
    since = timezone.now() - timedelta(hours=hours)
    consolidated = ConsolidatedPrice.objects.filter(
        pool=pool, bucket__gte=since
    ).order_by("bucket")[:PRICE_HISTORY_MAX_POINTS]
    points = [
        {"at": row.bucket.isoformat(), "price": _money(row.price),
         "interpolated": row.is_interpolated}
        for row in consolidated
    ]
    if points:
        return points

    raw = RawPriceReport.objects.filter(
        pool=pool, observed_at__gte=since, price_type="spot"
    ).order_by("observed_at")[:PRICE_HISTORY_MAX_POINTS]
    return [
        {"at": row.observed_at.isoformat(), "price": _money(row.price),
         "interpolated": False}
        for row in raw
    ]


def pool_volatility(*, pool: SpotPool, hours: int = 24 * 7) -> dict:
    """Relative price range and spread of the consolidated tier over a window."""
    since = timezone.now() - timedelta(hours=hours)
    stats = ConsolidatedPrice.objects.filter(pool=pool, bucket__gte=since).aggregate(
        low=Min("price"), high=Max("price"), mean=Avg("price"), points=Count("id")
    )
    volatility = None
    if stats["mean"]:
        volatility = round(float((stats["high"] - stats["low"]) / stats["mean"]), 4)
    return {
        "pool_id": pool.pool_id,
        "window_hours": hours,
        "points": stats["points"],
        "min_price": _money(stats["low"]) if stats["low"] is not None else None,
        "max_price": _money(stats["high"]) if stats["high"] is not None else None,
        "mean_price": _money(stats["mean"]) if stats["mean"] is not None else None,
        "volatility": volatility,
    }


def switch_simulate(*, instance: Instance, target_pool: SpotPool | None) -> dict:
    """What a switch to the pool (or on-demand) would save per hour and cost.

    Prices are the pools' latest; downtime is the measured average of this
    client's completed switches (the fleet's when it has none).
    """
    ondemand = ondemand_price_get(
        instance_type=instance.instance_type, region=instance.region
    )
    current = _current_price(instance, ondemand)
    target = target_pool.latest_price if target_pool else ondemand
    downtime_ms = switch_downtime_average_ms(client_id=instance.client_id)
    measured = downtime_ms is not None
    downtime_ms = downtime_ms if measured else DEFAULT_SWITCH_DOWNTIME_MS

    saving = None
    if current is not None and target is not None:
        saving = Decimal(current) - Decimal(target)
    percent = None
    if saving is not None and current:
        percent = round(float(saving / Decimal(current) * 100), 2)
    return {
        "instance": instance.pk,
        "from_pool_id": instance.pool_key,
        "to_pool_id": target_pool.pool_id if target_pool else "ondemand",
        "current_price": _money(current) if current is not None else None,
        "target_price": _money(target) if target is not None else None,
        "ondemand_price": _money(ondemand) if ondemand is not None else None,
        "savings_per_hour": _money(saving) if saving is not None else None,
        "savings_per_month": _money(saving * 730) if saving is not None else None,
        "savings_percent": percent,
        "expected_downtime_ms": round(downtime_ms),
        "downtime_measured": measured,
    }


def _current_price(instance: Instance, ondemand):
    if instance.mode == Instance.Mode.ONDEMAND:
        return ondemand
    if instance.pool_id and instance.pool.latest_price is not None:
        return instance.pool.latest_price
    return instance.spot_price
