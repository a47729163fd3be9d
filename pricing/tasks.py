"""Thin Celery tasks over the pricing services; the schedule is in
spotopt/schedule.py."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from pricing.consolidation import consolidation_run, raw_prices_prune
from pricing.ledger import ledger_close_day, ledger_refresh
from pricing.reports import savings_updated_publish


@shared_task(name="pricing.consolidate_prices")
def consolidate_prices_task() -> int:
    """Returns the job id; a second concurrent run waits for the lock."""
    return consolidation_run().pk


@shared_task(name="pricing.prune_raw_prices")
def prune_raw_prices_task() -> int:
    return raw_prices_prune(older_than_days=settings.RAW_PRICE_RETENTION_DAYS)


@shared_task(name="pricing.ledger_hourly")
def ledger_hourly_task() -> dict:
    result = ledger_refresh()
    savings_updated_publish(since=timezone.now().date() - timedelta(days=1))
    return result


@shared_task(name="pricing.ledger_daily")
def ledger_daily_task() -> dict:
    return ledger_close_day()
