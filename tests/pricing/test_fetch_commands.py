"""fetch_spot_prices and fetch_ondemand_prices against a faked AWS."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from django.core.management import CommandError, call_command
from moto import mock_aws

from pricing.aws import ondemand_prices_fetch, spot_prices_fetch
from pricing.models import OnDemandPrice, RawPriceReport, SpotPool

SINCE = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def aws_credentials(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    for name in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    # No instance metadata service to ask on a test machine.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.django_db
def test_fetch_spot_prices_stores_the_history_moto_serves(aws_credentials):
    with mock_aws():
        call_command("fetch_spot_prices", "--region", "us-east-1",
                     "--since", "2026-03-01T00:00:00Z",
                     "--instance-types", "m5.large", verbosity=0)

    rows = RawPriceReport.objects.filter(source="aws_api")
    assert rows.exists()
    assert set(rows.values_list("instance_type", flat=True)) == {"m5.large"}
    assert SpotPool.objects.filter(
        instance_type="m5.large", region="us-east-1"
    ).count() == rows.values("pool").distinct().count()


def _spot_item(az: str, price: str, hour: int) -> dict:
    return {
        "AvailabilityZone": az, "InstanceType": "m5.large",
        "ProductDescription": "Linux/UNIX", "SpotPrice": price,
        "Timestamp": datetime(2026, 3, 1, hour, tzinfo=UTC),
    }


@pytest.mark.django_db
def test_fetching_pages_through_the_history_and_skips_known_points():
    client = boto3.client("ec2", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    pages = [
        {"SpotPriceHistory": [_spot_item("us-east-1a", "0.0400", 1)],
         "NextToken": "page-2"},
        {"SpotPriceHistory": [_spot_item("us-east-1a", "0.0410", 2),
                              _spot_item("us-east-1b", "0.0380", 2)]},
    ]

    with Stubber(client) as stubber:
        for page in pages * 2:
            stubber.add_response("describe_spot_price_history", page)
        first = spot_prices_fetch(region="us-east-1", since=SINCE, client=client)
        again = spot_prices_fetch(region="us-east-1", since=SINCE, client=client)

    assert (first["read"], first["stored"], again["stored"]) == (3, 3, 0)
    assert RawPriceReport.objects.filter(source="aws_api").count() == 3
    pool = SpotPool.objects.get(pool_id="m5.large.us-east-1a")
    assert str(pool.latest_price) == "0.041000"


def _product(instance_type: str, usd: str) -> str:
    return json.dumps({
        "product": {"attributes": {"instanceType": instance_type}},
        "terms": {"OnDemand": {"T1": {"priceDimensions": {"D1": {
            "unit": "Hrs", "pricePerUnit": {"USD": usd},
        }}}}},
    })


@pytest.mark.django_db
def test_ondemand_prices_come_from_the_pricing_api_products():
    client = boto3.client("pricing", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_products",
            {"PriceList": [_product("m5.large", "0.0960000000"),
                           _product("c5.large", "0.0000000000")],
             "FormatVersion": "aws_v1", "NextToken": "more"},
        )
        stubber.add_response(
            "get_products",
            {"PriceList": [_product("c5.large", "0.0850000000")],
             "FormatVersion": "aws_v1"},
        )
        counts = ondemand_prices_fetch(region="us-east-1", client=client)

    assert counts == {"stored": 2}
    prices = dict(OnDemandPrice.objects.values_list("instance_type", "price"))
    assert {name: str(price) for name, price in prices.items()} == {
        "m5.large": "0.096000", "c5.large": "0.085000",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["fetch_spot_prices", "fetch_ondemand_prices"])
def test_fetching_without_credentials_is_a_clear_command_error(
    no_credentials, command
):
    arguments = ["--region", "us-east-1"]
    if command == "fetch_spot_prices":
        arguments += ["--since", "2026-03-01"]

    with pytest.raises(CommandError, match="No AWS credentials found"):
        call_command(command, *arguments)
