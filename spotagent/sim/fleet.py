"""Many agents in one process, each in its own threads, one SimWorld.

Every member is a real `spotagent.agent.Agent` talking HTTP to a real
server; only the cloud and the metadata service are simulated.
"""

import logging
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from spotagent.agent import Agent
from spotagent.config import AgentConfig
from spotagent.server import ServerApi
from spotagent.sim.world import SimInstance, SimWorld

logger = logging.getLogger(__name__)


@dataclass
class FleetStats:
    """What the fleet's agents saw, gathered through their observers."""

    counts: Counter = field(default_factory=Counter)
    notice_round_trips_ms: list[float] = field(default_factory=list)
    notice_to_promoted_s: list[float] = field(default_factory=list)
    outages_s: list[float] = field(default_factory=list)
    # Old instance id -> seconds from its notice to the promotion.
    promotions: dict[str, float] = field(default_factory=dict)
    # Instance id -> when (monotonic) it became and stopped being a primary.
    primary_since: dict[str, float] = field(default_factory=dict)
    replaced_at: dict[str, float] = field(default_factory=dict)
    executed: dict[str, str] = field(default_factory=dict)
    reported: set[tuple[str, str]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict:
        with self.lock:
            return {
                "counts": dict(self.counts),
                "notice_round_trip_ms": _percentiles(self.notice_round_trips_ms),
                "notice_to_promoted_s": _percentiles(self.notice_to_promoted_s),
                "outages_s": _percentiles(self.outages_s),
            }


def _percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 3)

    return {
        "n": len(ordered), "p50": pick(0.5), "p99": pick(0.99),
        "max": round(ordered[-1], 3), "mean": round(statistics.fmean(ordered), 3),
    }


@dataclass
class Member:
    name: str
    agent: Agent
    thread: threading.Thread
    first_instance: SimInstance


def sim_agent_config(*, server: str, token: str, name: str, speed: float,
                     types: list[str], **overrides) -> AgentConfig:
    """Agent settings with the production intervals shrunk by `speed`."""
    values = {
        "server": server, "token": token, "logical_agent_id": name,
        "candidate_types": types,
        "heartbeat_seconds": max(1.0, 30 / speed),
        "poll_seconds": max(0.5, 10 / speed),
        "notice_poll_seconds": max(0.2, 5 / speed),
        "price_report_seconds": max(5.0, 300 / speed),
        "launch_timeout_seconds": 600 / speed + 5,
        "backoff_initial_seconds": 0.5,
        "backoff_max_seconds": 10.0,
        "http_timeout_seconds": 15.0,
        **overrides,
    }
    return AgentConfig(**values).check()


class Fleet:
    """Start, watch and stop a simulated fleet."""

    def __init__(self, *, world: SimWorld, server: str, token: str,
                 prefix: str = "sim", types: list[str] | None = None,
                 **config_overrides):
        self.world = world
        self.server = server
        self.token = token
        self.prefix = prefix
        self.types = types or sorted(world.ondemand)
        self.config_overrides = config_overrides
        self.members: list[Member] = []
        self.stats = FleetStats()

    def start(self, count: int, *, pool_ids: list[str] | None = None) -> None:
        pools = pool_ids or sorted(self.world.pools)
        for number in range(len(self.members), len(self.members) + count):
            name = f"{self.prefix}-{number + 1:03d}"
            instance = self.world.instance_start(
                pool_id=pools[number % len(pools)], ready=True,
                tags={"spotopt:agent": name},
            )
            self.stats.primary_since[instance.instance_id] = instance.ready_at
            self.members.append(self._member(name, instance))
        for member in self.members[-count:]:
            member.thread.start()

    def _member(self, name: str, instance: SimInstance) -> Member:
        config = sim_agent_config(
            server=self.server, token=self.token, name=name,
            speed=self.world.speed, types=self.types, **self.config_overrides,
        )
        agent = Agent(
            config=config,
            server=ServerApi(
                base_url=config.server, token=config.token,
                timeout=config.http_timeout_seconds,
            ),
            cloud=self.world.cloud(),
            metadata=self.world.metadata(),
            identity=self.world.identity(instance, hostname=f"{name}.sim"),
            observer=self._observer_for(name),
        )
        thread = threading.Thread(target=agent.run, name=name, daemon=True)
        return Member(name, agent, thread, instance)

    def _observer_for(self, name: str):
        def observe(event: str, **fields) -> None:
            with self.stats.lock:
                self._record(event, fields)

        return observe

    def _record(self, event: str, fields: dict) -> None:
        stats = self.stats
        if event == "command_done":
            key = f"command_{fields['command_type'].lower()}"
            stats.counts[key if fields["success"] else f"{key}_failed"] += 1
            if fields["success"]:
                stats.executed[fields["request_id"]] = fields["command_type"]
        elif event == "notice_reported":
            stats.counts[f"notice_{fields['kind']}"] += 1
            stats.reported.add((fields["kind"], fields["instance_id"]))
            if fields["kind"] == "termination":
                stats.notice_round_trips_ms.append(fields["round_trip_ms"])
        elif event == "promoted":
            stats.counts["promoted"] += 1
            now = time.monotonic()
            stats.primary_since[fields["instance_id"]] = now
            if fields.get("old_instance_id"):
                stats.replaced_at[fields["old_instance_id"]] = now
            old = self.world.instances.get(fields.get("old_instance_id") or "")
            if old is not None and old.notice_at is not None:
                # Wall-clock seconds: HTTP and polling do not speed up.
                seconds = time.monotonic() - old.notice_at
                stats.notice_to_promoted_s.append(seconds)
                stats.promotions[old.instance_id] = seconds
        elif event == "server_error":
            stats.counts["server_errors"] += 1
            stats.errors.append(fields["error"][:120])
        elif event == "recovered":
            stats.counts["recoveries"] += 1
            stats.outages_s.append(fields["outage_seconds"])
        else:
            stats.counts[event] += 1

    def registered(self) -> int:
        return sum(1 for member in self.members if member.agent.agent_id)

    def wait_registered(self, *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.registered() == len(self.members):
                return True
            time.sleep(0.2)
        return False

    def stop(self, *, timeout: float = 10.0) -> None:
        for member in self.members:
            member.agent.stop()
        deadline = time.monotonic() + timeout
        for member in self.members:
            member.thread.join(timeout=max(0.1, deadline - time.monotonic()))
