"""The live demo of `make run`: a small simulated fleet with a script.

Within two minutes of start a newcomer sees, in this order:

1. six agents come online and report prices (seeded history first, so the
   charts are not empty);
2. two agents get auto-switch on, and one of them switches to a cheaper pool
   through the agent endpoint `issue-switch-command`;
3. another agent gets a rebalance recommendation (a warm replica is staged),
   then the two-minute notice, and fails over to the replica;
4. savings grow as the fleet keeps running on spot.

After that the script repeats a switch or a failover every few minutes so
the dashboard stays alive.
"""

import logging
import random
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

from django.db import OperationalError
from django.utils import timezone

from spotagent.server import ServerApi, ServerError, ServerUnreachable
from spotagent.sim.fleet import Fleet
from spotagent.sim.world import SimWorld, world_create

logger = logging.getLogger(__name__)

DEMO_AGENTS = 6
DEMO_AUTO_SWITCH_AGENTS = 2
DEMO_BOOT_MEDIAN_SECONDS = 8.0
DEMO_SEED_HOURS = 6
DEMO_REBALANCE_LEAD_SECONDS = 20.0
DEMO_REPEAT_SECONDS = 180.0
DEMO_LEDGER_SECONDS = 30.0
DEMO_CONFIG = {
    "heartbeat_seconds": 10.0,
    "poll_seconds": 2.0,
    "notice_poll_seconds": 1.0,
    "price_report_seconds": 60.0,
}


def server_wait(*, url: str, timeout: float = 120.0) -> bool:
    """True once the server answers anything on /health."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=3):
                return True
        except urllib.error.HTTPError:
            return True
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    return False


def _with_retries(action, attempts: int = 10):
    """SQLite answers "database is locked" while the server writes; wait."""
    for attempt in range(attempts):
        try:
            return action()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 + attempt * 0.5)


def prices_seed(*, world: SimWorld) -> int:
    """Store a few hours of history for every simulated pool, once."""
    from pricing.models import RawPriceReport, SpotPool
    from pricing.services import PricePoint, prices_store

    pool_ids = list(world.pools)
    if SpotPool.objects.filter(
        pool_id__in=pool_ids, latest_price__isnull=False
    ).count() == len(pool_ids):
        return 0

    now = timezone.now()
    points = []
    for step in range(DEMO_SEED_HOURS * 2, 0, -1):
        ago = timedelta(minutes=30 * step)
        for pool in world.pools.values():
            price = world.prices.price(pool.instance_type, pool.az, -ago)
            points.append(PricePoint(
                instance_type=pool.instance_type, az=pool.az,
                region=world.region, price=Decimal(str(price)),
                observed_at=now - ago,
            ))
    for instance_type, price in world.ondemand.items():
        points.append(PricePoint(
            instance_type=instance_type, region=world.region,
            price=Decimal(str(price)), observed_at=now,
            price_type=RawPriceReport.PriceType.ONDEMAND,
        ))
    return _with_retries(
        lambda: prices_store(points=points, source=RawPriceReport.Source.IMPORT)
    )


def auto_switch_enable(*, agent_ids: list[int]) -> None:
    from agents.models import Agent
    from agents.services.lifecycle import agent_config_update

    for agent in Agent.objects.filter(pk__in=agent_ids):
        _with_retries(lambda agent=agent: agent_config_update(
            agent=agent,
            changes={"auto_switch_enabled": True, "terminate_wait_seconds": 30},
            cause="demo: auto-switch on",
        ))


def savings_refresh() -> None:
    """Bring the savings ledger up to now, as its hourly job would.

    The demo cannot wait an hour for the first roll-up; refreshing the last
    hour every half minute lets the newcomer watch savings grow.
    """
    from django.db import connection

    from pricing.ledger import ledger_refresh

    try:
        _with_retries(lambda: ledger_refresh(hours_back=1))
    finally:
        connection.close()


class Demo:
    """The scripted demo around one fleet; `run()` blocks until stopped."""

    def __init__(self, *, server: str, token: str, out=print, seed: int = 11):
        self.server = server
        self.api = ServerApi(base_url=server, token=token)
        self.out = out
        self.rng = random.Random(seed)
        self.stopped = threading.Event()
        self.world = world_create(
            speed=1.0, seed=seed, hazard_per_hour=0,
            boot_median_seconds=DEMO_BOOT_MEDIAN_SECONDS,
        )
        self.fleet = Fleet(
            world=self.world, server=server, token=token, prefix="demo",
            types=["m5.large", "m5.xlarge", "c5.large"], **DEMO_CONFIG,
        )

    def run(self, *, stop_after: float = 0) -> None:
        started = time.monotonic()
        stored = prices_seed(world=self.world)
        self.out(f"demo: seeded {stored} historical prices")
        threading.Thread(target=self._savings_loop, daemon=True).start()
        self.fleet.start(DEMO_AGENTS, pool_ids=self._starting_pools())
        if self.fleet.wait_registered(timeout=60):
            self.out(f"demo: {DEMO_AGENTS} agents online")
        members = self.fleet.members
        auto = [m.agent.agent_id for m in members[:DEMO_AUTO_SWITCH_AGENTS]]
        auto_switch_enable(agent_ids=[agent_id for agent_id in auto if agent_id])
        self.stopped.wait(5)
        self.switch(members[0])
        self.stopped.wait(15)
        self.failover(members[DEMO_AUTO_SWITCH_AGENTS])
        rounds = 0
        while not stop_after or time.monotonic() - started < stop_after:
            pause = min(DEMO_REPEAT_SECONDS, stop_after or DEMO_REPEAT_SECONDS)
            if self.stopped.wait(pause):
                return
            rounds += 1
            member = self.rng.choice(members)
            if rounds % 2:
                self.switch(members[rounds % DEMO_AUTO_SWITCH_AGENTS])
            else:
                self.failover(member)

    def _savings_loop(self) -> None:
        while not self.stopped.wait(DEMO_LEDGER_SECONDS):
            try:
                savings_refresh()
            except Exception:
                # The demo goes on without fresh savings; say why once.
                logger.exception("Savings ledger refresh failed")

    def _starting_pools(self) -> list[str]:
        """Every pool in order, but the first agent starts in its type's
        dearest pool, so the first scripted switch saves money."""
        pools = sorted(self.world.pools)
        first_type = self.world.pools[pools[0]].instance_type
        dearest = max(
            (pool for pool in self.world.pools.values()
             if pool.instance_type == first_type),
            key=lambda pool: self.world.price(pool) or 0.0,
        )
        return [dearest.pool_id, *(p for p in pools if p != dearest.pool_id)]

    def _price_now(self, pool) -> float:
        return self.world.price(pool) or float("inf")

    def switch(self, member) -> None:
        """Ask the server to move the agent to its type's cheapest pool, if
        that is cheaper than the one it runs in."""
        agent = member.agent
        current = self.world.pools.get(f"{agent.instance_type}.{agent.az}")
        candidates = [
            pool for pool in self.world.pools.values()
            if pool.instance_type == agent.instance_type and pool is not current
        ]
        if agent.agent_id is None or not candidates:
            return

        target = min(candidates, key=self._price_now)
        current_price = self._price_now(current) if current else float("inf")
        if self._price_now(target) >= current_price:
            self.out(f"demo: {member.name} already runs on its cheapest pool")
            return
        try:
            self.api.post(f"{agent.agent_id}/issue-switch-command", {
                "target_mode": "spot", "target_pool_id": target.pool_id,
                "reason": "demo: a cheaper pool", "priority": 75,
            })
        except (ServerError, ServerUnreachable) as error:
            if getattr(error, "status", None) == HTTPStatus.CONFLICT:
                # Auto-switch is on for this agent and moved first.
                self.out(f"demo: {member.name} is already switching on its own")
            else:
                self.out(f"demo: switch of {member.name} not started: {error}")
            return
        self.out(
            f"demo: switch of {member.name} {current.pool_id if current else '?'}"
            f" -> {target.pool_id}"
        )

    def failover(self, member) -> None:
        """A rebalance recommendation now, the two-minute notice shortly after."""
        instance_id = member.agent.instance_id
        if instance_id not in self.world.instances:
            return

        self.world.interrupt(
            instance_id,
            at=time.monotonic() + DEMO_REBALANCE_LEAD_SECONDS,
            rebalance_lead_seconds=DEMO_REBALANCE_LEAD_SECONDS,
        )
        self.out(
            f"demo: AWS will reclaim {instance_id} of {member.name}: "
            f"rebalance now, notice in {DEMO_REBALANCE_LEAD_SECONDS:.0f} s"
        )

    def stop(self) -> None:
        self.stopped.set()
        self.fleet.stop()
