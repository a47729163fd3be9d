"""Reads of prices and pools that decisions and orchestration rely on."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from pricing.models import (
    ConsolidatedPrice,
    LedgerHour,
    LedgerRollup,
    OnDemandPrice,
    RawPriceReport,
    SpotPool,
)

# A pool that has never been measured is assumed to boot this fast.
DEFAULT_BOOT_SECONDS = 90.0


def pools_priced(*, region: str, instance_types: list[str] | None = None):
    """Pools of the region with a recent enough latest price."""
    fresh_since = timezone.now() - timedelta(hours=settings.PRICE_FRESHNESS_HOURS)
    pools = SpotPool.objects.filter(
        region=region, latest_price__isnull=False, latest_price_at__gte=fresh_since
    )
    if instance_types:
        pools = pools.filter(instance_type__in=instance_types)
    return pools.order_by("latest_price", "pool_id")


def pools_known(*, region: str, instance_types: list[str] | None = None):
    pools = SpotPool.objects.filter(region=region)
    if instance_types:
        pools = pools.filter(instance_type__in=instance_types)
    return pools


def ondemand_price_get(*, instance_type: str, region: str) -> Decimal | None:
    row = (
        OnDemandPrice.objects.filter(instance_type=instance_type, region=region)
        .values_list("price", flat=True)
        .first()
    )
    return row


def pool_boot_seconds(pool: SpotPool) -> float:
    return pool.avg_boot_seconds or DEFAULT_BOOT_SECONDS


def _savings_rows(*, period: str, client_id: int, agent_id, since, until) -> list:
    rows = LedgerRollup.objects.filter(client_id=client_id, period=period)
    if agent_id is not None:
        rows = rows.filter(agent_id=agent_id)
    if since is not None:
        rows = rows.filter(period_start__gte=since)
    if until is not None:
        rows = rows.filter(period_start__lt=until)
    sums = (
        rows.values("period_start")
        .annotate(
            instance_hours=Sum("instance_hours"),
            actual_cost=Sum("actual_cost"),
            on_demand_cost=Sum("ondemand_cost"),
            replica_cost=Sum("replica_cost"),
            fallback_cost=Sum("fallback_cost"),
        )
        .order_by("period_start")
    )
    return [_savings_figures(row, period_start=row["period_start"]) for row in sums]


def _savings_figures(row: dict, **extra) -> dict:
    actual = row["actual_cost"] or Decimal(0)
    ondemand = row["on_demand_cost"] or Decimal(0)
    replica = row["replica_cost"] or Decimal(0)
    fallback = row["fallback_cost"] or Decimal(0)
    return {
        **extra,
        "instance_hours": row["instance_hours"] or Decimal(0),
        "actual_cost": actual,
        "on_demand_cost": ondemand,
        "savings": ondemand - actual,
        "safety_cost": replica + fallback,
        "replica_cost": replica,
        "fallback_cost": fallback,
    }


def savings_daily(
    *,
    client_id: int,
    agent_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[dict]:
    """Per day from the ledger: actual, on-demand, savings, safety cost.

    Sums every agent of the client unless `agent_id` narrows it; amounts are
    Decimal US dollars, `until` is exclusive.
    """
    return _savings_rows(period=LedgerRollup.Period.DAY, client_id=client_id,
                         agent_id=agent_id, since=since, until=until)


def savings_monthly(
    *,
    client_id: int,
    agent_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[dict]:
    """Per calendar month, as `savings_daily`; period_start is the 1st."""
    return _savings_rows(period=LedgerRollup.Period.MONTH, client_id=client_id,
                         agent_id=agent_id, since=since, until=until)


def savings_total(*, agent_id: int) -> dict:
    """An agent's measured spend and savings over all its ledger hours.

    Read from the hour rows, not the roll-ups, so it is as fresh as the
    last hourly ledger run.
    """
    sums = LedgerHour.objects.filter(agent_id=agent_id).aggregate(
        hours=Sum("fraction"),
        actual=Sum("actual_cost"),
        ondemand=Sum("ondemand_cost"),
        replica=Sum("actual_cost", filter=Q(role=LedgerHour.Role.REPLICA)),
        fallback=Sum("actual_cost", filter=Q(role=LedgerHour.Role.ONDEMAND)),
    )
    return _savings_figures({
        "instance_hours": sums["hours"], "actual_cost": sums["actual"],
        "on_demand_cost": sums["ondemand"], "replica_cost": sums["replica"],
        "fallback_cost": sums["fallback"],
    })


def price_in_force(*, pool_id: int, at: datetime) -> Decimal | None:
    """The pool's price at a moment: consolidated tier, else latest raw."""
    consolidated = (
        ConsolidatedPrice.objects.filter(pool_id=pool_id, bucket__lte=at)
        .order_by("-bucket")
        .values_list("price", flat=True)
        .first()
    )
    if consolidated is not None:
        return consolidated

    return (
        RawPriceReport.objects.filter(
            pool_id=pool_id,
            price_type=RawPriceReport.PriceType.SPOT,
            observed_at__lte=at,
        )
        .order_by("-observed_at", "-id")
        .values_list("price", flat=True)
        .first()
    )


def agent_savings_report(*, agent) -> dict:
    """The statistics endpoint's savings: the ledger, or an estimate before it.

    Until the hourly ledger job has written an hour for the agent, the
    per-instance estimate of decisions.selectors stands in, marked as such.
    """
    from decisions.selectors import agent_savings

    if not LedgerHour.objects.filter(agent_id=agent.pk).exists():
        return {**agent_savings(agent=agent), "source": "estimate"}

    figures = savings_total(agent_id=agent.pk)
    return {
        "instance_hours": round(float(figures["instance_hours"]), 3),
        "actual_cost": round(float(figures["actual_cost"]), 4),
        "on_demand_cost": round(float(figures["on_demand_cost"]), 4),
        "savings": round(float(figures["savings"]), 4),
        "safety_cost": round(float(figures["safety_cost"]), 4),
        "currency": "USD",
        "source": "ledger",
    }
