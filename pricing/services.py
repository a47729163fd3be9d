"""Writes to the price tiers: raw reports, latest prices, boot times."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from pricing import statements
from pricing.models import RawPriceReport, SpotPool

logger = logging.getLogger(__name__)

LATEST_PRICE_REFRESH_SECONDS = 60


@dataclass(frozen=True)
class PricePoint:
    """One price as an agent or importer states it."""

    instance_type: str
    price: Decimal
    observed_at: datetime
    az: str = ""
    region: str = ""
    price_type: str = RawPriceReport.PriceType.SPOT


def region_from_az(az: str) -> str:
    """us-east-1b -> us-east-1; zone names end in one letter."""
    if az and az[-1].isalpha() and az[-2:-1].isdigit():
        return az[:-1]
    return az


def pool_get_or_create(*, instance_type: str, az: str, region: str = "") -> SpotPool:
    pool_id = SpotPool.make_pool_id(instance_type, az)
    pool = SpotPool.objects.filter(pool_id=pool_id).first()
    if pool is not None:
        return pool
    return _pool_made(instance_type=instance_type, az=az, region=region)


def _pool_made(*, instance_type: str, az: str, region: str) -> SpotPool:
    """The pool, created unless a racing request made it first."""
    pool, _ = SpotPool.objects.get_or_create(
        pool_id=SpotPool.make_pool_id(instance_type, az),
        defaults={
            "instance_type": instance_type,
            "az": az,
            "region": region or region_from_az(az),
        },
    )
    return pool


def pool_parse(pool_id: str, region: str = "") -> SpotPool | None:
    """Find or create the pool named `<instance_type>.<az>`."""
    pool = SpotPool.objects.filter(pool_id=pool_id).first()
    if pool is not None:
        return pool

    instance_type, _, az = pool_id.rpartition(".")
    if not instance_type or "." not in instance_type or not az:
        return None
    return pool_get_or_create(instance_type=instance_type, az=az, region=region)


def prices_store(
    *,
    points: list[PricePoint],
    source: str,
    agent_id: int | None = None,
    role: str = RawPriceReport.Role.NONE,
) -> int:
    """Store the points in the raw tier and move the latest-price columns.

    Returns how many prices were stored.
    """
    received_at = timezone.now()
    rows = []
    latest_spot: dict[int, PricePoint] = {}
    latest_ondemand: dict[tuple[str, str], PricePoint] = {}
    # Inside a request's transaction a savepoint of its own would only cost
    # two round trips: nothing here is caught and carried on from.
    with transaction.atomic(savepoint=False):
        ordered = sorted(points, key=_lock_order)
        pools = _pools_named(ordered)
        for point in ordered:
            pool = None
            if point.price_type == RawPriceReport.PriceType.SPOT:
                pool = pools[SpotPool.make_pool_id(point.instance_type, point.az)]
                _keep_latest(latest_spot, pool, point)
            else:
                key = (point.instance_type, point.region)
                _keep_latest(latest_ondemand, key, point)
            rows.append((
                pool, point.price_type, point.instance_type,
                point.region or region_from_az(point.az), point.az, point.price,
                source, role, agent_id, point.observed_at, received_at,
            ))
        statements.raw_reports_insert(rows)
        statements.pools_latest_move([
            (pool, point.price, point.observed_at, _restated_since(point))
            for pool, point in latest_spot.items()
        ])
        statements.ondemand_prices_upsert(
            [
                (instance_type, region, point.price)
                for (instance_type, region), point in latest_ondemand.items()
                if region
            ],
            source=source, now=received_at,
        )
    return len(rows)


def _pools_named(ordered: list[PricePoint]) -> dict[str, int]:
    """The primary keys of the points' spot pools by pool id: the known
    ones in one read, new ones created in lock order."""
    spot = [p for p in ordered if p.price_type == RawPriceReport.PriceType.SPOT]
    wanted = {SpotPool.make_pool_id(p.instance_type, p.az): p for p in spot}
    pools = statements.pool_ids_read(list(wanted))
    for pool_id, point in wanted.items():
        if pool_id not in pools:
            pools[pool_id] = _pool_made(
                instance_type=point.instance_type, az=point.az, region=point.region
            ).pk
    return pools


def _lock_order(point: PricePoint) -> tuple:
    """Pools are created and updated in one order in every transaction.

    Two reports naming the same pools in different orders would otherwise
    each hold one pool row (or a new pool's unique key) while waiting for
    the other's: a deadlock that PostgreSQL resolves by failing a request.
    The sort is stable, so reports of one pool keep their given order.
    """
    return (point.price_type, point.instance_type, point.az, point.region)


def _keep_latest(latest: dict, key, point: PricePoint) -> None:
    if key not in latest or latest[key].observed_at <= point.observed_at:
        latest[key] = point


def _restated_since(point: PricePoint) -> datetime:
    """A pool's latest price is moved only to a newer observation, and not
    by one that restates the same price under LATEST_PRICE_REFRESH_SECONDS
    after it: every agent of a region reports the same pools, so most
    reports repeat a moment-old statement, and the row is then neither
    written nor locked. The latest price's time lags by at most that long;
    freshness is judged in hours. The condition is the UPDATE's, so a
    report racing another is judged on the row as that one left it.
    """
    return point.observed_at - timedelta(seconds=LATEST_PRICE_REFRESH_SECONDS)


def ondemand_price_set(
    *, instance_type: str, region: str, price: Decimal, source: str
) -> None:
    if not region:
        return
    statements.ondemand_prices_upsert(
        [(instance_type, region, price)], source=source, now=timezone.now()
    )


def pool_boot_time_record(*, pool_id: int, boot_seconds: float) -> None:
    """Fold one measured boot into the pool's running average."""
    pool = SpotPool.objects.select_for_update().filter(pk=pool_id).first()
    if pool is None or boot_seconds < 0:
        return

    samples = pool.boot_samples
    average = pool.avg_boot_seconds or 0.0
    SpotPool.objects.filter(pk=pool_id).update(
        avg_boot_seconds=(average * samples + boot_seconds) / (samples + 1),
        boot_samples=F("boot_samples") + 1,
    )
