"""Read the public AWS data formats into hourly grids.

The formats are those of `DescribeSpotPriceHistory` exports, the on-demand
price lists, the Spot Advisor band snapshots and measured availability
traces; the command takes their paths so a user can point it at their own
exports.
"""

import csv
import gzip
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

SECONDS_PER_HOUR = 3600


def _open(path: str):
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


def _seconds(stamps) -> np.ndarray:
    cleaned = [stamp.rstrip("Z").replace(" ", "T") for stamp in stamps]
    return np.asarray(cleaned, dtype="datetime64[s]").astype(np.int64)


@dataclass
class PriceGrid:
    """Hourly spot prices of a region's pools; a price holds until the next."""

    pool_ids: list
    instance_types: list
    azs: list
    start: int  # epoch seconds of hour 0
    prices: np.ndarray  # pools x hours

    @property
    def hours(self) -> int:
        return self.prices.shape[1]

    def hour_of(self, epoch_seconds: int) -> int:
        return int((epoch_seconds - self.start) // SECONDS_PER_HOUR)


def spot_prices_load(*, path: str, region: str, product: str = "Linux/UNIX"):
    """Read a price-history export into an hourly grid of one region."""
    series = defaultdict(lambda: ([], []))
    with _open(path) as handle:
        for row in csv.DictReader(handle):
            if row["region"] != region or row["product_description"] != product:
                continue
            times, prices = series[(row["instance_type"], row["availability_zone"])]
            times.append(row["timestamp_utc"])
            prices.append(float(row["spot_price_usd"]))
    if not series:
        raise ValueError(f"no {product} prices for {region} in {path}")

    keys = sorted(series)
    parsed = {key: _seconds(series[key][0]) for key in keys}
    first = min(times.min() for times in parsed.values())
    last = max(times.max() for times in parsed.values())
    start = first - first % SECONDS_PER_HOUR
    hours = int((last - start) // SECONDS_PER_HOUR) + 1
    grid_times = start + SECONDS_PER_HOUR * np.arange(hours)
    prices = np.empty((len(keys), hours))
    for row, key in enumerate(keys):
        times = parsed[key]
        values = np.asarray(series[key][1])
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
        # The price in force at the end of each hour's first second.
        index = np.searchsorted(times, grid_times, side="right") - 1
        prices[row] = values[np.maximum(index, 0)]
    return PriceGrid(
        pool_ids=[f"{kind}.{az}" for kind, az in keys],
        instance_types=[kind for kind, _ in keys],
        azs=[az for _, az in keys],
        start=int(start),
        prices=prices,
    )


def ondemand_prices_load(*, path: str, region: str) -> dict:
    """On-demand Linux prices by type, from either supported price list."""
    prices = {}
    with _open(path) as handle:
        for row in csv.DictReader(handle):
            if row.get("region") != region:
                continue
            value = row.get("ondemand_linux_usd_per_hour") or row.get(
                "ondemand_usd_per_hour"
            )
            if value and float(value) > 0:
                prices[row["instance_type"]] = float(value)
    return prices


def advisor_bands_load(*, path: str, region: str, os_name: str = "Linux") -> dict:
    """Band snapshots by type: a sorted list of (epoch seconds, band)."""
    bands = defaultdict(list)
    with _open(path) as handle:
        for row in csv.DictReader(handle):
            if row["region"] != region or row["os"] != os_name:
                continue
            stamp = int(_seconds([row["snapshot_date"]])[0])
            bands[row["instance_type"]].append((stamp, int(row["interruption_band"])))
    return {kind: sorted(set(rows)) for kind, rows in bands.items()}


def band_grids(*, bands: dict, grid: PriceGrid, hours: np.ndarray):
    """The band in force, and the one before it, per pool at each hour.

    A type without a snapshot before an hour takes its first snapshot (the
    only knowledge there is); unknown types read as NaN.
    """
    times = grid.start + SECONDS_PER_HOUR * np.asarray(hours)
    current = np.full((len(grid.pool_ids), len(times)), np.nan)
    previous = np.full_like(current, np.nan)
    for row, kind in enumerate(grid.instance_types):
        snapshots = bands.get(kind)
        if not snapshots:
            continue
        stamps = np.asarray([stamp for stamp, _ in snapshots])
        values = np.asarray([band for _, band in snapshots], dtype=float)
        index = np.maximum(np.searchsorted(stamps, times, side="right") - 1, 0)
        current[row] = values[index]
        previous[row] = values[np.maximum(index - 1, 0)]
    return current, previous


def trace_hazards_load(*, path: str, region: str) -> dict:
    """Measured hourly hazard by instance type, from availability traces.

    A drop in the number of live (or available) nodes between two ticks is
    counted as that many interruptions; exposure is the node-hours alive.
    Zone names differ between accounts, so traces are pooled by type.
    """
    series = defaultdict(list)
    with _open(path) as handle:
        for row in csv.DictReader(handle):
            if row["cloud"] != "aws" or not row["zone"].startswith(region):
                continue
            key = (row["source"], row["kind"], row["zone"], row["label"],
                   row["start_date"], row["gap_seconds"], row["instance_type"])
            series[key].append((int(row["tick"]), float(row["value"])))
    drops, hours = defaultdict(float), defaultdict(float)
    for key, points in series.items():
        values = np.asarray([value for _, value in sorted(points)])
        gap_hours = float(key[5]) / SECONDS_PER_HOUR
        drops[key[6]] += float(np.clip(-np.diff(values), 0, None).sum())
        hours[key[6]] += float(values[:-1].sum()) * gap_hours
    return {
        kind: drops[kind] / hours[kind] for kind in drops if hours[kind] > 0
    }


def instance_specs_load(*, path: str) -> dict:
    """vCPUs and memory by type, used to find interchangeable types."""
    specs = {}
    with _open(path) as handle:
        for row in csv.DictReader(handle):
            specs[row["instance_type"]] = (
                int(float(row["vcpus"])), float(row["memory_gib"])
            )
    return specs
