"""Agent load benchmark: how many agents one 2-core machine serves.

Starts the service as in production (granian WSGI workers, PostgreSQL,
Redis, DEBUG off) on its own database and Redis db, registers agents through
the API and drives each one at the field rates: a heartbeat every 30 s, a
command poll every 5 s, a pricing report every 300 s. Rates are real, not
time-compressed; each step runs for a bounded window. During each window a
few agents send termination notices; the server records how long each took
from its arrival to the emergency command's commit
(EmergencyEvent.queue_delay_ms). As the README's scale-out layout has it,
notices go to workers of their own (the emergency lane) unless
--emergency-workers is 0.

Latency is measured from the moment a request was due, so a load generator
or server that falls behind shows up in the figures. The last line of
stdout is one JSON object; progress goes to stderr.

    python bench/agent_load.py --max-agents 10000 --step-seconds 30
"""

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    SERVERS,
    Connection,
    Server,
    database_recreate,
    django_eval,
    event_loop_install,
    log,
    machine_cpu,
    machine_cpu_spent,
    manage,
    percentile,
    redis_flush,
    server_env,
)

HEARTBEAT_SECONDS = 30.0
POLL_SECONDS = 5.0
PRICING_SECONDS = 300.0
P99_LIMIT_MS = 100.0
REQUEST_TIMEOUT_SECONDS = 10.0
DRAIN_SECONDS = 15.0
# Calibrating on a few agents sends each dozens of polls at once, which
# costs more CPU per poll than a fleet's spread-out polls (measured: 1.4 ms
# on 100 agents, 0.5 ms on 1,000 and 2,000).
CALIBRATION_MIN_AGENTS = 1000
DEFAULT_STEPS = (100, 250, 500, 1000, 2000, 3000, 4000, 5000, 7500, 10000)
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-agents", type=int, default=10000)
    parser.add_argument(
        "--steps", default=",".join(map(str, DEFAULT_STEPS)),
        help="agent counts to ramp through (capped by --max-agents)",
    )
    parser.add_argument("--step-seconds", type=float, default=30.0,
                        help="measured window per step")
    parser.add_argument(
        "--warmup-seconds", type=float, default=HEARTBEAT_SECONDS + POLL_SECONDS,
        help="unmeasured run-in per step (a heartbeat and a poll period: a "
        "new agent's first heartbeat takes the full view, its first polls "
        "read the database in each worker)",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    parser.add_argument("--connections", type=int, default=64,
                        help="keep-alive connections of the load generator")
    parser.add_argument("--notice-interval", type=float, default=1.0,
                        help="seconds between termination notices in a step")
    parser.add_argument(
        "--emergency-workers", type=int, default=1,
        help="workers of the emergency lane, which serves the notices on "
        "the next port; 0 sends them to the field's workers",
    )
    parser.add_argument(
        "--emergency-nice", type=int, default=0,
        help="nice value of the emergency lane's processes (negative: ahead "
        "of the field's workers for the CPU; needs root)",
    )
    parser.add_argument(
        "--api-registrations", type=int, default=200,
        help="agents registered through the API; the rest are seeded in bulk",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_agent_load",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every step even after one fails")
    parser.add_argument(
        "--log-dir", default=str(Path(tempfile.gettempdir()) / "spotopt-bench")
    )
    return parser.parse_args()


class Load:
    """An open-loop generator: requests are due at fixed times and a pool of
    keep-alive connections works them off in order."""

    def __init__(self, *, port: int, token: str, connections: int):
        self.port, self.connections = port, connections
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        self.queue: asyncio.Queue = asyncio.Queue()
        self.samples: list[tuple[str, float, bool, float]] = []
        self.answers: dict[str, tuple[int, bytes]] = {}
        self.failures: list[tuple] = []

    async def run(self, events: list[tuple], until: float) -> None:
        """Send every (due, kind, method, path, body) event; wait for the
        answers until `until` at the latest."""
        workers = [
            asyncio.create_task(self._work()) for _ in range(self.connections)
        ]
        loop = asyncio.get_running_loop()
        for event in events:
            delay = event[0] - loop.time()
            if delay > 0.001:
                await asyncio.sleep(delay)
            self.queue.put_nowait(event)
        with suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), until - loop.time())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        while not self.queue.empty():
            due, kind, *_ = self.queue.get_nowait()
            self.samples.append((kind, REQUEST_TIMEOUT_SECONDS * 1000, False, due))

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        connection = Connection("127.0.0.1", self.port)
        try:
            while True:
                due, kind, method, path, body = await self.queue.get()
                headers = self.headers
                if method == "POST":
                    headers = {**headers, "X-Request-ID": uuid.uuid4().hex}
                ok = False
                try:
                    status, payload = await asyncio.wait_for(
                        connection.request(method, path, headers, body),
                        REQUEST_TIMEOUT_SECONDS,
                    )
                    ok = 200 <= status < 300
                    if kind == "register":
                        self.answers[path + body.decode()] = (status, payload)
                    elif not ok and len(self.failures) < 20:
                        self.failures.append((kind, path, status, payload[:300]))
                except Exception as error:
                    connection.close()
                    if len(self.failures) < 20:
                        self.failures.append((kind, path, repr(error)))
                latency_ms = (loop.time() - due) * 1000
                self.samples.append((kind, latency_ms, ok, due))
                self.queue.task_done()
        finally:
            connection.close()


def registration(index: int) -> bytes:
    return json.dumps({
        "instance_id": f"i-bench{index:07d}",
        "instance_type": "m5.large",
        "region": "us-east-1",
        "az": AZS[index % len(AZS)],
        "logical_agent_id": f"bench-{index}",
        "mode": "spot",
        "hostname": f"bench-{index}.internal",
        "agent_version": "bench",
    }).encode()


PRICING_BODY = json.dumps({
    "pricing_data_array": [
        *(
            {"instance_type": "m5.large", "az": az, "pool_id": f"m5.large.{az}",
             "spot_price": f"0.03{index}"}
            for index, az in enumerate(AZS)
        ),
        {"instance_type": "m5.large", "price_type": "ondemand", "price": "0.096",
         "region": "us-east-1"},
    ]
}).encode()


async def agents_register(*, port, token, first, count, connections):
    """Register agents first..first+count-1 through the API; return their
    (agent_id, instance_id) pairs."""
    load = Load(port=port, token=token, connections=connections)
    now = asyncio.get_running_loop().time()
    events = [
        (now, "register", "POST", "/api/agents/register", registration(index))
        for index in range(first, first + count)
    ]
    await load.run(events, until=now + 600)
    agents = []
    for index in range(first, first + count):
        body = registration(index)
        status, payload = load.answers.get("/api/agents/register" + body.decode(),
                                           (0, b""))
        if status != 200:
            raise SystemExit(
                f"registration {index} failed: {status} {payload!r} "
                f"{load.failures[:3]!r}"
            )
        agents.append((json.loads(payload)["agent_id"], f"i-bench{index:07d}"))
    return agents


def field_events(
    agents, *, start: float, end: float, rng, quiet_from: dict | None = None
) -> list[tuple]:
    """Every request each agent makes between start and end, in time order;
    an agent in `quiet_from` makes none from that time on (its notice).

    Each agent has its own random phase per request kind, as agents started
    at random times do. Half poll the newer path and half the older one.
    """
    events = []
    quiet_from = quiet_from or {}
    for position, (agent_id, instance_id) in enumerate(agents):
        agent_end = min(end, quiet_from.get(agent_id, end))
        poll = "commands/pending" if position % 2 else "pending-commands"
        heartbeat = json.dumps({  # what spotagent sends
            "status": "online",
            "instance_id": instance_id,
            "reconnect": False,
            "inventory_snapshot": {"instances": [instance_id], "count": 1},
            "health_metrics": {"agent_version": "bench"},
        }).encode()
        kinds = (
            (POLL_SECONDS, "poll", "GET", poll, b""),
            (HEARTBEAT_SECONDS, "heartbeat", "POST", "heartbeat", heartbeat),
            (PRICING_SECONDS, "pricing", "POST", "pricing-report", PRICING_BODY),
        )
        for period, kind, method, suffix, body in kinds:
            due = start + rng.uniform(0, period)
            while due < agent_end:
                path = f"/api/agents/{agent_id}/{suffix}"
                events.append((due, kind, method, path, body))
                due += period
    events.sort(key=lambda event: event[0])
    return events


def _notice_times(notices: list[tuple]) -> dict[int, float]:
    return {int(event[3].split("/")[3]): event[0] for event in notices}


def notice_events(agents, *, start, end, interval, rng, noticed: set,
                  count: int | None = None) -> list[tuple]:
    """Termination notices, one every `interval` seconds, each to an agent
    that has had none in the run (`noticed`, updated here): a second notice
    to an agent is a repeat of its open event, which is cheaper and records
    no delay of its own."""
    count = count or max(1, int((end - start) / interval))
    fresh = [agent for agent in agents if agent[0] not in noticed]
    chosen = rng.sample(fresh, min(count, len(fresh)))
    noticed.update(agent_id for agent_id, _instance in chosen)
    return [
        (start + (number + 0.5) * interval, "notice", "POST",
         f"/api/agents/{agent_id}/termination-imminent",
         json.dumps({"instance_id": instance_id}).encode())
        for number, (agent_id, instance_id) in enumerate(chosen)
    ]


def step_summary(load: Load, *, agents: int, measure_from: float,
                 window: float) -> dict:
    measured = [s for s in load.samples if s[3] >= measure_from]
    field = [s for s in measured if s[0] != "notice"]
    notices = [s for s in measured if s[0] == "notice"]
    latencies = [s[1] for s in field]
    summary = {
        "agents": agents,
        "requests": len(field),
        "offered_rps": round(offered_rate(agents), 1),
        "rps": round(sum(1 for s in field if s[2]) / window, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies, default=0.0), 2),
        "errors": sum(1 for s in measured if not s[2]),
        "by_kind": {},
        "notices": len(notices),
        "notice_request_p99_ms": round(
            percentile([s[1] for s in notices], 0.99), 2
        ),
    }
    for kind in ("poll", "heartbeat", "pricing"):
        values = [s[1] for s in field if s[0] == kind]
        summary["by_kind"][kind] = {
            "count": len(values),
            "p50_ms": round(percentile(values, 0.50), 2),
            "p99_ms": round(percentile(values, 0.99), 2),
        }
    return summary


def queue_delays(env: dict, agent_ids: list[int]) -> list[float]:
    """The server's own notice-to-queue delays for these agents' notices."""
    if not agent_ids:
        return []
    code = (
        "import json; from instances.models import EmergencyEvent as E; "
        "print(json.dumps(list(E.objects.filter(kind='termination', "
        f"agent_id__in={agent_ids!r}).values_list('queue_delay_ms', flat=True))))"
    )
    return [value for value in django_eval(env, code) if value is not None]


def agents_seed(env: dict, client_id: int, first: int, count: int) -> list:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "_seed.py"),
         str(client_id), str(first), str(count)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"seeding failed:\n{done.stderr[-3000:]}")
    return [tuple(pair) for pair in json.loads(done.stdout.splitlines()[-1])]


async def ramp(args, env, servers, client_id, token, steps, costs) -> list:
    """Run each step; `servers` is the field's server, then the emergency
    lane's when there is one (its CPU counts as the server's)."""
    rng = random.Random(2)
    agents, results = [], []
    # Agents whose instance got a termination notice: a real one is busy
    # with the failover's launch (no heartbeats, no polls while it runs a
    # command) and its instance is gone two minutes later. Each step keeps
    # `count` agents active besides them.
    noticed: set[int] = set()
    for count in steps:
        started = time.monotonic()
        wanted = count + len(noticed)
        through_api = max(0, min(wanted, args.api_registrations) - len(agents))
        if through_api:
            # A connection per server thread: registrations are slow writes,
            # and more would only queue inside the server past the timeout.
            agents += await agents_register(
                port=args.port, token=token, first=len(agents),
                count=through_api, connections=args.workers * args.threads,
            )
            log("registered %s agents through the API in %.1f s",
                through_api, time.monotonic() - started)
        if wanted > len(agents):
            agents += agents_seed(env, client_id, len(agents), wanted - len(agents))
            log("%s agents in all after seeding in bulk", len(agents))
        active = [agent for agent in agents if agent[0] not in noticed]

        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5
        measure_from = start + args.warmup_seconds
        end = measure_from + args.step_seconds
        # A notice per lane thread during the run-in, not measured: the
        # lane's first requests open its connections and fill the worker's
        # caches, as the run-in's field requests do for the field's workers.
        run_in_notices = notice_events(
            active, start=start, end=measure_from, rng=rng, noticed=noticed,
            interval=args.warmup_seconds / (args.threads + 1),
            count=args.threads,
        )
        notices = notice_events(
            active, start=measure_from, end=end,
            interval=args.notice_interval, rng=rng, noticed=noticed,
        )
        events = field_events(
            active, start=start, end=end, rng=rng,
            quiet_from=_notice_times(run_in_notices + notices),
        )
        load = Load(port=args.port, token=token, connections=args.connections)
        cpu_before, wall_before = servers_cpu(servers), time.monotonic()
        gen_before, machine_before = time.process_time(), machine_cpu()
        if len(servers) > 1:
            lane = Load(port=servers[1].port, token=token, connections=4)
            await asyncio.gather(
                load.run(events, until=end + DRAIN_SECONDS),
                lane.run(run_in_notices + notices, until=end + DRAIN_SECONDS),
            )
            load.samples += lane.samples
            load.failures += lane.failures
        else:
            events = sorted(
                events + run_in_notices + notices, key=lambda event: event[0]
            )
            await load.run(events, until=end + DRAIN_SECONDS)
        wall = time.monotonic() - wall_before

        summary = step_summary(
            load, agents=count, measure_from=measure_from, window=args.step_seconds
        )
        measured_agents = [int(event[3].split("/")[3]) for event in notices]
        delays = queue_delays(env, measured_agents)
        summary["emergency_p99_ms"] = round(percentile(delays, 0.99), 2)
        summary["emergency_p50_ms"] = round(percentile(delays, 0.50), 2)
        server_cpu = servers_cpu(servers) - cpu_before
        summary["server_cpu_cores"] = round(server_cpu / wall, 2)
        spent = machine_cpu_spent(machine_before, machine_cpu())
        for name, seconds in spent.items():
            summary[f"{name}_cpu_cores"] = round(seconds / wall, 2)
        answered = sum(1 for sample in load.samples if sample[2])
        summary["server_cpu_ms_per_request"] = round(
            server_cpu * 1000 / max(1, answered), 2
        )
        # CPU per agent and second of the field mix, from the requests the
        # server answered: a figure that waiting for a core does not inflate.
        summary["server_cpu_ms_per_agent_second"] = round(
            server_cpu * 1000 / max(1, answered) * offered_rate(count) / count, 4
        )
        summary["load_average_1m"] = round(os.getloadavg()[0], 2)
        summary["generator_cpu_cores"] = round(
            (time.process_time() - gen_before) / wall, 2
        )
        summary["passed"] = (
            summary["p99_ms"] < P99_LIMIT_MS and summary["errors"] == 0
        )
        results.append(summary)
        log("step %s: %s", count, json.dumps(summary))
        if not costs and (count >= CALIBRATION_MIN_AGENTS or count == steps[-1]):
            costs.update(await cpu_calibrate(
                args=args, server=servers[0], token=token,
                agents=[agent for agent in agents if agent[0] not in noticed],
            ))
        for failure in load.failures[:5]:
            log("failed request: %r", failure)
        if not summary["passed"] and not args.keep_going:
            break
    return results


def servers_cpu(servers: list[Server]) -> float:
    return sum(server.cpu_seconds() for server in servers)


def offered_rate(agents: int) -> float:
    """Requests per second the field mix asks of the server."""
    return agents * (1 / POLL_SECONDS + 1 / HEARTBEAT_SECONDS + 1 / PRICING_SECONDS)


async def cpu_calibrate(*, args, server, token, agents) -> dict:
    """Server CPU per request of each kind, from bursts of one kind alone.

    CPU time is what a busy machine inflates least, so this is the figure
    to scale from when other work holds the cores during the ramp.
    """
    rng = random.Random(3)
    costs = {}
    for kind, count in (("poll", 2000), ("heartbeat", 600), ("pricing", 200)):
        loop = asyncio.get_running_loop()
        now = loop.time()
        events = [
            (now, *event[1:])
            for event in field_events(agents, start=now, end=now + 600, rng=rng)
            if event[1] == kind
        ][:count]
        load = Load(port=args.port, token=token,
                    connections=args.workers * args.threads)
        cpu_before = server.cpu_seconds()
        await load.run(events, until=now + 300)
        answered = sum(1 for sample in load.samples if sample[2])
        costs[kind] = round(
            (server.cpu_seconds() - cpu_before) * 1000 / max(1, answered), 3
        )
        log("calibration: %s answered %s, %.3f ms CPU each",
            kind, answered, costs[kind])
    return costs


def cpu_bound_estimate(costs: dict) -> int:
    """Agents that 70% of every core would serve at the calibrated CPU cost
    per request, leaving the rest for the load generator and the databases.
    An estimate, not a measurement: it assumes the cost stays linear."""
    per_agent_second = (
        costs["poll"] / POLL_SECONDS
        + costs["heartbeat"] / HEARTBEAT_SECONDS
        + costs["pricing"] / PRICING_SECONDS
    )
    if not per_agent_second:
        return 0
    return int(0.7 * (os.cpu_count() or 1) * 1000 / per_agent_second)


def final_report(args, results: list[dict], costs: dict) -> dict:
    passed = [step for step in results if step["passed"]]
    headline = passed[-1] if passed else results[0]
    return {
        "agents_supported": passed[-1]["agents"] if passed else 0,
        "rps": headline["rps"],
        "p50_ms": headline["p50_ms"],
        "p99_ms": headline["p99_ms"],
        "errors": headline["errors"],
        "emergency_p99_ms": headline["emergency_p99_ms"],
        "emergency_request_p99_ms": headline["notice_request_p99_ms"],
        "server_cpu_ms_per_request": costs,
        "agents_cpu_estimate": cpu_bound_estimate(costs),
        "load_average_1m": max(step["load_average_1m"] for step in results),
        "workers": args.workers,
        "threads": args.threads,
        "emergency_workers": args.emergency_workers,
        "emergency_nice": args.emergency_nice,
        "server": args.server,
        "step_seconds": args.step_seconds,
        "cpu_count": os.cpu_count(),
        "steps": results,
    }


def _stop_on_sigterm(signum, frame) -> None:
    # Turn a plain kill into an exception, so the server is stopped too.
    raise SystemExit(128 + signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    args = arguments()
    steps = [
        int(value) for value in args.steps.split(",")
        if int(value) <= args.max_agents
    ] or [args.max_agents]
    log_dir = Path(args.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = server_env(database_url=args.database_url, redis_url=args.redis_url)

    log("preparing %s and %s", args.database_url, args.redis_url)
    database_recreate(args.database_url)
    redis_flush(args.redis_url)
    manage(env, "migrate", "--noinput")
    client_id, token = django_eval(env, (
        "import json; from agents.services.clients import client_create; "
        "client, token = client_create(name='bench', email=''); "
        "print(json.dumps([client.pk, token]))"
    ))
    servers = [Server(
        env=env, port=args.port, workers=args.workers, threads=args.threads,
        log_path=log_dir / "agent_load_server.log", kind=args.server,
    )]
    if args.emergency_workers:
        servers.append(Server(
            env=env, port=args.port + 1, workers=args.emergency_workers,
            threads=args.threads, kind=args.server, nice=args.emergency_nice,
            log_path=log_dir / "agent_load_emergency_server.log",
        ))
    event_loop_install()
    try:
        for server in servers:
            server.start()
            log("%s: %s workers x %s threads on port %s",
                args.server, server.workers, server.threads, server.port)
        costs: dict = {}
        results = asyncio.run(
            ramp(args, env, servers, client_id, token, steps, costs)
        )
    finally:
        for server in servers:
            server.stop()
        redis_flush(args.redis_url)
    print(json.dumps(final_report(args, results, costs)))


if __name__ == "__main__":
    main()
