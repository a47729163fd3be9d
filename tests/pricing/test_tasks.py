"""The pricing tasks and their entries in the declared schedule."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from instances.models import Instance
from pricing.models import ConsolidationJob, LedgerHour, RawPriceReport
from pricing.tasks import (
    consolidate_prices_task,
    ledger_hourly_task,
    prune_raw_prices_task,
)
from spotopt.schedule import DEFAULT_SCHEDULE
from tests.pricing.factories import pool_make, raw_make
from tests.pricing.test_ledger import fleet  # noqa: F401 (fixture)


def test_the_schedule_declares_every_pricing_job_at_its_interval():
    intervals = {entry.task: entry.every_seconds for entry in DEFAULT_SCHEDULE}

    assert intervals["pricing.consolidate_prices"] == 12 * 3600
    assert intervals["pricing.prune_raw_prices"] == 24 * 3600
    assert intervals["pricing.ledger_hourly"] == 3600
    assert intervals["pricing.ledger_daily"] == 24 * 3600
    assert intervals["agents.sweep_agents"] == 60


@pytest.mark.django_db
def test_sync_schedule_copies_the_pricing_entries_into_celery_beat():
    call_command("sync_schedule", stdout=io.StringIO())

    task = PeriodicTask.objects.get(name="consolidate-prices")
    assert task.task == "pricing.consolidate_prices"
    assert task.interval.every == 12 * 3600
    assert PeriodicTask.objects.filter(task__startswith="pricing.").count() == 4


@pytest.mark.django_db
def test_consolidation_task_returns_its_job():
    raw_make(pool_make(), "0.0400", 0)

    job_id = consolidate_prices_task.apply().get()

    assert ConsolidationJob.objects.get(pk=job_id).observed_rows == 1


@pytest.mark.django_db
def test_raw_retention_prunes_only_old_consolidated_reports(settings):
    settings.RAW_PRICE_RETENTION_DAYS = 30
    pool = pool_make()
    old = timezone.now() - timedelta(days=40)
    raw_make(pool, "0.0400", 0, received_at=old)
    consolidate_prices_task.apply()
    raw_make(pool, "0.0500", 5, received_at=old - timedelta(days=1))

    pruned = prune_raw_prices_task.apply().get()

    # The late row is older still, but no run has consolidated it yet.
    assert pruned == 1
    assert RawPriceReport.objects.count() == 1


@pytest.mark.django_db
def test_hourly_ledger_task_costs_the_running_instance(fleet):  # noqa: F811
    _, web1, _ = fleet
    now = timezone.now()
    running = Instance.objects.create(
        agent=web1, client=web1.client, temp_instance_id="i-now",
        instance_type="m5.large", region="us-east-1", az="us-east-1a",
        state=Instance.State.RUNNING_PRIMARY, spot_price="0.04",
        confirmed_at=now - timedelta(minutes=90),
    )

    ledger_hourly_task.apply()

    assert LedgerHour.objects.filter(instance=running).exists()
    assert not LedgerHour.objects.exclude(instance=running).exists()

