"""Reads of prices and pools that decisions and orchestration rely on."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from pricing.models import OnDemandPrice, SpotPool

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
