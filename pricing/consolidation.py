"""Consolidation: raw reports into the consolidated and canonical tiers.

A run, in one transaction:

1. Take the consolidation lock (PostgreSQL advisory lock; SQLite already
   serialises writers), so two runs never interleave their upserts.
2. Read the watermark of the last successful run and the newest raw
   `received_at`; the raw rows between them, plus a short overlap, are new.
3. Collect the pool buckets those rows (and new emergencies) touch.
4. Upsert the winning report of every touched bucket, then interpolate the
   gaps around them, then rebuild the canonical rows around them.
5. Record the counts and the new watermark on the job row.

Every write is INSERT ... SELECT ... ON CONFLICT on (pool, bucket), so a
rerun rewrites the same rows and never adds duplicates.
"""

import logging
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from pricing import consolidation_sql as sql
from pricing.models import ConsolidationJob, RawPriceReport

logger = logging.getLogger(__name__)

# Any fixed number works; every process must use the same one.
CONSOLIDATION_LOCK_KEY = 7_301_101


def consolidation_run(*, since: datetime | None = None) -> ConsolidationJob:
    """Consolidate what arrived since the last run and return its job row.

    `since` re-consolidates every raw report observed after that time,
    whatever the watermark says. A failed run is recorded as failed and
    re-raised; the watermark does not move.
    """
    job = ConsolidationJob.objects.create(since=since)
    started = time.monotonic()
    try:
        with transaction.atomic():
            _lock()
            counts = _consolidate(since=since)
            _job_finish(job, started, status=ConsolidationJob.Status.SUCCEEDED,
                        **counts)
    except Exception as error:
        _job_finish(job, started, status=ConsolidationJob.Status.FAILED,
                    error=repr(error)[:2000])
        logger.exception("Consolidation job %s failed", job.pk)
        raise
    finally:
        _drop_touched()

    logger.info(
        "Consolidation job %s: %s raw, %s observed, %s interpolated in %s ms",
        job.pk, job.raw_rows, job.observed_rows, job.interpolated_rows,
        job.duration_ms,
    )
    return job


def consolidation_watermark() -> datetime | None:
    """The newest raw `received_at` a successful run has consolidated."""
    return ConsolidationJob.objects.filter(
        status=ConsolidationJob.Status.SUCCEEDED
    ).aggregate(mark=Max("watermark"))["mark"]


def _lock() -> None:
    if connection.vendor != "postgresql":
        return

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CONSOLIDATION_LOCK_KEY])


def _consolidate(*, since: datetime | None) -> dict:
    dialect = sql.Dialect(connection.vendor, settings.PRICE_BUCKET_SECONDS)
    limit = settings.PRICE_GAP_LIMIT_SECONDS
    previous = consolidation_watermark()
    newest = RawPriceReport.objects.aggregate(mark=Max("received_at"))["mark"]
    watermark = max(filter(None, [previous, newest]), default=None)
    full = since is None and previous is None
    counts = {"watermark": watermark, "raw_rows": _raw_count(previous, since)}

    with connection.cursor() as cursor:
        if not full:
            _touched_fill(cursor, dialect, previous, watermark, since)
        statements = {
            "observed_rows": sql.observed_upsert(dialect, full=full),
            "interpolated_rows": sql.interpolated_upsert(
                dialect, full=full, limit_seconds=limit
            ),
            "canonical_rows": sql.canonical_upsert(
                dialect, full=full, limit_seconds=limit
            ),
        }
        for name, statement in statements.items():
            started = time.monotonic()
            cursor.execute(statement, [])
            counts[name] = _rows_written(cursor)
            logger.debug("Consolidation step %s: %s rows in %.0f ms", name,
                         counts[name], (time.monotonic() - started) * 1000)
    return counts


def _rows_written(cursor) -> int:
    # Python's sqlite3 reports -1 for a statement that starts with WITH.
    if cursor.rowcount >= 0:
        return cursor.rowcount

    cursor.execute("SELECT changes()")
    return cursor.fetchone()[0]


def _window_start(previous: datetime | None) -> datetime:
    if previous is None:
        return datetime(1970, 1, 1, tzinfo=UTC)
    return previous - timedelta(seconds=settings.PRICE_CONSOLIDATION_OVERLAP_SECONDS)


def _raw_count(previous: datetime | None, since: datetime | None) -> int:
    rows = RawPriceReport.objects.all()
    if since is not None:
        return rows.filter(observed_at__gt=since).count()
    if previous is not None:
        rows = rows.filter(received_at__gt=_window_start(previous))
    return rows.count()


def _touched_fill(cursor, dialect, previous, watermark, since) -> None:
    """Fill the temporary table of pool buckets this run must rewrite."""
    adapt = connection.ops.adapt_datetimefield_value
    start = _window_start(previous)
    end = watermark or timezone.now()
    raw_window = [since, timezone.now()] if since is not None else [start, end]
    params = [adapt(value) for value in [*raw_window, start, timezone.now()]]
    _drop_touched(cursor)
    cursor.execute(sql.touched_create(dialect, by_observed=since is not None),
                   params)
    if dialect.is_postgres:
        # Temporary tables get no statistics of their own; without them the
        # planner guesses their size and may pick a poor join.
        cursor.execute(f"ANALYZE {sql.TOUCHED}")


def _drop_touched(cursor=None) -> None:
    if cursor is None:
        with connection.cursor() as own_cursor:
            own_cursor.execute(f"DROP TABLE IF EXISTS {sql.TOUCHED}")
        return

    cursor.execute(f"DROP TABLE IF EXISTS {sql.TOUCHED}")


def _job_finish(job: ConsolidationJob, started: float, **fields) -> None:
    fields["finished_at"] = timezone.now()
    fields["duration_ms"] = int((time.monotonic() - started) * 1000)
    for name, value in fields.items():
        setattr(job, name, value)
    ConsolidationJob.objects.filter(pk=job.pk).update(**fields)


def raw_prices_prune(*, older_than_days: int) -> int:
    """Delete raw reports past retention that a run already consolidated."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    watermark = consolidation_watermark()
    if watermark is None:
        return 0

    deleted, _ = RawPriceReport.objects.filter(
        received_at__lt=min(cutoff, watermark)
    ).delete()
    logger.info("Pruned %s raw price reports before %s", deleted, cutoff)
    return deleted
