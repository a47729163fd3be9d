"""Consolidation throughput on PostgreSQL against a bare dedup floor.

Fills its own database with N raw price reports shaped like a day of a
10,000-agent fleet, then times (1) one bare INSERT ... SELECT DISTINCT ON
that keeps one row per pool and bucket, the least any consolidation must
do, and (2) a full consolidation run: winners, interpolation, canonical.

    .venv/bin/python bench/consolidation.py --rows 1000000

The fleet: 10,000 agents on 100 instance types; each report carries the
prices of its type's six zones (six rows), so every pool bucket holds
several agents' reports. Every tenth report comes from a replica, every
twentieth arrives three hours late; a tenth of the types go unreported for
two hours (a gap left empty) and another tenth for twenty minutes (a gap
interpolated). Progress goes to stderr; the last line of stdout is one
JSON object.
"""

import argparse
import json
import logging
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_consolidation"
AGENTS = 10_000
TYPES = 100
ZONES = 6
DAY_START = "2026-03-02 00:00:00+00"
# Sorting a million rows in memory instead of on disk; the same for both.
WORK_MEM = "256MB"


def log(message: str, *args) -> None:
    print(time.strftime("%H:%M:%S"), message % args, file=sys.stderr, flush=True)


def bench_env(database_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="spotopt.settings.base",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        LOG_LEVEL="WARNING",
        REDIS_URL="",
        EMBEDDED_SCHEDULER="0",
    )
    return env


def database_prepare(database_url: str) -> None:
    """Recreate and migrate the database, then set Django up in-process.

    Migrations run in a child process: loading every migration costs memory
    that has nothing to do with consolidation and would inflate peak RSS.
    """
    from bench._common import database_recreate

    database_recreate(database_url)
    env = bench_env(database_url)
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env=env, check=True, cwd=ROOT,
    )
    os.environ.update(env)
    import django

    django.setup()


POOLS_SQL = """
    INSERT INTO pricing_spotpool
        (pool_id, region, az, instance_type, market, boot_samples)
    SELECT kind || '.us-east-1' || chr(97 + (g %% 6)), 'us-east-1',
           'us-east-1' || chr(97 + (g %% 6)), kind, 'spot', 0
    FROM (
        SELECT g, 'bench' || (g / 6) || '.large' AS kind
        FROM generate_series(0, %(pools)s - 1) g
    ) pools
"""

ONDEMAND_SQL = """
    INSERT INTO pricing_ondemandprice
        (instance_type, region, price, source, updated_at)
    SELECT DISTINCT instance_type, 'us-east-1', 0.20, 'bench', now()
    FROM pricing_spotpool
"""

BANDS_SQL = """
    INSERT INTO pricing_interruptionband
        (snapshot_date, region, os, instance_type, band, savings_percent)
    SELECT date '2026-02-23' + 7 * week, 'us-east-1', 'Linux', instance_type,
           (length(instance_type) + week) %% 5, 60
    FROM (SELECT DISTINCT instance_type FROM pricing_spotpool) types,
         generate_series(0, 1) week
"""

# Row i is zone i % 6 of report j = i / 6; report j is agent j % 10000's
# (j / 10000)-th of the day. Agents are spread evenly over each interval.
RAW_SQL = f"""
    INSERT INTO pricing_rawpricereport
        (pool_id, price_type, instance_type, region, az, price, source, role,
         observed_at, received_at)
    SELECT p.id, 'spot', p.instance_type, p.region, p.az,
           round(CAST((0.02 + (p.id %% 50) * 0.002)
                 * (1 + 0.05 * sin(extract(epoch FROM r.observed) / 3600 + p.id))
                 AS numeric), 6),
           'agent',
           CASE WHEN r.j %% 10 = 0 THEN 'replica' ELSE 'primary' END,
           r.observed,
           r.observed + CASE WHEN r.j %% 20 = 1 THEN interval '3 hours'
                             ELSE interval '5 seconds' END
    FROM (
        SELECT i, i / {ZONES} AS j, i %% {ZONES} AS zone,
               (i / {ZONES}) %% {AGENTS} %% {TYPES} AS kind,
               timestamptz '{DAY_START}'
                 + ((i / {ZONES} / {AGENTS}) * %(spacing)s
                    + ((i / {ZONES}) %% {AGENTS}) * %(spacing)s / {AGENTS})
                 * interval '1 second' AS observed
        FROM generate_series(0, %(candidates)s) i
    ) r
    JOIN pricing_spotpool p ON p.id = %(first_pool)s + r.kind * {ZONES} + r.zone
    WHERE NOT (r.kind %% 10 = 0 AND r.observed >= timestamptz '{DAY_START}'
               + interval '2 hours' AND r.observed < timestamptz '{DAY_START}'
               + interval '4 hours')
      AND NOT (r.kind %% 10 = 1 AND r.observed >= timestamptz '{DAY_START}'
               + interval '6 hours' AND r.observed < timestamptz '{DAY_START}'
               + interval '6 hours 20 minutes')
    ORDER BY r.i
    LIMIT %(rows)s
"""

BARE_SQL = """
    CREATE TABLE bench_bare_dedup (
        pool_id bigint, bucket timestamptz, price numeric(12, 6),
        PRIMARY KEY (pool_id, bucket)
    );
    INSERT INTO bench_bare_dedup (pool_id, bucket, price)
    SELECT DISTINCT ON (pool_id, bucket) pool_id, bucket, price
    FROM (
        SELECT pool_id, price, role, observed_at,
               date_bin(interval '300 seconds', observed_at,
                        timestamptz '2000-01-01 00:00:00+00') AS bucket
        FROM pricing_rawpricereport
    ) raw
    ORDER BY pool_id, bucket, role = 'primary' DESC, observed_at DESC;
"""


def raw_fill(rows: int) -> None:
    from django.db import connection

    pools = TYPES * ZONES
    per_agent = max(1, -(-rows // (AGENTS * ZONES)))
    spacing = max(1, 86_400 // per_agent)
    with connection.cursor() as cursor:
        cursor.execute(POOLS_SQL, {"pools": pools})
        cursor.execute("SELECT min(id) FROM pricing_spotpool")
        first_pool = cursor.fetchone()[0]
        cursor.execute(ONDEMAND_SQL)
        cursor.execute(BANDS_SQL, {})
        cursor.execute(RAW_SQL, {
            "spacing": spacing, "candidates": rows * 11 // 10, "rows": rows,
            "first_pool": first_pool,
        })
        cursor.execute("VACUUM ANALYZE pricing_rawpricereport")
        cursor.execute("SELECT count(*) FROM pricing_rawpricereport")
        return cursor.fetchone()[0]


def _work_mem_set() -> None:
    """One session setting for both timings, so the comparison is fair."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET work_mem = '{WORK_MEM}'")


def bare_dedup_seconds() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BARE_SQL)
    return time.perf_counter() - started


def consolidation_seconds() -> tuple[float, dict]:
    from pricing.consolidation import consolidation_run

    started = time.perf_counter()
    job = consolidation_run()
    elapsed = time.perf_counter() - started
    return elapsed, {
        "observed_rows": job.observed_rows,
        "interpolated_rows": job.interpolated_rows,
        "canonical_rows": job.canonical_rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="A PostgreSQL database whose name starts with 'bench'; recreated.",
    )
    options = parser.parse_args()

    log("Recreating %s and migrating", options.database_url.rsplit("/", 1)[-1])
    database_prepare(options.database_url)
    # What importing the project costs before any work: the floor of RSS.
    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log("Generating %s raw reports", options.rows)
    rows = raw_fill(options.rows)
    _work_mem_set()
    # The run logs each statement's time at DEBUG: progress, on stderr.
    logging.getLogger("pricing.consolidation").setLevel(logging.DEBUG)
    log("Bare DISTINCT ON dedup")
    bare = bare_dedup_seconds()
    log("Bare dedup took %.2f s; full consolidation", bare)
    seconds, counts = consolidation_seconds()
    log("Consolidation took %.2f s", seconds)

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "bare_dedup_seconds": round(bare, 3),
        "ratio_to_bare": round(seconds / bare, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "baseline_rss_mb": round(baseline_rss_mb, 1),
        **counts,
    }))


if __name__ == "__main__":
    main()
