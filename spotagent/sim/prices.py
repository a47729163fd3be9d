"""Spot prices for the simulated cloud: replayed from a CSV or generated.

The CSV has the columns of DescribeSpotPriceHistory exports:
`timestamp_utc, availability_zone, instance_type, spot_price_usd` (plus an
optional `product_description`, of which only Linux/UNIX rows are used).
A row is a price change; the price holds until the pool's next row.
"""

import bisect
import csv
import gzip
import math
import random
from datetime import datetime, timedelta


def _open(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


class ReplayedPrices:
    """Prices from a CSV, its first time stamp mapped to the start of the run."""

    def __init__(self, path: str, *, pools: set[tuple[str, str]] | None = None):
        series: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
        with _open(path) as handle:
            for row in csv.DictReader(handle):
                product = row.get("product_description", "Linux/UNIX")
                if product != "Linux/UNIX":
                    continue
                key = (row["instance_type"], row["availability_zone"])
                if pools is not None and key not in pools:
                    continue
                moment = datetime.fromisoformat(
                    row["timestamp_utc"].replace("Z", "+00:00")
                )
                series.setdefault(key, []).append(
                    (moment, float(row["spot_price_usd"]))
                )
        self._series = {key: sorted(points) for key, points in series.items()}
        self._times = {
            key: [moment for moment, _ in points]
            for key, points in self._series.items()
        }
        starts = [points[0][0] for points in self._series.values()]
        self.start = min(starts) if starts else None

    @property
    def pools(self) -> list[tuple[str, str]]:
        return sorted(self._series)

    def price(self, instance_type: str, az: str, elapsed: timedelta) -> float | None:
        key = (instance_type, az)
        if key not in self._series:
            return None

        index = bisect.bisect_right(self._times[key], self.start + elapsed) - 1
        return self._series[key][max(index, 0)][1]


class GeneratedPrices:
    """A mean-reverting walk per pool around a fraction of on-demand.

    Each pool gets its own level (25-45% of on-demand) and a few price
    changes a day, like real Linux pools; the seed makes runs repeatable.
    """

    STEP_HOURS = 4.0

    def __init__(self, *, ondemand: dict[str, float], azs: list[str], seed: int = 7):
        self._ondemand = ondemand
        self._levels = {}
        self._seed = seed
        rng = random.Random(seed)
        for instance_type in sorted(ondemand):
            for az in azs:
                self._levels[(instance_type, az)] = rng.uniform(0.25, 0.45)

    @property
    def pools(self) -> list[tuple[str, str]]:
        return sorted(self._levels)

    def price(self, instance_type: str, az: str, elapsed: timedelta) -> float | None:
        key = (instance_type, az)
        if key not in self._levels:
            return None

        step = int(elapsed.total_seconds() / 3600 / self.STEP_HOURS)
        rng = random.Random(f"{self._seed}:{instance_type}:{az}:{step}")
        wobble = 1 + 0.08 * math.sin(step / 3 + len(az)) + rng.uniform(-0.05, 0.05)
        return round(self._ondemand[instance_type] * self._levels[key] * wobble, 4)
