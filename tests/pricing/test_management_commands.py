"""consolidate_prices and rebuild_ledger wire their services."""

import pytest
from django.core.management import CommandError, call_command

from pricing.models import ConsolidatedPrice, ConsolidationJob, LedgerRollup
from tests.pricing.factories import pool_make, raw_make
from tests.pricing.test_ledger import fleet  # noqa: F401 (fixture)


@pytest.mark.django_db
def test_consolidate_prices_runs_a_job_and_reports_its_counts(capsys):
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0460", 10)

    call_command("consolidate_prices")

    job = ConsolidationJob.objects.get()
    assert ConsolidatedPrice.objects.count() == 3
    assert f"Consolidation job {job.pk}: 2 raw rows" in capsys.readouterr().out


@pytest.mark.django_db
def test_consolidate_prices_since_reads_reports_observed_after_it(capsys):
    pool = pool_make()
    raw_make(pool, "0.0400", 0)
    raw_make(pool, "0.0460", 10)
    call_command("consolidate_prices")

    call_command("consolidate_prices", "--since", "2026-03-02T12:08:00")

    assert ConsolidationJob.objects.first().raw_rows == 1


def test_consolidate_prices_refuses_a_malformed_since():
    with pytest.raises(CommandError, match="not an ISO 8601 time"):
        call_command("consolidate_prices", "--since", "yesterday")


def test_rebuild_ledger_writes_hours_and_roll_ups(fleet, capsys):  # noqa: F811
    call_command("rebuild_ledger")

    assert "10 instance-hours, 2 daily and 2 monthly" in capsys.readouterr().out
    # One month row per agent: web-1 and web-2.
    assert LedgerRollup.objects.filter(period="month").count() == 2
