"""A simulated EC2 region and its metadata service, on a sped-up clock.

Simulated time runs `speed` times faster than the wall clock: a 90-second
boot at speed 10 takes 9 real seconds. Time stamps shown to the server
(notice deadlines, price times) are wall-clock times, because the server
measures deadlines against its own clock.

Interruptions follow a hazard model: each spot pool has an interruption
rate per hour (from its Spot Advisor band unless given), each running spot
instance draws its time to interruption from it, and an interruption comes
as a rebalance recommendation, then the two-minute termination notice, then
the end of the instance. Some recommendations are followed by nothing.
"""

import itertools
import math
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from spotagent.cloud import CloudError, SpotPrice
from spotagent.metadata import Identity, Notice

NOTICE_LEAD_SECONDS = 120
# Spot Advisor bands: monthly interruption frequency <5%, 5-10%, ... >20%.
BAND_MONTHLY_RATE = (0.03, 0.075, 0.125, 0.175, 0.25)
HOURS_PER_MONTH = 730
FALSE_ALARM_SHARE = 0.5


@dataclass
class SimPool:
    instance_type: str
    az: str
    hazard_per_hour: float
    boot_median_seconds: float = 90.0
    boot_sigma: float = 0.35

    @property
    def pool_id(self) -> str:
        return f"{self.instance_type}.{self.az}"


@dataclass
class SimInstance:
    instance_id: str
    pool: SimPool
    market: str
    launched_at: float
    ready_at: float
    tags: dict = field(default_factory=dict)
    terminated_at: float | None = None
    rebalance_at: float | None = None
    rebalance_wall: datetime | None = None
    notice_at: float | None = None
    notice_wall: datetime | None = None
    interrupt_at: float | None = None
    interrupt_wall: datetime | None = None

    def state(self, now: float) -> str:
        if self.terminated_at is not None and now >= self.terminated_at:
            return "terminated"
        if self.interrupt_at is not None and now >= self.interrupt_at:
            return "terminated"
        return "running" if now >= self.ready_at else "pending"


class SimWorld:
    """The cloud the simulated fleet lives in; safe to share between threads."""

    def __init__(self, *, prices, ondemand: dict[str, float], speed: float = 1.0,
                 seed: int = 7, hazard_per_hour: float | None = None,
                 bands: dict[str, int] | None = None,
                 boot_median_seconds: float = 90.0, region: str = "us-east-1"):
        self.prices = prices
        self.ondemand = ondemand
        self.speed = speed
        self.region = region
        self.rng = random.Random(seed)
        self.started = time.monotonic()
        self.started_wall = datetime.now(UTC)
        self.pools: dict[str, SimPool] = {}
        for instance_type, az in prices.pools:
            band = (bands or {}).get(instance_type, 1)
            rate = hazard_per_hour
            if rate is None:
                rate = -math.log(1 - BAND_MONTHLY_RATE[band]) / HOURS_PER_MONTH
            pool = SimPool(instance_type, az, rate, boot_median_seconds)
            self.pools[pool.pool_id] = pool
        self.instances: dict[str, SimInstance] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.interruptions = 0

    # --- time ------------------------------------------------------------

    def real_seconds(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    def elapsed(self) -> timedelta:
        return timedelta(seconds=(time.monotonic() - self.started) * self.speed)

    def _wall(self, monotonic_at: float) -> datetime:
        return self.started_wall + timedelta(seconds=monotonic_at - self.started)

    # --- instances -------------------------------------------------------

    def instance_start(self, *, pool_id: str, market: str = "spot",
                       ready: bool = False, tags: dict | None = None) -> SimInstance:
        pool = self.pools[pool_id]
        now = time.monotonic()
        boot = self.rng.lognormvariate(
            math.log(pool.boot_median_seconds), pool.boot_sigma
        )
        with self._lock:
            instance_id = f"i-sim{next(self._ids):012x}"
            instance = SimInstance(
                instance_id=instance_id, pool=pool, market=market,
                launched_at=now,
                ready_at=now if ready else now + self.real_seconds(boot),
                tags=dict(tags or {}),
            )
            self.instances[instance_id] = instance
        if market == "spot":
            self._hazard_schedule(instance)
        return instance

    def _hazard_schedule(self, instance: SimInstance) -> None:
        """Draw when (if ever) AWS signals this instance, from its pool rate."""
        rate = instance.pool.hazard_per_hour
        if rate <= 0:
            return

        hours = self.rng.expovariate(rate)
        at = instance.ready_at + self.real_seconds(hours * 3600)
        self.interrupt(instance.instance_id, at=at)
        if self.rng.random() < FALSE_ALARM_SHARE:
            # An earlier recommendation that nothing followed for a while.
            early = self.rng.uniform(instance.ready_at, at)
            if early < instance.rebalance_at:
                self._rebalance_set(instance, early)

    def _rebalance_set(self, instance: SimInstance, at: float) -> None:
        instance.rebalance_at = at
        instance.rebalance_wall = self._wall(at)

    def interrupt(self, instance_id: str, *, at: float | None = None,
                  rebalance_lead_seconds: float = 900.0) -> SimInstance:
        """Schedule an interruption: recommendation, notice, then the end.

        `at` is when the notice appears (monotonic); the recommendation
        comes `rebalance_lead_seconds` of simulated time before it and the
        instance ends two simulated minutes after it.
        """
        instance = self.instances[instance_id]
        at = time.monotonic() if at is None else at
        with self._lock:
            if rebalance_lead_seconds > 0:
                self._rebalance_set(
                    instance, at - self.real_seconds(rebalance_lead_seconds)
                )
            instance.notice_at = at
            instance.notice_wall = self._wall(at)
            end = at + self.real_seconds(NOTICE_LEAD_SECONDS)
            instance.interrupt_at = end
            instance.interrupt_wall = self._wall(end)
        return instance

    def notices(self, instance_id: str) -> list[Notice]:
        instance = self.instances.get(instance_id)
        if instance is None:
            return []

        now = time.monotonic()
        if instance.state(now) == "terminated":
            return []
        found = []
        if instance.notice_at is not None and now >= instance.notice_at:
            found.append(Notice(
                kind="termination", instance_id=instance_id, action="terminate",
                time=_aws_time(instance.interrupt_wall),
            ))
        if instance.rebalance_at is not None and now >= instance.rebalance_at:
            found.append(Notice(
                kind="rebalance", instance_id=instance_id,
                time=_aws_time(instance.rebalance_wall),
            ))
        return found

    def identity(self, instance: SimInstance, hostname: str = "") -> Identity:
        return Identity(
            instance_id=instance.instance_id,
            instance_type=instance.pool.instance_type,
            region=self.region, az=instance.pool.az,
            ami_id="ami-sim0000000001", hostname=hostname,
        )

    def price(self, pool: SimPool) -> float | None:
        return self.prices.price(pool.instance_type, pool.az, self.elapsed())

    def cloud(self) -> "SimCloud":
        return SimCloud(self)

    def metadata(self) -> "SimMetadata":
        return SimMetadata(self)


def _aws_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SimCloud:
    """The agent's cloud methods, acting on a SimWorld."""

    def __init__(self, world: SimWorld):
        self.world = world

    def instance_launch(self, *, instance_type: str, az: str, market: str,
                        ami_id: str = "", tags: dict | None = None) -> str:
        pool_id = f"{instance_type}.{az}"
        if pool_id not in self.world.pools:
            raise CloudError(f"InsufficientInstanceCapacity in {pool_id}")
        instance = self.world.instance_start(pool_id=pool_id, market=market, tags=tags)
        return instance.instance_id

    def instance_wait_running(self, instance_id: str, *, timeout: float,
                              sleep=time.sleep, poll_seconds: float = 0) -> None:
        instance = self.world.instances[instance_id]
        wait = instance.ready_at - time.monotonic()
        if wait > timeout:
            raise CloudError(f"{instance_id} not running after {timeout:.0f} s")
        if wait > 0 and sleep(wait) is False:
            raise CloudError("agent stopping")
        if instance.state(time.monotonic()) != "running":
            raise CloudError(f"{instance_id} is not running")

    def instance_terminate(self, instance_id: str) -> None:
        instance = self.world.instances.get(instance_id)
        if instance is not None and instance.terminated_at is None:
            instance.terminated_at = time.monotonic()

    def instance_tag(self, instance_id: str, tags: dict) -> None:
        instance = self.world.instances.get(instance_id)
        if instance is None:
            raise CloudError(f"InvalidInstanceID.NotFound: {instance_id}")
        instance.tags.update(tags)

    def spot_prices(self, *, instance_types: list[str]) -> list[SpotPrice]:
        now = datetime.now(UTC)
        prices = []
        for pool in self.world.pools.values():
            if pool.instance_type not in instance_types:
                continue
            price = self.world.price(pool)
            if price is not None:
                prices.append(SpotPrice(pool.instance_type, pool.az, f"{price}", now))
        return prices

    def ondemand_prices(self, *, instance_types: list[str]) -> dict[str, str]:
        return {
            instance_type: str(self.world.ondemand[instance_type])
            for instance_type in instance_types
            if instance_type in self.world.ondemand
        }


class SimMetadata:
    """The metadata service of whichever simulated instance is asked about."""

    def __init__(self, world: SimWorld):
        self.world = world

    def notices(self, instance_id: str) -> list[Notice]:
        return self.world.notices(instance_id)


# Linux on-demand prices in us-east-1, USD per hour.
DEFAULT_ONDEMAND = {
    "m5.large": 0.096, "m5.xlarge": 0.192, "c5.large": 0.085, "r5.large": 0.126,
}
DEFAULT_AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]


def world_create(*, speed: float = 1.0, seed: int = 7, prices_csv: str = "",
                 types: list[str] | None = None, azs: list[str] | None = None,
                 hazard_per_hour: float | None = None,
                 boot_median_seconds: float = 90.0) -> SimWorld:
    """A world of the given types and zones, prices replayed or generated."""
    from spotagent.sim.prices import GeneratedPrices, ReplayedPrices

    types = types or ["m5.large", "m5.xlarge", "c5.large"]
    azs = azs or DEFAULT_AZS
    ondemand = {name: DEFAULT_ONDEMAND.get(name, 0.1) for name in types}
    if prices_csv:
        wanted = {(name, az) for name in types for az in azs}
        prices = ReplayedPrices(prices_csv, pools=wanted)
        if not prices.pools:
            raise ValueError("the price file has none of the requested pools")
    else:
        prices = GeneratedPrices(ondemand=ondemand, azs=azs, seed=seed)
    return SimWorld(
        prices=prices, ondemand=ondemand, speed=speed, seed=seed,
        hazard_per_hour=hazard_per_hour, boot_median_seconds=boot_median_seconds,
    )
