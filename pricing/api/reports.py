"""Turning both pricing-report dialects into raw-tier price points."""

from django.utils import timezone

from instances.models import Instance
from instances.selectors import instance_find
from pricing.models import RawPriceReport
from pricing.services import PricePoint, prices_store, region_from_az


def pricing_report_store(*, agent, data: dict) -> int:
    """Store every price of the report with the reporting instance's role."""
    instance_data = data.get("instance") or {}
    role = _reporter_role(agent, instance_data.get("instance_id", ""))
    points = []
    if data.get("pricing"):
        points += _legacy_points(agent, instance_data, data["pricing"])
    for item in data.get("pricing_data_array") or []:
        points.append(_array_point(agent, item, data.get("timestamp")))
    return prices_store(
        points=points,
        source=RawPriceReport.Source.AGENT,
        agent_id=agent.pk,
        role=role,
    )


def _reporter_role(agent, instance_id: str) -> str:
    """A replica's prices are marked so; anything else speaks for the
    primary, named or not (newer agents name no instance)."""
    instance = instance_find(agent_id=agent.pk, instance_id=instance_id)
    if instance is not None and instance.state == Instance.State.RUNNING_REPLICA:
        return RawPriceReport.Role.REPLICA
    return RawPriceReport.Role.PRIMARY


def _legacy_points(agent, instance_data: dict, pricing: dict) -> list[PricePoint]:
    observed_at = pricing.get("collected_at") or timezone.now()
    instance_type = instance_data.get("instance_type") or agent.instance_type
    region = instance_data.get("region") or agent.region
    points = []
    for pool in pricing.get("spot_pools") or []:
        pool_type, az = _split_pool_id(pool.get("pool_id", ""))
        az = pool.get("az") or az
        if not az:
            continue
        points.append(PricePoint(
            instance_type=pool_type or instance_type, az=az, region=region,
            price=pool["price"], observed_at=observed_at,
        ))
    current = pricing.get("current_spot_price")
    current_az = instance_data.get("az") or agent.az
    if current is not None and current_az and not points:
        points.append(PricePoint(
            instance_type=instance_type, az=current_az, region=region,
            price=current, observed_at=observed_at,
        ))
    ondemand = pricing.get("on_demand_price")
    if ondemand is not None:
        points.append(PricePoint(
            instance_type=instance_type, region=region, price=ondemand,
            observed_at=observed_at,
            price_type=RawPriceReport.PriceType.ONDEMAND,
        ))
    return points


def _array_point(agent, item: dict, report_time) -> PricePoint:
    observed_at = item.get("timestamp") or report_time or timezone.now()
    pool_type, pool_az = _split_pool_id(item.get("pool_id", ""))
    az = item.get("az") or pool_az
    region = item.get("region") or region_from_az(az) or agent.region
    price_type = (
        RawPriceReport.PriceType.ONDEMAND if item.get("price_type") == "ondemand"
        else RawPriceReport.PriceType.SPOT
    )
    return PricePoint(
        instance_type=item["instance_type"] or pool_type,
        az=az,
        region=region,
        price=item["value"],
        observed_at=observed_at,
        price_type=price_type,
    )


def _split_pool_id(pool_id: str) -> tuple[str, str]:
    instance_type, _, az = (pool_id or "").rpartition(".")
    if "." not in instance_type:
        return "", ""
    return instance_type, az
