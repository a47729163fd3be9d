"""Reads for decisions and the figures agents and clients are shown."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.utils import timezone

from decisions import guardrails
from decisions.engines.base import UNKNOWN_BAND
from decisions.engines.features import fleet_features, price_features
from instances.models import AuditEvent, EmergencyEvent, Instance, Switch
from pricing.models import CanonicalPrice, InterruptionBand, OnDemandPrice

_SERVING_STATES = (
    Instance.State.RUNNING_PRIMARY,
    Instance.State.RUNNING_REPLICA,
    Instance.State.PROMOTING,
    Instance.State.TERMINATING,
    Instance.State.ZOMBIE,
    Instance.State.TERMINATED,
)


def agent_savings(*, agent) -> dict:
    """Measured spend against the on-demand counterfactual, per instance.

    Each confirmed instance is costed at the price recorded on it for the
    hours it ran; the pricing ledger refines this per instance-hour.
    """
    now = timezone.now()
    actual = ondemand = Decimal(0)
    hours_total = 0.0
    instances = Instance.objects.filter(
        agent=agent, confirmed_at__isnull=False, state__in=_SERVING_STATES
    ).only(
        "mode", "spot_price", "ondemand_price", "confirmed_at", "terminated_at"
    )
    for instance in instances:
        hours = ((instance.terminated_at or now) - instance.confirmed_at)
        hours = Decimal(max(0.0, hours.total_seconds()) / 3600)
        price = (
            instance.ondemand_price if instance.mode == Instance.Mode.ONDEMAND
            else instance.spot_price
        )
        if price is None or instance.ondemand_price is None:
            continue
        actual += price * hours
        ondemand += instance.ondemand_price * hours
        hours_total += float(hours)
    return {
        "instance_hours": round(hours_total, 3),
        "actual_cost": round(float(actual), 4),
        "on_demand_cost": round(float(ondemand), 4),
        "savings": round(float(ondemand - actual), 4),
        "currency": "USD",
    }


@dataclass
class GuardFacts:
    """What the guard rails need to know about an agent's recent history."""

    switches_last_week: int
    hours_in_pool: float | None
    previous_pool_id: str | None
    quarantined: set


_CHURN_TRIGGERS = (Switch.Trigger.MODEL, Switch.Trigger.MANUAL, Switch.Trigger.AGENT)


def agent_guard_facts(*, agent, pool_ids, now=None) -> GuardFacts:
    """Recent switches, dwell, the pool last left, and quarantined pools.

    Dwell counts from the last completed switch: a workload that was never
    moved has no dwell to serve. Emergencies do not count against the weekly
    limit, which is about churn the engine causes.
    """
    now = now or timezone.now()
    switches = Switch.objects.filter(agent=agent)
    weekly = switches.filter(
        initiated_at__gte=now - timedelta(days=7), trigger__in=_CHURN_TRIGGERS
    ).exclude(status=Switch.Status.FAILED).count()
    last = (
        switches.filter(status=Switch.Status.COMPLETED)
        .order_by("-completed_at").first()
    )
    dwell = previous = None
    if last is not None and last.completed_at is not None:
        dwell = (now - last.completed_at).total_seconds() / 3600
        if dwell < guardrails.RETURN_WINDOW_HOURS:
            previous = last.from_pool_id
    return GuardFacts(
        switches_last_week=weekly,
        hours_in_pool=dwell,
        previous_pool_id=previous,
        quarantined=pools_quarantined(
            client_id=agent.client_id, pool_ids=pool_ids, now=now
        ),
    )


def pools_quarantined(*, client_id: int, pool_ids, now=None) -> set:
    """Pools that interrupted this client's fleet or failed a launch lately.

    The back-off doubles with every failure in the look-back window, from
    the last failure: 6 h after one, 12 h after two, up to a week.
    """
    now = now or timezone.now()
    since = now - timedelta(days=guardrails.QUARANTINE_LOOKBACK_DAYS)
    failures = defaultdict(list)
    launches = AuditEvent.objects.filter(
        client_id=client_id, event_type="pool_launch_failed", created_at__gte=since
    ).values_list("details", "created_at")
    for details, at in launches:
        failures[(details or {}).get("pool_id")].append(at)
    notices = EmergencyEvent.objects.filter(
        client_id=client_id, kind=EmergencyEvent.Kind.TERMINATION,
        received_at__gte=since, instance__pool__isnull=False,
    ).values_list("instance__pool__pool_id", "received_at")
    for pool_id, at in notices:
        failures[pool_id].append(at)
    quarantined = set()
    for pool_id in pool_ids:
        moments = failures.get(pool_id)
        if not moments:
            continue
        hours = float(guardrails.quarantine_hours(len(moments)))
        if now < max(moments) + timedelta(hours=hours):
            quarantined.add(pool_id)
    return quarantined


def pool_features_get(*, pools, region: str, now=None) -> dict:
    """Band and model features of each pool now, from the canonical tier.

    The same feature code as training runs over a short hourly grid: the
    last 30 days of canonical rows (prices, interruptions, rebalances), the
    fleet's instance-hours in each pool, and the Advisor band snapshots.
    """
    pools = list(pools)
    if not pools:
        return {}

    now = now or timezone.now()
    grid = pools_hourly_grid(pools=pools, now=now)
    features = price_features(prices=grid["prices"], ondemand=grid["ondemand"])
    features.update(fleet_features(
        bands=grid["bands"], previous_bands=grid["previous_bands"],
        interruptions=grid["interruptions"], exposure_hours=grid["exposure"],
        rebalances=grid["rebalances"], rebalances_converted=grid["converted"],
    ))
    found = {}
    for row, pool in enumerate(pools):
        facts = {name: float(values[row, -1]) for name, values in features.items()}
        facts["band"] = grid["known_band"][row]
        found[pool.pool_id] = facts
    return found


def pool_bands_get(*, pools) -> dict:
    """The latest Advisor band of each pool's type, all a baseline needs."""
    pools = list(pools)
    if not pools:
        return {}

    bands = _bands_of(pools, (len(pools), 1))["known_band"]
    return {
        pool.pool_id: {"band": band}
        for pool, band in zip(pools, bands, strict=True)
    }


FEATURE_WINDOW_HOURS = 30 * 24 + 1


def pools_hourly_grid(*, pools, now, hours: int = FEATURE_WINDOW_HOURS) -> dict:
    """Pools x hours arrays of the canonical tier and fleet, ending now."""
    start = now - timedelta(hours=hours - 1)
    start = start.replace(minute=0, second=0, microsecond=0)
    index = {pool.pk: row for row, pool in enumerate(pools)}
    shape = (len(pools), hours)
    prices = np.full(shape, np.nan)
    grid = {name: np.zeros(shape) for name in (
        "interruptions", "rebalances", "converted", "exposure"
    )}

    def hour_of(moment) -> int:
        return min(int((moment - start).total_seconds() // 3600), hours - 1)

    rows = CanonicalPrice.objects.filter(
        pool_id__in=index, bucket__gte=start
    ).order_by("bucket").values_list(
        "pool_id", "bucket", "price", "rebalance_seen", "interrupted"
    )
    for pool_pk, bucket, price, rebalance, interrupted in rows:
        row, hour = index[pool_pk], hour_of(bucket)
        prices[row, hour] = float(price)
        grid["rebalances"][row, hour] += rebalance
        grid["interruptions"][row, hour] += interrupted
    for pool_pk, at in EmergencyEvent.objects.filter(
        instance__pool_id__in=index, kind=EmergencyEvent.Kind.REBALANCE,
        became_interruption=True, received_at__gte=start,
    ).values_list("instance__pool_id", "received_at"):
        grid["converted"][index[pool_pk], hour_of(at)] += 1
    _exposure_fill(grid["exposure"], index, start, now, hour_of)
    grid["prices"] = _forward_fill(prices, pools)
    grid["ondemand"] = _ondemand_of(pools, grid["prices"])
    grid.update(_bands_of(pools, shape))
    grid["start"] = start
    return grid


def _exposure_fill(exposure, index, start, now, hour_of) -> None:
    """Instance-hours of this fleet per pool and hour (whole hours)."""
    instances = Instance.objects.filter(
        pool_id__in=index, confirmed_at__isnull=False, confirmed_at__lt=now
    ).exclude(terminated_at__lt=start).values_list(
        "pool_id", "confirmed_at", "terminated_at"
    )
    for pool_pk, began, ended in instances:
        first = max(hour_of(began), 0) if began > start else 0
        last = hour_of(ended or now)
        exposure[index[pool_pk], first:last + 1] += 1


def _forward_fill(prices: np.ndarray, pools) -> np.ndarray:
    for row, pool in enumerate(pools):
        known = np.flatnonzero(~np.isnan(prices[row]))
        fallback = float(pool.latest_price or 0) if pool.latest_price else 1e-6
        if len(known) == 0:
            prices[row] = fallback
            continue
        positions = np.maximum.accumulate(
            np.where(~np.isnan(prices[row]), np.arange(prices.shape[1]), 0)
        )
        filled = prices[row, positions]
        filled[: known[0]] = prices[row, known[0]]
        prices[row] = filled
    return prices


def _ondemand_of(pools, prices) -> np.ndarray:
    known = dict(
        OnDemandPrice.objects.filter(
            instance_type__in={pool.instance_type for pool in pools}
        ).values_list("instance_type", "price")
    )
    # Without an on-demand price the ratio is taken against three times the
    # spot price, about the usual discount.
    return np.asarray([
        float(known[pool.instance_type]) if pool.instance_type in known
        else 3 * prices[row, -1]
        for row, pool in enumerate(pools)
    ])


def _bands_of(pools, shape) -> dict:
    snapshots = defaultdict(list)
    rows = InterruptionBand.objects.filter(
        instance_type__in={pool.instance_type for pool in pools},
        region__in={pool.region for pool in pools}, os="Linux",
    ).order_by("-snapshot_date").values_list("instance_type", "region", "band")
    for kind, region, band in rows:
        if len(snapshots[(kind, region)]) < 2:
            snapshots[(kind, region)].append(band)
    known = [snapshots.get((pool.instance_type, pool.region)) for pool in pools]
    current = [bands[0] if bands else UNKNOWN_BAND for bands in known]
    previous = [bands[-1] if bands else UNKNOWN_BAND for bands in known]
    return {
        "bands": np.repeat(np.asarray(current, float)[:, None], shape[1], axis=1),
        "previous_bands": np.repeat(
            np.asarray(previous, float)[:, None], shape[1], axis=1
        ),
        "known_band": [bands[0] if bands else None for bands in known],
    }
