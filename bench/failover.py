"""Failover benchmark: many simulated agents, termination notices injected.

Starts the service as in production (granian, PostgreSQL, Redis, DEBUG
off) on its own database and Redis db, runs a fleet of simulated agents
(the real agent code, a simulated EC2 and metadata service) and makes AWS
reclaim their instances:

- half get a rebalance recommendation first (a warm replica is staged),
  then the two-minute notice: the replica is promoted at once;
- the other half get the notice with no warning: a replica is launched in
  the fastest-booting pool and promoted when it runs.

Reported: notice-to-command (the server's time to queue the emergency
command, EmergencyEvent.queue_delay_ms, and the agent's round trip of the
notice report, which includes it) and notice-to-promoted, from the moment
the notice appears in instance metadata to the agent running the promotion,
for both halves. Times are wall-clock seconds at --speed 1 (the default).
The last line of stdout is one JSON object; progress goes to stderr.

    python bench/failover.py --agents 100
"""

import argparse
import json
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    SERVERS,
    Server,
    database_recreate,
    django_eval,
    log,
    manage,
    percentile,
    redis_flush,
    server_env,
)

from spotagent.sim.fleet import Fleet  # noqa: E402
from spotagent.sim.world import world_create  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_failover"
REDIS_URL = "redis://127.0.0.1:6379/7"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--boot-median", type=float, default=45.0,
                        help="median boot time, simulated seconds")
    parser.add_argument("--rebalance-lead", type=float, default=60.0,
                        help="simulated seconds from recommendation to notice")
    parser.add_argument("--spread", type=float, default=30.0,
                        help="real seconds over which notices arrive")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2,
                        help="server threads per worker")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    return parser.parse_args()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def service_start(args) -> tuple[Server, str]:
    env = server_env(database_url=args.database_url, redis_url=args.redis_url)
    database_recreate(args.database_url)
    redis_flush(args.redis_url)
    manage(env, "migrate", "--noinput")
    token = django_eval(env, (
        "import json; from agents.services.clients import client_create; "
        "c, t = client_create(name='failover-bench'); print(json.dumps(t))"
    ))
    log_path = Path(tempfile.gettempdir()) / "bench_failover_server.log"
    server = Server(env=env, port=free_port(), workers=args.workers,
                    threads=args.threads, log_path=log_path, kind=args.server)
    server.start()
    return server, token


def notices_inject(fleet: Fleet, args) -> dict[str, str]:
    """Schedule every agent's interruption; return instance id -> kind."""
    rng = random.Random(5)
    kinds = {}
    lead_real = fleet.world.real_seconds(args.rebalance_lead)
    now = time.monotonic()
    for number, member in enumerate(fleet.members):
        warned = number % 2 == 0
        at = now + lead_real + rng.uniform(0, args.spread)
        fleet.world.interrupt(
            member.agent.instance_id, at=at,
            rebalance_lead_seconds=args.rebalance_lead if warned else 0,
        )
        kinds[member.agent.instance_id] = "replica" if warned else "cold"
    return kinds


def wait_promoted(fleet: Fleet, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = fleet.stats.counts["promoted"]
        if done >= len(fleet.members):
            break
        time.sleep(1)
    return fleet.stats.counts["promoted"]


def server_delays(server: Server) -> list[float]:
    return django_eval(server.env, (
        "import json; from instances.models import EmergencyEvent as E; "
        "print(json.dumps([e for e in E.objects.filter(kind='termination')"
        ".values_list('queue_delay_ms', flat=True) if e is not None]))"
    ))


def figures(values: list[float], digits: int = 3) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.50), digits),
        "p99": round(percentile(values, 0.99), digits),
        "max": round(max(values), digits) if values else 0.0,
    }


def main() -> None:
    args = arguments()
    server, token = service_start(args)
    url = f"http://127.0.0.1:{server.port}"
    world = world_create(
        speed=args.speed, hazard_per_hour=0, boot_median_seconds=args.boot_median,
    )
    fleet = Fleet(world=world, server=url, token=token, prefix="bench")
    promoted_by_kind: dict[str, list[float]] = {"replica": [], "cold": []}
    try:
        log("starting %s agents against %s", args.agents, url)
        fleet.start(args.agents)
        if not fleet.wait_registered(timeout=120):
            log("only %s agents registered", fleet.registered())
        while fleet.stats.counts["prices_reported"] < args.agents:
            time.sleep(0.5)
        kinds = notices_inject(fleet, args)
        log("notices injected; waiting for %s promotions", args.agents)
        timeout = world.real_seconds(args.rebalance_lead + 600) + args.spread
        promoted = wait_promoted(fleet, timeout)
        for old_instance_id, kind in kinds.items():
            if old_instance_id in fleet.stats.promotions:
                promoted_by_kind[kind].append(
                    fleet.stats.promotions[old_instance_id]
                )
        delays = server_delays(server)
    finally:
        fleet.stop()
        server.stop()
    summary = fleet.stats.summary()
    result = {
        "benchmark": "failover",
        "agents": args.agents,
        "speed": args.speed,
        "promoted": promoted,
        "notice_to_command_ms_server": figures(delays),
        "notice_report_round_trip_ms_agent": figures(
            fleet.stats.notice_round_trips_ms
        ),
        "notice_to_promoted_s_with_replica": figures(promoted_by_kind["replica"]),
        "notice_to_promoted_s_without_replica": figures(promoted_by_kind["cold"]),
        "notice_to_promoted_s_all": summary["notice_to_promoted_s"],
        "agent_errors": summary["counts"].get("server_errors", 0),
        "targets": {"notice_to_command_p99_ms": 50, "notice_to_promoted_s": 60},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
