"""The statements of a price report, written by hand.

Every agent reports its region's prices every five minutes: 33 reports a
second at 10,000 agents, each reading pools and writing raw rows, latest
prices and an on-demand price. Through the ORM a report cost 12 ms of CPU,
most of it spent building these statements; built once here, they run on
SQLite and PostgreSQL alike.
"""

import functools
from datetime import datetime
from decimal import Decimal

from django.db import connection

from pricing.models import OnDemandPrice, RawPriceReport, SpotPool
from spotopt.sql import column, prepared_cursor, table

RAW_COLUMNS = (
    "pool", "price_type", "instance_type", "region", "az", "price", "source",
    "role", "agent", "observed_at", "received_at",
)
# Rows per INSERT: a bulk import's batch, well under SQLite's 32,766 limit
# on one statement's parameters.
RAW_ROWS_PER_INSERT = 1000


def pool_ids_read(pool_ids: list[str]) -> dict[str, int]:
    """The primary keys of the pools that exist, by pool id."""
    if not pool_ids:
        return {}
    with prepared_cursor() as cursor:
        cursor.execute(_pools_sql(len(pool_ids)), pool_ids)
        return dict(cursor.fetchall())


@functools.cache
def _pools_sql(count: int) -> str:
    marks = ", ".join(["%s"] * count)
    return (
        f"SELECT {column(SpotPool, 'pool_id')}, {column(SpotPool, 'id')}"
        f" FROM {table(SpotPool)} WHERE {column(SpotPool, 'pool_id')} IN ({marks})"
    )


def raw_reports_insert(rows: list[tuple]) -> None:
    """Insert raw-tier rows, each with the values of RAW_COLUMNS in order."""
    fields = [RawPriceReport._meta.get_field(name) for name in RAW_COLUMNS]
    with prepared_cursor() as cursor:
        for start in range(0, len(rows), RAW_ROWS_PER_INSERT):
            batch = rows[start:start + RAW_ROWS_PER_INSERT]
            cursor.execute(_raw_insert_sql(len(batch)), [
                field.get_db_prep_save(value, connection)
                for row in batch
                for field, value in zip(fields, row, strict=True)
            ])


@functools.cache
def _raw_insert_sql(count: int) -> str:
    names = ", ".join(column(RawPriceReport, name) for name in RAW_COLUMNS)
    row = "(" + ", ".join(["%s"] * len(RAW_COLUMNS)) + ")"
    return (
        f"INSERT INTO {table(RawPriceReport)} ({names}) VALUES "
        + ", ".join([row] * count)
    )


def pools_latest_move(moves: list[tuple[int, Decimal, datetime, datetime]]) -> None:
    """Move each pool's latest price: (pool pk, price, observed at, restated
    since). A pool keeps its price when the observation is older than the
    one it holds, or restates the same price observed after `restated
    since`. The pools are written in the order given, every report's lock
    order, in one round trip on PostgreSQL (psycopg pipelines executemany).
    """
    if not moves:
        return
    price = SpotPool._meta.get_field("latest_price")
    at = SpotPool._meta.get_field("latest_price_at")
    with prepared_cursor() as cursor:
        cursor.executemany(_latest_move_sql(), [
            [
                price.get_db_prep_save(new_price, connection),
                at.get_db_prep_save(observed_at, connection),
                pool_pk,
                at.get_db_prep_save(observed_at, connection),
                price.get_db_prep_save(new_price, connection),
                at.get_db_prep_save(restated_since, connection),
            ]
            for pool_pk, new_price, observed_at, restated_since in moves
        ])


@functools.cache
def _latest_move_sql() -> str:
    price, at = column(SpotPool, "latest_price"), column(SpotPool, "latest_price_at")
    return f"""
        UPDATE {table(SpotPool)} SET {price} = %s, {at} = %s
        WHERE {column(SpotPool, "id")} = %s
          AND ({at} IS NULL OR {at} <= %s)
          AND ({price} IS NULL OR {at} IS NULL OR {price} <> %s OR {at} <= %s)
    """


def ondemand_prices_upsert(
    prices: list[tuple[str, str, Decimal]], *, source: str, now: datetime
) -> None:
    """Set each (instance type, region, price): one INSERT ... ON CONFLICT
    DO UPDATE apiece, not a locked read and a save."""
    if not prices:
        return
    price = OnDemandPrice._meta.get_field("price")
    updated_at = OnDemandPrice._meta.get_field("updated_at").get_db_prep_save(
        now, connection
    )
    with prepared_cursor() as cursor:
        cursor.executemany(_ondemand_upsert_sql(), [
            [instance_type, region, price.get_db_prep_save(value, connection),
             source, updated_at]
            for instance_type, region, value in prices
        ])


@functools.cache
def _ondemand_upsert_sql() -> str:
    def col(name):
        return column(OnDemandPrice, name)

    return f"""
        INSERT INTO {table(OnDemandPrice)}
            ({col("instance_type")}, {col("region")}, {col("price")},
             {col("source")}, {col("updated_at")})
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT ({col("instance_type")}, {col("region")}) DO UPDATE
        SET {col("price")} = EXCLUDED.{col("price")},
            {col("source")} = EXCLUDED.{col("source")},
            {col("updated_at")} = EXCLUDED.{col("updated_at")}
    """
