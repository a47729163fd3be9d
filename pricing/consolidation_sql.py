"""The set-based statements of a consolidation run, for both databases.

PostgreSQL and SQLite share every statement; only time arithmetic differs,
and `Dialect` supplies those fragments. All statements take parameters, so
a literal percent sign is written `%%`.
"""

from dataclasses import dataclass

from pricing.models import (
    CanonicalPrice,
    ConsolidatedPrice,
    InterruptionBand,
    OnDemandPrice,
    RawPriceReport,
    SpotPool,
)

RAW = RawPriceReport._meta.db_table
CONSOLIDATED = ConsolidatedPrice._meta.db_table
CANONICAL = CanonicalPrice._meta.db_table
POOL = SpotPool._meta.db_table
ONDEMAND = OnDemandPrice._meta.db_table
BAND = InterruptionBand._meta.db_table
TOUCHED = "pricing_consolidation_touched"

# Volatility looks back over this many consolidated points (an hour).
VOLATILITY_POINTS = 12


@dataclass(frozen=True)
class Dialect:
    """Time arithmetic on one database; `bucket_seconds` sizes the buckets."""

    vendor: str
    bucket_seconds: int

    @property
    def is_postgres(self) -> bool:
        return self.vendor == "postgresql"

    def bucket_of(self, column: str) -> str:
        size = self.bucket_seconds
        if self.is_postgres:
            return (
                f"date_bin(interval '{size} seconds', {column}, "
                "timestamptz '2000-01-01 00:00:00+00')"
            )
        return (
            f"datetime((CAST(strftime('%%s', {column}) AS INTEGER) / {size})"
            f" * {size}, 'unixepoch')"
        )

    def epoch(self, column: str) -> str:
        if self.is_postgres:
            return f"CAST(extract(epoch FROM {column}) AS bigint)"
        return f"CAST(strftime('%%s', {column}) AS INTEGER)"

    def plus_seconds(self, column: str, seconds: str) -> str:
        if self.is_postgres:
            return f"({column} + ({seconds}) * interval '1 second')"
        return f"datetime({self.epoch(column)} + ({seconds}), 'unixepoch')"

    @property
    def null_time(self) -> str:
        # PostgreSQL would type a bare NULL in a subquery as text.
        return "CAST(NULL AS timestamptz)" if self.is_postgres else "NULL"

    def date_of(self, column: str) -> str:
        if self.is_postgres:
            return f"CAST({column} AT TIME ZONE 'UTC' AS date)"
        return f"date({column})"


def touched_create(dialect: Dialect, *, by_observed: bool) -> str:
    """Pool buckets whose raw reports or life-cycle facts are new.

    Params: window start, window end, and the same pair again for facts.
    With `by_observed`, the raw window is on observed_at instead of
    received_at (a re-consolidation of a period by hand).
    """
    column = "observed_at" if by_observed else "received_at"
    emergency = "instances_emergencyevent"
    instance = "instances_instance"
    return f"""
        CREATE TEMP TABLE {TOUCHED} AS
        SELECT DISTINCT pool_id, {dialect.bucket_of("observed_at")} AS bucket
        FROM {RAW}
        WHERE {column} > %s AND {column} <= %s
          AND price_type = 'spot' AND pool_id IS NOT NULL
        UNION
        SELECT i.pool_id, {dialect.bucket_of("e.received_at")}
        FROM {emergency} e JOIN {instance} i ON i.id = e.instance_id
        WHERE e.received_at > %s AND e.received_at <= %s
          AND i.pool_id IS NOT NULL
    """


_PRECEDENCE = """CASE WHEN r.role = 'primary' THEN 0
                    WHEN r.role = 'replica' THEN 1
                    WHEN r.source = 'agent' THEN 2
                    ELSE 3 END"""


def _reports(dialect: Dialect, *, full: bool) -> str:
    """Spot reports of the touched buckets, with their bucket, precedence
    (primary, replica, other agent, history) and the bucket's report count.

    The count's window is sorted like the winners' choice, so PostgreSQL
    sorts the rows once for both.
    """
    bucket = dialect.bucket_of("r.observed_at")
    bucket_end = dialect.plus_seconds("t.bucket", str(dialect.bucket_seconds))
    scope = "" if full else f"""
        JOIN {TOUCHED} t ON t.pool_id = r.pool_id
         AND r.observed_at >= t.bucket AND r.observed_at < {bucket_end}
    """
    return f"""
        SELECT r.id, r.pool_id, {bucket} AS bucket, r.price, r.source,
               r.observed_at,
               {_PRECEDENCE} AS precedence,
               COUNT(*) OVER (
                   PARTITION BY r.pool_id, {bucket}
                   ORDER BY {_PRECEDENCE}, r.observed_at DESC, r.id DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
               ) AS reports
        FROM {RAW} r {scope}
        WHERE r.price_type = 'spot' AND r.pool_id IS NOT NULL
    """


def _winners(dialect: Dialect, *, full: bool) -> str:
    """One report per pool bucket: best precedence, then the latest."""
    order = "precedence, observed_at DESC, id DESC"
    if dialect.is_postgres:
        # DISTINCT ON is one sort and a scan; a ranking window costs more.
        return f"""
            SELECT DISTINCT ON (pool_id, bucket) *
            FROM ({_reports(dialect, full=full)}) reports
            ORDER BY pool_id, bucket, {order}
        """
    return f"""
        SELECT * FROM (
            SELECT reports.*, ROW_NUMBER() OVER (
                PARTITION BY pool_id, bucket ORDER BY {order}
            ) AS rank
            FROM ({_reports(dialect, full=full)}) reports
        ) ranked
        WHERE rank = 1
    """


def _write(dialect: Dialect, *, table: str, columns: list[str], rows: str,
           ctes: str = "", only_interpolated: bool = False) -> str:
    """Insert `rows` into `table`, updating the row of an existing bucket.

    SQLite gets INSERT ... ON CONFLICT DO UPDATE. PostgreSQL gets MERGE,
    which joins against the table instead of probing the index for every
    row and measured 1.6 times faster for a whole day of buckets; it is run
    under the consolidation lock, and the unique (pool, bucket) index still
    refuses a duplicate from any writer outside it. `only_interpolated`
    leaves existing rows alone unless they are interpolated.
    """
    names = ", ".join(columns)
    updated = [name for name in columns if name not in ("pool_id", "bucket")]
    if dialect.is_postgres:
        condition = " AND t.origin = 'interpolated'" if only_interpolated else ""
        values = ", ".join(f"s.{name}" for name in columns)
        assignments = ", ".join(f"{name} = s.{name}" for name in updated)
        return f"""
            {ctes}
            MERGE INTO {table} t
            USING ({rows}) AS s({names})
            ON t.pool_id = s.pool_id AND t.bucket = s.bucket
            WHEN MATCHED{condition} THEN UPDATE SET {assignments}
            WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})
        """
    condition = f" WHERE {table}.origin = 'interpolated'" if only_interpolated else ""
    assignments = ", ".join(f"{name} = excluded.{name}" for name in updated)
    # The WHERE TRUE tells SQLite's parser that ON CONFLICT is the upsert's.
    return f"""
        {ctes}
        INSERT INTO {table} ({names})
        SELECT * FROM ({rows}) AS s WHERE TRUE
        ON CONFLICT (pool_id, bucket) DO UPDATE SET {assignments}{condition}
    """


CONSOLIDATED_COLUMNS = [
    "pool_id", "bucket", "price", "origin", "confidence", "report_count",
    "observed_at",
]
CANONICAL_COLUMNS = [
    "pool_id", "bucket", "price", "origin", "confidence", "volatility",
    "ondemand_ratio", "advisor_band", "rebalance_seen", "notice_seen",
    "interrupted", "interruption_reason",
]


def observed_upsert(dialect: Dialect, *, full: bool) -> str:
    """Write the winning report of each touched bucket; no params."""
    rows = f"""
        SELECT pool_id, bucket, price, source, 1.0, reports, observed_at
        FROM ({_winners(dialect, full=full)}) winners
    """
    return _write(dialect, table=CONSOLIDATED, columns=CONSOLIDATED_COLUMNS,
                  rows=rows)


def _span(dialect: Dialect, *, full: bool) -> str:
    if full:
        return f"""
            SELECT pool_id, MIN(bucket) AS low, MAX(bucket) AS high
            FROM {CONSOLIDATED} GROUP BY pool_id
        """
    return f"""
        SELECT pool_id, MIN(bucket) AS low, MAX(bucket) AS high
        FROM {TOUCHED} GROUP BY pool_id
    """


def interpolated_upsert(dialect: Dialect, *, full: bool, limit_seconds: int) -> str:
    """Fill gaps of at most `limit_seconds` between known points; no params.

    A gap of g buckets between two known points has g - 1 missing ones; each
    gets the linear value and the confidence 1 - (g - 1) / (limit / bucket),
    so a longer gap is trusted less. An observed row is never overwritten.
    """
    size = dialect.bucket_seconds
    max_gap = limit_seconds // size
    step_seconds = f"steps.k * {size}"
    if dialect.is_postgres:
        # Each gap expands into exactly its own missing buckets.
        numbers = ""
        expand = "CROSS JOIN LATERAL generate_series(1, gaps.width - 1) steps(k)"
    else:
        numbers = f"""steps(k) AS (
            SELECT 1 UNION ALL SELECT k + 1 FROM steps WHERE k < {max_gap}
        ),"""
        expand = "JOIN steps ON steps.k < gaps.width"
    # A full run looks at every known point; only an incremental one needs
    # the span of its touched buckets (the join cost a sixth of the step).
    span = "" if full else f"span AS ({_span(dialect, full=full)}),"
    within_span = "" if full else f"""
            JOIN span s ON s.pool_id = c.pool_id
             AND c.bucket >= {dialect.plus_seconds("s.low", str(-limit_seconds))}
             AND c.bucket <= {dialect.plus_seconds("s.high", str(limit_seconds))}
    """
    ctes = f"""
        WITH {"RECURSIVE" if numbers else ""} {numbers}
        {span}
        known AS (
            SELECT c.pool_id, c.bucket, c.price,
                   LEAD(c.bucket) OVER w AS next_bucket,
                   LEAD(c.price) OVER w AS next_price
            FROM {CONSOLIDATED} c
            {within_span}
            WHERE c.origin <> 'interpolated'
            WINDOW w AS (PARTITION BY c.pool_id ORDER BY c.bucket)
        ),
        gaps AS (
            SELECT pool_id, bucket, price, next_price,
                   ({dialect.epoch("next_bucket")} - {dialect.epoch("bucket")})
                     / {size} AS width
            FROM known
            WHERE next_bucket IS NOT NULL
        )
    """
    rows = f"""
        SELECT gaps.pool_id,
               {dialect.plus_seconds("gaps.bucket", step_seconds)},
               gaps.price + (gaps.next_price - gaps.price) * steps.k * 1.0
                 / gaps.width,
               'interpolated',
               1.0 - (gaps.width - 1) * 1.0 / {max_gap},
               0, {dialect.null_time}
        FROM gaps {expand}
        WHERE gaps.width > 1 AND gaps.width <= {max_gap}
    """
    return _write(dialect, table=CONSOLIDATED, columns=CONSOLIDATED_COLUMNS,
                  rows=rows, ctes=ctes, only_interpolated=True)


def _facts(dialect: Dialect) -> str:
    """Life-cycle facts per pool bucket: rebalance, notice, interruption."""
    emergency = "instances_emergencyevent"
    instance = "instances_instance"
    ended = "COALESCE(i.terminated_at, i.state_changed_at)"
    return f"""
        SELECT pool_id, bucket, MAX(rebalance) AS rebalance,
               MAX(notice) AS notice, MAX(interrupted) AS interrupted,
               MAX(reason) AS reason
        FROM (
            SELECT i.pool_id, {dialect.bucket_of("e.received_at")} AS bucket,
                   CASE WHEN e.kind = 'rebalance' THEN 1 ELSE 0 END AS rebalance,
                   CASE WHEN e.kind = 'termination' THEN 1 ELSE 0 END AS notice,
                   0 AS interrupted, '' AS reason
            FROM {emergency} e JOIN {instance} i ON i.id = e.instance_id
            WHERE i.pool_id IN (SELECT pool_id FROM span)
            UNION ALL
            SELECT i.pool_id, {dialect.bucket_of(ended)}, 0, 0, 1, i.state_reason
            FROM {instance} i
            WHERE i.pool_id IN (SELECT pool_id FROM span)
              AND i.state_reason LIKE '%%interruption%%'
        ) events
        GROUP BY pool_id, bucket
    """


def canonical_upsert(dialect: Dialect, *, full: bool, limit_seconds: int) -> str:
    """Rebuild the canonical rows around touched buckets; no params.

    The window reaches `limit_seconds` either side of the touched buckets
    (interpolation may have changed rows that far) and reads one more hour
    back so that the first rows' volatility sees their trailing points.
    """
    lookback = limit_seconds + VOLATILITY_POINTS * dialect.bucket_seconds
    day = dialect.date_of("bucket")
    # The band is looked up once per pool and day, not once per bucket.
    band = f"""
        SELECT b.band FROM {BAND} b JOIN {POOL} bp ON bp.id = days.pool_id
        WHERE b.region = bp.region AND b.instance_type = bp.instance_type
          AND b.os = 'Linux' AND b.snapshot_date <= days.day
        ORDER BY b.snapshot_date DESC LIMIT 1
    """
    ctes = f"""
        WITH span AS ({_span(dialect, full=full)}),
        steps AS (
            SELECT c.pool_id, c.bucket, c.price, c.origin, c.confidence,
                   ABS(c.price - LAG(c.price) OVER (
                       PARTITION BY c.pool_id ORDER BY c.bucket
                   )) AS change
            FROM {CONSOLIDATED} c
            JOIN span s ON s.pool_id = c.pool_id
             AND c.bucket >= {dialect.plus_seconds("s.low", str(-lookback))}
             AND c.bucket <= {dialect.plus_seconds("s.high", str(limit_seconds))}
        ),
        series AS (
            SELECT pool_id, bucket, price, origin, confidence,
                   COALESCE(AVG(change) OVER w, 0) AS mean_change,
                   AVG(price) OVER w AS mean
            FROM steps
            WINDOW w AS (
                PARTITION BY pool_id ORDER BY bucket
                ROWS BETWEEN {VOLATILITY_POINTS - 1} PRECEDING AND CURRENT ROW
            )
        ),
        facts AS ({_facts(dialect)}),
        bands AS (
            SELECT days.pool_id, days.day, ({band}) AS band
            FROM (SELECT DISTINCT pool_id, {day} AS day FROM series) days
        )
    """
    rows = f"""
        SELECT se.pool_id, se.bucket, se.price, se.origin, se.confidence,
               se.mean_change / NULLIF(se.mean, 0),
               se.price / NULLIF(od.price, 0),
               bands.band,
               COALESCE(f.rebalance, 0) = 1,
               COALESCE(f.notice, 0) = 1,
               COALESCE(f.interrupted, 0) = 1,
               COALESCE(f.reason, '')
        FROM series se
        JOIN span s ON s.pool_id = se.pool_id
         AND se.bucket >= {dialect.plus_seconds("s.low", str(-limit_seconds))}
        JOIN {POOL} p ON p.id = se.pool_id
        LEFT JOIN {ONDEMAND} od
          ON od.instance_type = p.instance_type AND od.region = p.region
        LEFT JOIN facts f ON f.pool_id = se.pool_id AND f.bucket = se.bucket
        LEFT JOIN bands ON bands.pool_id = se.pool_id
         AND bands.day = {dialect.date_of("se.bucket")}
    """
    return _write(dialect, table=CANONICAL, columns=CANONICAL_COLUMNS,
                  rows=rows, ctes=ctes)
