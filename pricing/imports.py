"""Loading price history, on-demand prices and Advisor bands from files.

Files are read as a stream (gzip or plain CSV) and written in batches, so
memory stays flat whatever the file size. Every table written has a unique
key and the writes ignore or update conflicts, so importing a file twice
leaves the same rows.
"""

import csv
import gzip
import io
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from pricing.models import InterruptionBand, OnDemandPrice, RawPriceReport
from pricing.services import pool_get_or_create, region_from_az

logger = logging.getLogger(__name__)

BATCH_ROWS = 5000
GZIP_MAGIC = b"\x1f\x8b"


class ImportFileError(ValueError):
    """A file that cannot be imported; `line` is 1-based, header included."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


def csv_rows(path: Path, *, required: list[list[str]]) -> Iterator[tuple[int, dict]]:
    """Yield (line number, row) from a gzip or plain CSV file.

    `required` lists groups of column names; each group needs one of its
    names in the header.
    """
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if gzipped else open
    with opener(path, "rb") as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        reader = csv.DictReader(text)
        header = reader.fieldnames or []
        for group in required:
            if not set(group) & set(header):
                raise ImportFileError(f"missing column {' or '.join(group)}", 1)
        for row in reader:
            yield reader.line_num, row


def _decimal(value: str | None, name: str) -> Decimal:
    try:
        number = Decimal((value or "").strip())
    except InvalidOperation:
        raise ValueError(f"{name} {value!r} is not a number")
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} {value!r} is not a price")
    return number


def _moment(value: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat((value or "").strip())
    except ValueError:
        raise ValueError(f"timestamp {value!r} is not ISO 8601")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD")


def _text(row: dict, name: str) -> str:
    value = (row.get(name) or "").strip()
    if not value:
        raise ValueError(f"{name} is empty")
    return value


def _parse_each(rows, parse: Callable, progress) -> Iterator:
    """Parse each row, turning a bad one into an error naming its line."""
    for line, row in rows:
        progress.update(1)
        try:
            parsed = parse(row)
        except (ValueError, KeyError) as error:
            raise ImportFileError(str(error), line)
        if parsed is not None:
            yield parsed


def in_batches(items: Iterator, size: int = BATCH_ROWS) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class RawHistoryWriter:
    """Writes price-history points into the raw tier in batches.

    Pools are looked up once each; a point already stored from the same
    source (same pool and time) is skipped by the partial unique index.
    """

    def __init__(self, *, source: str):
        self.source = source
        self.received_at = timezone.now()
        self.pools: dict[tuple[str, str], int] = {}
        self.latest: dict[int, tuple[datetime, Decimal]] = {}
        self.read = 0

    def write(self, points: list[tuple[str, str, str, datetime, Decimal]]) -> None:
        """Store (instance type, az, region, observed at, price) points."""
        rows = [self._row(*point) for point in points]
        RawPriceReport.objects.bulk_create(rows, ignore_conflicts=True)
        self.read += len(rows)

    def _row(self, instance_type, az, region, observed_at, price):
        pool_id = self._pool(instance_type, az, region)
        known = self.latest.get(pool_id)
        if known is None or known[0] <= observed_at:
            self.latest[pool_id] = (observed_at, price)
        return RawPriceReport(
            pool_id=pool_id, instance_type=instance_type, region=region, az=az,
            price=price, source=self.source, role=RawPriceReport.Role.NONE,
            observed_at=observed_at, received_at=self.received_at,
        )

    def _pool(self, instance_type: str, az: str, region: str) -> int:
        key = (instance_type, az)
        if key not in self.pools:
            pool = pool_get_or_create(instance_type=instance_type, az=az,
                                      region=region)
            self.pools[key] = pool.pk
        return self.pools[key]

    def finish(self) -> int:
        """Move the pools' latest prices forward; return rows now stored."""
        from pricing.models import SpotPool

        for pool_id, (observed_at, price) in self.latest.items():
            SpotPool.objects.filter(pk=pool_id).filter(
                Q(latest_price_at__isnull=True)
                | Q(latest_price_at__lte=observed_at)
            ).update(latest_price=price, latest_price_at=observed_at)
        return RawPriceReport.objects.filter(
            source=self.source, received_at=self.received_at
        ).count()


def spot_prices_import(*, path: Path, product: str = "Linux/UNIX",
                       progress=None) -> dict:
    """Import DescribeSpotPriceHistory rows into the raw tier (source import).

    Rows of other products than `product` are skipped: a pool is one type
    in one zone, and prices of different operating systems would mix.
    Raises ImportFileError naming the line of the first malformed row; the
    batches before it stay stored, and a rerun skips them.
    """
    writer = RawHistoryWriter(source=RawPriceReport.Source.IMPORT)
    skipped = 0

    def parse(row):
        nonlocal skipped
        if product and row.get("product_description", product) != product:
            skipped += 1
            return None
        az = (row.get("availability_zone") or "").strip() or _text(
            row, "availability_zone_id"
        )
        region = (row.get("region") or "").strip() or region_from_az(az)
        return (_text(row, "instance_type"), az, region,
                _moment(row.get("timestamp_utc")),
                _decimal(row.get("spot_price_usd"), "spot_price_usd"))

    rows = csv_rows(path, required=[
        ["timestamp_utc"], ["instance_type"], ["spot_price_usd"],
        ["availability_zone", "availability_zone_id"],
    ])
    for batch in in_batches(_parse_each(rows, parse, _progress(progress))):
        writer.write(batch)
    stored = writer.finish()
    logger.info("Imported spot prices from %s: %s rows", path.name, writer.read)
    return {"read": writer.read, "skipped": skipped, "stored": stored,
            "pools": len(writer.pools)}


ONDEMAND_PRICE_COLUMNS = ["ondemand_usd_per_hour", "ondemand_linux_usd_per_hour"]


def ondemand_prices_import(*, path: Path, progress=None) -> dict:
    """Upsert Linux on-demand prices per type and region; zero rows skipped."""
    skipped = 0

    def parse(row):
        nonlocal skipped
        column = next(name for name in ONDEMAND_PRICE_COLUMNS if name in row)
        price = _decimal(row.get(column), column)
        if price == 0:
            skipped += 1
            return None
        return OnDemandPrice(
            instance_type=_text(row, "instance_type"), region=_text(row, "region"),
            price=price, source="import", updated_at=timezone.now(),
        )

    rows = csv_rows(path, required=[["instance_type"], ["region"],
                                    ONDEMAND_PRICE_COLUMNS])
    written = 0
    for batch in in_batches(_parse_each(rows, parse, _progress(progress))):
        # One upsert may not touch a row twice: the last price of a key wins.
        unique = {(row.instance_type, row.region): row for row in batch}
        OnDemandPrice.objects.bulk_create(
            list(unique.values()), update_conflicts=True,
            unique_fields=["instance_type", "region"],
            update_fields=["price", "source", "updated_at"],
        )
        written += len(unique)
    return {"read": written + skipped, "stored": written, "skipped": skipped}


def interruption_bands_import(*, path: Path, progress=None) -> dict:
    """Import Spot Advisor snapshots; savings of 0 or less are not kept."""

    def parse(row):
        band = int(_text(row, "interruption_band"))
        if not 0 <= band <= 4:
            raise ValueError(f"interruption_band {band} is not 0 to 4")
        savings = row.get("savings_pct_vs_ondemand") or ""
        savings = float(savings) if savings.strip() else None
        return InterruptionBand(
            snapshot_date=_day(row.get("snapshot_date")),
            region=_text(row, "region"), os=_text(row, "os"),
            instance_type=_text(row, "instance_type"), band=band,
            savings_percent=savings if savings and savings > 0 else None,
        )

    rows = csv_rows(path, required=[
        ["snapshot_date"], ["region"], ["os"], ["instance_type"],
        ["interruption_band"],
    ])
    before = InterruptionBand.objects.count()
    read = 0
    for batch in in_batches(_parse_each(rows, parse, _progress(progress))):
        InterruptionBand.objects.bulk_create(batch, ignore_conflicts=True)
        read += len(batch)
    return {"read": read, "stored": InterruptionBand.objects.count() - before}


class _NoProgress:
    def update(self, count: int) -> None:
        pass


def _progress(progress):
    return progress if progress is not None else _NoProgress()
