"""Small builders for pricing tests: pools and raw reports at known times."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pricing.models import RawPriceReport, SpotPool

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """The time `minutes` after T0, the start of a 5-minute bucket."""
    return T0 + timedelta(minutes=minutes)


def pool_make(pool_id: str = "m5.large.us-east-1a") -> SpotPool:
    instance_type, _, az = pool_id.rpartition(".")
    pool, _ = SpotPool.objects.get_or_create(
        pool_id=pool_id,
        defaults={"instance_type": instance_type, "az": az, "region": az[:-1]},
    )
    return pool


def raw_make(
    pool: SpotPool,
    price: str,
    observed_minutes: float,
    *,
    role: str = RawPriceReport.Role.PRIMARY,
    source: str = RawPriceReport.Source.AGENT,
    received_at: datetime | None = None,
) -> RawPriceReport:
    observed_at = at(observed_minutes)
    return RawPriceReport.objects.create(
        pool=pool,
        instance_type=pool.instance_type,
        region=pool.region,
        az=pool.az,
        price=Decimal(price),
        source=source,
        role=role,
        observed_at=observed_at,
        received_at=received_at or observed_at + timedelta(seconds=5),
    )
