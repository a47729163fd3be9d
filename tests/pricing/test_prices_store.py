"""Storing reported prices: every report in the raw tier, the pools' latest
price moved only by what is new, and on-demand prices upserted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pricing.models import OnDemandPrice, RawPriceReport, SpotPool
from pricing.services import LATEST_PRICE_REFRESH_SECONDS, PricePoint, prices_store

pytestmark = pytest.mark.django_db


def _spot(price: str, observed_at, az="us-east-1a") -> PricePoint:
    return PricePoint(
        instance_type="m5.large", az=az, region="us-east-1",
        price=Decimal(price), observed_at=observed_at,
    )


def _store(*points: PricePoint) -> None:
    prices_store(points=list(points), source=RawPriceReport.Source.AGENT)


def _pool(az="us-east-1a") -> SpotPool:
    return SpotPool.objects.get(pool_id=f"m5.large.{az}")


def test_a_repeat_of_the_latest_price_is_stored_raw_without_moving_the_pool():
    stated = timezone.now()
    _store(_spot("0.031", stated))

    _store(_spot("0.031000", stated + timedelta(seconds=20)))

    assert _pool().latest_price_at == stated
    assert RawPriceReport.objects.filter(pool=_pool()).count() == 2


def test_a_new_price_moves_the_pool_at_once():
    stated = timezone.now()
    _store(_spot("0.031", stated))

    _store(_spot("0.035", stated + timedelta(seconds=1)))

    pool = _pool()
    assert pool.latest_price == Decimal("0.035")
    assert pool.latest_price_at == stated + timedelta(seconds=1)


def test_the_same_price_moves_the_pool_once_its_time_is_old_enough():
    stated = timezone.now() - timedelta(minutes=5)
    later = stated + timedelta(seconds=LATEST_PRICE_REFRESH_SECONDS)
    _store(_spot("0.031", stated))

    _store(_spot("0.031", later))

    assert _pool().latest_price_at == later


def test_a_price_back_to_an_earlier_one_moves_the_pool_at_once():
    stated = timezone.now()
    _store(_spot("0.031", stated))
    _store(_spot("0.035", stated + timedelta(seconds=1)))

    _store(_spot("0.031", stated + timedelta(seconds=2)))

    pool = _pool()
    assert pool.latest_price == Decimal("0.031")
    assert pool.latest_price_at == stated + timedelta(seconds=2)


def test_a_late_report_never_moves_the_latest_price_back():
    stated = timezone.now()
    _store(_spot("0.031", stated))

    _store(_spot("0.020", stated - timedelta(minutes=10)))

    pool = _pool()
    assert (pool.latest_price, pool.latest_price_at) == (Decimal("0.031"), stated)


def test_pools_known_and_new_are_read_once_and_created_once():
    _store(_spot("0.031", timezone.now()))

    with CaptureQueriesContext(connection) as captured:
        _store(
            _spot("0.032", timezone.now()),
            _spot("0.033", timezone.now(), az="us-east-1b"),
        )

    pool_reads = [
        query for query in captured.captured_queries
        if query["sql"].startswith("SELECT")
        and 'FROM "pricing_spotpool"' in query["sql"]
    ]
    # One read of both, then get_or_create's own read of the new one.
    assert len(pool_reads) == 2
    assert SpotPool.objects.filter(instance_type="m5.large").count() == 2
    assert _pool("us-east-1b").latest_price == Decimal("0.033")


def test_an_ondemand_price_is_created_then_replaced():
    point = PricePoint(
        instance_type="m5.large", region="us-east-1", price=Decimal("0.096"),
        observed_at=timezone.now(), price_type=RawPriceReport.PriceType.ONDEMAND,
    )
    _store(point)

    _store(PricePoint(**{**point.__dict__, "price": Decimal("0.1")}))

    stored = OnDemandPrice.objects.get(instance_type="m5.large", region="us-east-1")
    assert stored.price == Decimal("0.1")
    assert stored.source == RawPriceReport.Source.AGENT
