"""Writes to the price tiers: raw reports, latest prices, boot times."""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from pricing.models import OnDemandPrice, RawPriceReport, SpotPool

logger = logging.getLogger(__name__)


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

    pool, _ = SpotPool.objects.get_or_create(
        pool_id=pool_id,
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
    with transaction.atomic():
        for point in sorted(points, key=_lock_order):
            pool = None
            if point.price_type == RawPriceReport.PriceType.SPOT:
                pool = pool_get_or_create(
                    instance_type=point.instance_type,
                    az=point.az,
                    region=point.region,
                )
                _keep_latest(latest_spot, pool.pk, point)
            else:
                key = (point.instance_type, point.region)
                _keep_latest(latest_ondemand, key, point)
            rows.append(
                RawPriceReport(
                    pool=pool,
                    price_type=point.price_type,
                    instance_type=point.instance_type,
                    region=point.region or region_from_az(point.az),
                    az=point.az,
                    price=point.price,
                    source=source,
                    role=role,
                    agent_id=agent_id,
                    observed_at=point.observed_at,
                    received_at=received_at,
                )
            )
        RawPriceReport.objects.bulk_create(rows, batch_size=1000)
        for pool_pk, point in latest_spot.items():
            _pool_latest_update(pool_pk, point)
        for (instance_type, region), point in latest_ondemand.items():
            ondemand_price_set(
                instance_type=instance_type,
                region=region,
                price=point.price,
                source=source,
            )
    return len(rows)


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


def _pool_latest_update(pool_pk: int, point: PricePoint) -> None:
    # Only a newer observation moves the latest price; late reports do not.
    SpotPool.objects.filter(pk=pool_pk).filter(
        Q(latest_price_at__isnull=True) | Q(latest_price_at__lte=point.observed_at)
    ).update(latest_price=point.price, latest_price_at=point.observed_at)


def ondemand_price_set(
    *, instance_type: str, region: str, price: Decimal, source: str
) -> None:
    if not region:
        return
    OnDemandPrice.objects.update_or_create(
        instance_type=instance_type,
        region=region,
        defaults={"price": price, "source": source, "updated_at": timezone.now()},
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
