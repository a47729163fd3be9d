"""The agent's hands on EC2, through boto3.

The agent depends on the four methods of `Ec2Cloud`; the fleet simulator
supplies another class with the same methods, so the agent code it runs is
this code.
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

logger = logging.getLogger(__name__)

PRICE_LOOKBACK_HOURS = 6
PRODUCT_DESCRIPTION = "Linux/UNIX"


class CloudError(Exception):
    """The cloud refused or failed an operation."""


@dataclass(frozen=True)
class SpotPrice:
    instance_type: str
    az: str
    price: str
    timestamp: datetime


class Ec2Cloud:
    """RunInstances, TerminateInstances, CreateTags, DescribeSpotPriceHistory."""

    def __init__(self, *, region: str, endpoint_url: str = "", subnet_id: str = "",
                 default_ami_id: str = "", client=None):
        self.region = region
        self.subnet_id = subnet_id
        self.default_ami_id = default_ami_id
        self._ec2 = client or boto3.client(
            "ec2", region_name=region, endpoint_url=endpoint_url or None,
            config=Config(retries={"max_attempts": 5, "mode": "standard"}),
        )

    def instance_launch(self, *, instance_type: str, az: str, market: str,
                        ami_id: str = "", tags: dict | None = None) -> str:
        """Start one instance in the pool and market; return its id."""
        request = {
            "ImageId": ami_id or self.default_ami_id,
            "InstanceType": instance_type,
            "MinCount": 1,
            "MaxCount": 1,
            "Placement": {"AvailabilityZone": az},
        }
        if market == "spot":
            request["InstanceMarketOptions"] = {
                "MarketType": "spot",
                "SpotOptions": {
                    "SpotInstanceType": "one-time",
                    "InstanceInterruptionBehavior": "terminate",
                },
            }
        if self.subnet_id:
            request["SubnetId"] = self.subnet_id
        if tags:
            request["TagSpecifications"] = [
                {"ResourceType": "instance", "Tags": _tag_list(tags)}
            ]
        try:
            answer = self._ec2.run_instances(**request)
        except (ClientError, BotoCoreError) as error:
            raise CloudError(f"RunInstances failed: {error}")
        instance_id = answer["Instances"][0]["InstanceId"]
        logger.info("Launched %s (%s, %s, %s)", instance_id, instance_type, az, market)
        return instance_id

    def instance_wait_running(self, instance_id: str, *, timeout: float,
                              sleep=time.sleep, poll_seconds: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self._state(instance_id)
            if state == "running":
                return
            if state in ("shutting-down", "terminated", "stopped"):
                raise CloudError(f"{instance_id} is {state}, not running")
            if time.monotonic() > deadline:
                raise CloudError(f"{instance_id} not running after {timeout:.0f} s")
            sleep(poll_seconds)

    def _state(self, instance_id: str) -> str:
        try:
            answer = self._ec2.describe_instances(InstanceIds=[instance_id])
        except (ClientError, BotoCoreError) as error:
            raise CloudError(f"DescribeInstances failed: {error}")
        for reservation in answer["Reservations"]:
            for instance in reservation["Instances"]:
                return instance["State"]["Name"]
        return "unknown"

    def instance_terminate(self, instance_id: str) -> None:
        try:
            self._ec2.terminate_instances(InstanceIds=[instance_id])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "InvalidInstanceID.NotFound":
                # Already gone: the outcome the command asked for.
                return
            raise CloudError(f"TerminateInstances failed: {error}")
        except BotoCoreError as error:
            raise CloudError(f"TerminateInstances failed: {error}")
        logger.info("Terminated %s", instance_id)

    def instance_tag(self, instance_id: str, tags: dict) -> None:
        try:
            self._ec2.create_tags(Resources=[instance_id], Tags=_tag_list(tags))
        except (ClientError, BotoCoreError) as error:
            raise CloudError(f"CreateTags failed: {error}")

    def spot_prices(self, *, instance_types: list[str]) -> list[SpotPrice]:
        """The latest spot price of each (type, AZ) pool of these types."""
        if not instance_types:
            return []

        start = datetime.now(UTC) - timedelta(hours=PRICE_LOOKBACK_HOURS)
        latest: dict[tuple[str, str], SpotPrice] = {}
        try:
            pages = self._ec2.get_paginator("describe_spot_price_history").paginate(
                InstanceTypes=instance_types,
                ProductDescriptions=[PRODUCT_DESCRIPTION],
                StartTime=start,
            )
            for page in pages:
                for item in page["SpotPriceHistory"]:
                    price = SpotPrice(
                        instance_type=item["InstanceType"],
                        az=item["AvailabilityZone"],
                        price=item["SpotPrice"],
                        timestamp=item["Timestamp"],
                    )
                    key = (price.instance_type, price.az)
                    if key not in latest or latest[key].timestamp < price.timestamp:
                        latest[key] = price
        except (ClientError, BotoCoreError) as error:
            raise CloudError(f"DescribeSpotPriceHistory failed: {error}")
        return sorted(latest.values(), key=lambda p: (p.instance_type, p.az))


    def ondemand_prices(self, *, instance_types: list[str]) -> dict[str, str]:
        """On-demand prices come from the Pricing API on the server side.

        The agent reports one only when configured with `ondemand_price`.
        """
        return {}


def _tag_list(tags: dict) -> list[dict]:
    return [{"Key": key, "Value": str(value)} for key, value in tags.items()]
