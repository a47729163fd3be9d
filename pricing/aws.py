"""Price collection from AWS: spot history and on-demand list prices.

Credentials come from boto3's standard chain (environment, profile,
instance role). Callers may pass a client, which is how tests stub AWS.
"""

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import boto3
from django.utils import timezone

from pricing.imports import RawHistoryWriter, in_batches
from pricing.models import OnDemandPrice, RawPriceReport

logger = logging.getLogger(__name__)

LINUX = "Linux/UNIX"
# The Pricing API is served from a few regions only; its data covers all.
PRICING_API_REGION = "us-east-1"


def spot_prices_fetch(
    *,
    region: str,
    since: datetime,
    instance_types: list[str] | None = None,
    client=None,
) -> dict:
    """Page through DescribeSpotPriceHistory into the raw tier (aws_api).

    Only Linux/UNIX prices are kept (a pool does not carry an OS). Points
    already fetched are skipped, so overlapping windows are harmless.
    Raises botocore's NoCredentialsError when the chain finds none.
    """
    client = client or boto3.client("ec2", region_name=region)
    writer = RawHistoryWriter(source=RawPriceReport.Source.AWS_API)
    for batch in in_batches(_spot_points(client, region, since, instance_types)):
        writer.write(batch)
    stored = writer.finish()
    logger.info("Fetched spot prices for %s since %s: %s new", region, since, stored)
    return {"read": writer.read, "stored": stored, "pools": len(writer.pools)}


def _spot_points(client, region, since, instance_types) -> Iterator[tuple]:
    arguments = {
        "StartTime": since,
        "EndTime": timezone.now(),
        "ProductDescriptions": [LINUX],
    }
    if instance_types:
        arguments["InstanceTypes"] = instance_types
    pages = client.get_paginator("describe_spot_price_history").paginate(
        **arguments
    )
    for page in pages:
        for item in page.get("SpotPriceHistory", []):
            # Older accounts also see "Linux/UNIX (Amazon VPC)": the same OS.
            if not item.get("ProductDescription", LINUX).startswith(LINUX):
                continue
            yield (item["InstanceType"], item["AvailabilityZone"], region,
                   item["Timestamp"], Decimal(item["SpotPrice"]))


def ondemand_prices_fetch(
    *, region: str, instance_types: list[str] | None = None, client=None
) -> dict:
    """Read Linux, shared-tenancy on-demand prices from the Pricing API."""
    client = client or boto3.client("pricing", region_name=PRICING_API_REGION)
    filters = [
        ("regionCode", region),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
    ]
    if instance_types and len(instance_types) == 1:
        filters.append(("instanceType", instance_types[0]))
    pages = client.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2",
        Filters=[
            {"Type": "TERM_MATCH", "Field": field, "Value": value}
            for field, value in filters
        ],
    )
    stored = 0
    for page in pages:
        for document in page.get("PriceList", []):
            parsed = _ondemand_price(json.loads(document))
            if parsed is None:
                continue
            instance_type, price = parsed
            if instance_types and instance_type not in instance_types:
                continue
            OnDemandPrice.objects.update_or_create(
                instance_type=instance_type, region=region,
                defaults={"price": price, "source": "aws_api",
                          "updated_at": timezone.now()},
            )
            stored += 1
    logger.info("Fetched %s on-demand prices for %s", stored, region)
    return {"stored": stored}


def _ondemand_price(product: dict) -> tuple[str, Decimal] | None:
    """The hourly USD price of one Pricing API product, if it has one."""
    instance_type = product.get("product", {}).get("attributes", {}).get(
        "instanceType"
    )
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if instance_type and usd and dimension.get("unit") == "Hrs":
                price = Decimal(usd)
                if price > 0:
                    return instance_type, price
    return None
