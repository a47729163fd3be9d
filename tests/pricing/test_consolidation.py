"""Consolidation: precedence, interpolation, the gap limit, reruns."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from agents.models import Agent
from agents.services.clients import client_create
from instances.models import EmergencyEvent, Instance
from pricing.consolidation import consolidation_run
from pricing.models import (
    CanonicalPrice,
    ConsolidatedPrice,
    ConsolidationJob,
    InterruptionBand,
    OnDemandPrice,
    RawPriceReport,
)
from tests.pricing.factories import at, pool_make, raw_make

PRIMARY = RawPriceReport.Role.PRIMARY
REPLICA = RawPriceReport.Role.REPLICA


def prices(pool) -> dict:
    """Minutes after T0 -> (price, origin, confidence) for the pool."""
    rows = ConsolidatedPrice.objects.filter(pool=pool).order_by("bucket")
    return {
        int((row.bucket - at(0)).total_seconds() // 60): (
            row.price, row.origin, round(row.confidence, 4)
        )
        for row in rows
    }


@pytest.fixture(autouse=True)
def _no_overlap(settings):
    settings.PRICE_BUCKET_SECONDS = 300
    settings.PRICE_GAP_LIMIT_SECONDS = 3600
    settings.PRICE_CONSOLIDATION_OVERLAP_SECONDS = 0


@pytest.mark.django_db
def test_a_primary_report_beats_a_later_replica_report_in_its_bucket():
    pool = pool_make()
    raw_make(pool, "0.0400", 1, role=PRIMARY)
    raw_make(pool, "0.0500", 4, role=REPLICA)

    consolidation_run()

    assert prices(pool) == {0: (Decimal("0.040000"), "agent", 1.0)}
    assert ConsolidatedPrice.objects.get(pool=pool).report_count == 2


@pytest.mark.django_db
def test_the_latest_report_wins_between_reports_of_the_same_role():
    pool = pool_make()
    raw_make(pool, "0.0400", 1, role=REPLICA)
    raw_make(pool, "0.0410", 3, role=REPLICA)
    raw_make(pool, "0.0420", 2, role=REPLICA)

    consolidation_run()

    assert prices(pool)[0][0] == Decimal("0.041000")


@pytest.mark.django_db
def test_an_agent_report_beats_aws_backfill_which_alone_is_marked_as_such():
    shared, unwatched = pool_make(), pool_make("m5.large.us-east-1b")
    raw_make(shared, "0.0300", 4, source="aws_api", role="none")
    raw_make(shared, "0.0400", 1, role=REPLICA)
    raw_make(unwatched, "0.0350", 2, source="aws_api", role="none")

    consolidation_run()

    assert prices(shared) == {0: (Decimal("0.040000"), "agent", 1.0)}
    assert prices(unwatched) == {0: (Decimal("0.035000"), "aws_api", 1.0)}


@pytest.mark.django_db
def test_gaps_are_filled_linearly_with_less_confidence_the_longer_they_are():
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0460", 15)
    raw_make(pool, "0.0480", 25)

    consolidation_run()

    # Gap of 3 buckets: 2 missing, confidence 1 - 2/12; gap of 2: 1 - 1/12.
    assert prices(pool) == {
        0: (Decimal("0.040000"), "agent", 1.0),
        5: (Decimal("0.042000"), "interpolated", 0.8333),
        10: (Decimal("0.044000"), "interpolated", 0.8333),
        15: (Decimal("0.046000"), "agent", 1.0),
        20: (Decimal("0.047000"), "interpolated", 0.9167),
        25: (Decimal("0.048000"), "agent", 1.0),
    }


@pytest.mark.django_db
def test_a_gap_longer_than_the_limit_is_left_empty():
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0520", 60)
    raw_make(pool, "0.0600", 125)

    consolidation_run()

    filled = prices(pool)
    # 0 -> 60 is exactly the one-hour limit: 11 points, least confidence.
    assert filled[30] == (Decimal("0.046000"), "interpolated", 0.0833)
    assert [minute for minute in filled if 60 < minute < 125] == []
    assert len(filled) == 13 + 1


@pytest.mark.django_db
def test_a_second_run_without_new_reports_writes_the_same_rows():
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0300", 0, role=REPLICA)
    raw_make(pool, "0.0460", 15)
    first = consolidation_run()
    before = prices(pool)

    second = consolidation_run()

    assert prices(pool) == before
    assert ConsolidatedPrice.objects.count() == 4
    assert CanonicalPrice.objects.count() == 4
    assert (first.raw_rows, second.raw_rows) == (3, 0)
    assert second.observed_rows == 0
    assert second.watermark == first.watermark


@pytest.mark.django_db
def test_an_incremental_run_rewrites_only_buckets_touched_by_new_reports():
    watched, other = pool_make(), pool_make("c5.large.us-east-1a")
    raw_make(watched, "0.0400", 0)
    raw_make(watched, "0.0460", 15)
    raw_make(other, "0.0900", 0)
    consolidation_run()
    # A hand edit shows whether the next run rewrote the other pool's row.
    ConsolidatedPrice.objects.filter(pool=other).update(price=Decimal("9.99"))

    late = raw_make(watched, "0.0700", 5, received_at=at(60))
    job = consolidation_run()

    assert job.raw_rows == 1
    assert job.watermark == late.received_at
    assert prices(watched) == {
        0: (Decimal("0.040000"), "agent", 1.0),
        5: (Decimal("0.070000"), "agent", 1.0),
        10: (Decimal("0.058000"), "interpolated", 0.9167),
        15: (Decimal("0.046000"), "agent", 1.0),
    }
    assert ConsolidatedPrice.objects.get(pool=other).price == Decimal("9.99")
    canonical = CanonicalPrice.objects.get(pool=watched, bucket=at(10))
    assert canonical.price == Decimal("0.058000")


@pytest.mark.django_db
def test_each_run_is_recorded_with_counts_and_duration():
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0460", 15)

    job = consolidation_run()

    job.refresh_from_db()
    assert job.status == ConsolidationJob.Status.SUCCEEDED
    assert (job.raw_rows, job.observed_rows, job.interpolated_rows) == (2, 2, 2)
    assert job.canonical_rows == 4
    assert job.duration_ms is not None
    assert job.finished_at >= job.started_at


@pytest.mark.django_db
def test_since_reconsolidates_reports_observed_after_it():
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    consolidation_run()
    ConsolidatedPrice.objects.update(price=Decimal("1.0"))

    job = consolidation_run(since=at(-5))

    assert job.raw_rows == 1
    assert prices(pool)[0][0] == Decimal("0.040000")


@pytest.mark.django_db
def test_canonical_rows_carry_features_and_life_cycle_facts():
    pool = pool_make()
    OnDemandPrice.objects.create(
        instance_type="m5.large", region="us-east-1", price=Decimal("0.0960")
    )
    InterruptionBand.objects.create(
        snapshot_date=at(-60 * 24 * 30).date(), region="us-east-1",
        instance_type="m5.large", band=3,
    )
    InterruptionBand.objects.create(
        snapshot_date=at(60 * 24).date(), region="us-east-1",
        instance_type="m5.large", band=0,
    )
    instance = _instance_in(pool, state_reason="spot interruption",
                            terminated_at=at(11))
    EmergencyEvent.objects.create(
        agent=instance.agent, client=instance.client, instance=instance,
        kind=EmergencyEvent.Kind.TERMINATION, received_at=at(6),
    )
    raw_make(pool, "0.0480", 0)
    raw_make(pool, "0.0240", 5)
    raw_make(pool, "0.0480", 10)

    consolidation_run()

    rows = list(CanonicalPrice.objects.filter(pool=pool).order_by("bucket"))
    assert [row.notice_seen for row in rows] == [False, True, False]
    assert [row.interrupted for row in rows] == [False, False, True]
    assert rows[2].interruption_reason == "spot interruption"
    assert rows[1].ondemand_ratio == pytest.approx(0.25)
    assert rows[0].volatility == pytest.approx(0.0)
    # Trailing points 0.048, 0.024, 0.048: range 0.024 over mean 0.040.
    assert rows[2].volatility == pytest.approx(0.6)
    assert {row.advisor_band for row in rows} == {3}


def _instance_in(pool, **fields) -> Instance:
    client, _ = client_create(name="fleet")
    agent = Agent.objects.create(client=client, logical_agent_id="web-1")
    return Instance.objects.create(
        agent=agent, client=client, temp_instance_id="tmp-1", pool=pool,
        instance_type=pool.instance_type, region=pool.region, az=pool.az,
        state=Instance.State.TERMINATED, **fields,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_on_postgresql_write_each_bucket_once():
    pools = [pool_make(f"m5.large.us-east-1{zone}") for zone in "abcd"]
    for pool in pools:
        for minute in range(0, 120, 10):
            raw_make(pool, "0.0400", minute)
            raw_make(pool, "0.0500", minute + 1, role=REPLICA)
    errors = []

    def run():
        try:
            consolidation_run()
        except Exception as error:  # surfaced below, not swallowed
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    jobs = ConsolidationJob.objects.order_by("finished_at")
    assert [job.status for job in jobs] == ["succeeded", "succeeded"]
    # 12 observed and 11 interpolated buckets per pool, each once.
    assert ConsolidatedPrice.objects.count() == 4 * 23
    assert CanonicalPrice.objects.count() == 4 * 23
    assert jobs[1].observed_rows == 0
    assert not ConsolidatedPrice.objects.exclude(
        origin="interpolated"
    ).exclude(price=Decimal("0.04")).exists()
    assert jobs[0].finished_at - jobs[0].started_at < timedelta(seconds=60)
