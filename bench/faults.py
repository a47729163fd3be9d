"""Fault benchmark: the service under agent load while its parts fail.

Starts the service as in production (granian, PostgreSQL, Redis, a Celery
worker, DEBUG off) on its own database and Redis db, runs a fleet of
simulated agents (the real agent code) with interruptions and switches
going on, and one after another:

1. stops the local Redis for 30 s, then starts it again;
2. restarts PostgreSQL;
3. kills the Celery worker (SIGKILL) while it runs a price consolidation,
   starts a new one and runs the consolidation again;
4. replays requests the agents sent, with the same request ids.

Reported per fault: the errors the agents saw (failed calls), how long until
every agent's calls succeeded again, and at the end the effects lost and
duplicated: launches executed twice (two simulated instances for one
command), notices without an emergency event, failovers not completed,
agents with other than one primary, consolidation runs lost, replays that
changed something. Redis and PostgreSQL are the machine's shared servers:
this benchmark restarts them, and always starts Redis again on the way out.
The last line of stdout is one JSON object; progress goes to stderr.

    python bench/faults.py --agents 40
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import BIN, ROOT, SERVERS, django_eval, log  # noqa: E402
from failover import service_start  # noqa: E402

from spotagent.server import ServerApi, ServerError, ServerUnreachable  # noqa: E402
from spotagent.sim.fleet import Fleet  # noqa: E402
from spotagent.sim.world import world_create  # noqa: E402

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_faults"
REDIS_URL = "redis://127.0.0.1:6379/7"
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
    "--port", "6379", "--save", "", "--appendonly", "no",
    "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]
REDIS_OUTAGE_SECONDS = 30.0


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2,
                        help="server threads per worker")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    parser.add_argument("--settle", type=float, default=20.0,
                        help="real seconds of normal running between faults")
    return parser.parse_args()


class Recorder:
    """Counts agent errors and times recoveries between marks."""

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.errors_at_mark = 0

    def mark(self) -> None:
        self.errors_at_mark = self.fleet.stats.counts["server_errors"]

    def errors_since_mark(self) -> int:
        return self.fleet.stats.counts["server_errors"] - self.errors_at_mark

    def all_agents_healthy(self) -> bool:
        return all(m.agent._down_since is None for m in self.fleet.members)

    def wait_recovered(self, since: float, timeout: float = 180.0) -> float | None:
        """Seconds from `since` until no agent is in back-off any more."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.all_agents_healthy():
                return round(time.monotonic() - since, 2)
            time.sleep(0.2)
        for member in self.fleet.members:
            if member.agent._down_since is not None:
                log("still failing: %s: %s", member.name, member.agent.last_error)
        return None


def redis_outage(recorder: Recorder, fleet: Fleet, seconds: float) -> dict:
    recorder.mark()
    log("stopping Redis for %.0f s", seconds)
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"],
                   capture_output=True, timeout=30)
    try:
        _interrupt_some(fleet, count=3)
        time.sleep(seconds)
    finally:
        subprocess.run(REDIS_START, capture_output=True, timeout=30)
    started = time.monotonic()
    log("Redis started again")
    recovery = recorder.wait_recovered(started)
    return {"agent_errors": recorder.errors_since_mark(),
            "recovery_seconds_after_restart": recovery}


def postgres_restart(recorder: Recorder, fleet: Fleet) -> dict:
    recorder.mark()
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    log("restarting PostgreSQL %s", version)
    _interrupt_some(fleet, count=3)
    started = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        capture_output=True, timeout=120,
    )
    restart_seconds = round(time.monotonic() - started, 2)
    recovery = recorder.wait_recovered(started)
    return {"agent_errors": recorder.errors_since_mark(),
            "restart_seconds": restart_seconds,
            "recovery_seconds_from_restart": recovery}


def _interrupt_some(fleet: Fleet, count: int) -> None:
    """Notices for a few agents now: failovers during the fault."""
    now = time.monotonic()
    healthy = [
        m for m in fleet.members
        if fleet.world.instances[m.agent.instance_id].notice_at is None
    ]
    for member in healthy[:count]:
        fleet.world.interrupt(member.agent.instance_id, at=now,
                              rebalance_lead_seconds=0)


def worker_start(env: dict) -> subprocess.Popen:
    log_path = Path(tempfile.gettempdir()) / "bench_faults_worker.log"
    return subprocess.Popen(
        [str(BIN / "celery"), "-A", "spotopt", "worker", "-l", "warning",
         "-c", "1", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=open(log_path, "a"),  # noqa: SIM115
        stderr=subprocess.STDOUT, start_new_session=True,
    )


def worker_kill_during_consolidation(env: dict, worker) -> tuple[dict, object]:
    """SIGKILL the worker mid-run; a new worker's run must complete."""
    consolidation = (
        "import json; from pricing.tasks import consolidate_prices_task as t; "
        "r = t.delay(); print(json.dumps(r.id))"
    )
    jobs = (
        "import json; from pricing.models import ConsolidationJob as J; "
        "print(json.dumps(list(J.objects.values_list('status', flat=True))))"
    )
    before = django_eval(env, jobs)
    django_eval(env, consolidation)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(django_eval(env, jobs)) == len(before):
        time.sleep(0.05)
    killed_mid_run = len(django_eval(env, jobs)) > len(before)
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    log("worker killed (job seen running: %s); starting a new one", killed_mid_run)
    started = time.monotonic()
    worker = worker_start(env)
    django_eval(env, consolidation)
    finished = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = django_eval(env, jobs)
        if statuses.count("succeeded") + statuses.count("completed") > before.count(
            "succeeded"
        ) + before.count("completed"):
            finished = round(time.monotonic() - started, 2)
            break
        time.sleep(0.5)
    return {
        "killed_while_running": killed_mid_run,
        "job_statuses": django_eval(env, jobs),
        "rerun_completed_seconds": finished,
        "consolidation_lost": finished is None,
    }, worker


def replays(url: str, token: str, fleet: Fleet, env: dict) -> dict:
    """Send agents' reports again with their request ids; nothing may change.

    The replayed reports are the ones agents sent after executing commands
    (instance-launched, instance-terminated, executed), with the request
    ids the agents used, while the fleet keeps running; the counts of
    commands, emergency events, instances and audit rows must not move
    because of them (the fleet itself is paused for the measurement).
    """
    from spotagent.agent import _stable_id

    api = ServerApi(base_url=url, token=token)
    counts = (
        "import json; from instances.models import AuditEvent, Command, "
        "EmergencyEvent, Instance; print(json.dumps([Command.objects.count(), "
        "EmergencyEvent.objects.count(), Instance.objects.count(), "
        "AuditEvent.objects.count()]))"
    )
    posts = []
    for member in fleet.members:
        for request_id, outcome in list(member.agent._done.items())[-3:]:
            for suffix, body in outcome.followups:
                posts.append((member.agent.agent_id, suffix, body,
                              _stable_id(request_id, suffix)))
    for member in fleet.members:
        member.agent.stop()
    time.sleep(3)
    before = django_eval(env, counts)
    replayed = failed = 0
    for agent_id, suffix, body, request_id in posts:
        try:
            api.post(f"{agent_id}/{suffix}", body, request_id=request_id)
            replayed += 1
        except (ServerError, ServerUnreachable):
            failed += 1
    after = django_eval(env, counts)
    return {
        "requests_replayed": replayed,
        "replays_refused": failed,
        "rows_before": before,
        "rows_after": after,
        "rows_changed_by_replays": sum(
            a - b for a, b in zip(after, before, strict=True)
        ),
    }


def effects(env: dict, fleet: Fleet) -> dict:
    """What the faults did to the outcome, checked against both sides.

    - launches duplicated: more than one simulated instance for one command;
    - results lost: commands the agents executed that the server does not
      have as succeeded;
    - notices unreported: AWS notices for an agent's primary of the moment
      that its agent never managed to report;
    - notices lost: reports the agents made that left no emergency event.
    """
    stats = fleet.stats
    now = time.monotonic()
    # Snapshots first: the fleet keeps running while the server is queried,
    # and what it does meanwhile is not in the server's answer.
    with stats.lock:
        executed = dict(stats.executed)
        reported = {i for kind, i in stats.reported if kind == "termination"}
    by_request: dict[str, int] = {}
    for instance in fleet.world.instances.values():
        request_id = instance.tags.get("spotopt:request-id")
        if request_id:
            by_request[request_id] = by_request.get(request_id, 0) + 1
    primary_notices = [
        instance.instance_id for instance in fleet.world.instances.values()
        if instance.notice_at is not None and instance.notice_at <= now - 30
        and stats.primary_since.get(instance.instance_id, now) <= instance.notice_at
        < stats.replaced_at.get(instance.instance_id, now)
    ]
    events, succeeded, bad_primaries = django_eval(env, (
        "import json; from django.db.models import Count, Q; "
        "from instances.models import EmergencyEvent as E, Command as C; "
        "from agents.models import Agent as A; "
        "events = list(E.objects.filter(kind='termination')"
        ".values_list('instance__instance_id', 'status')); "
        "done = list(C.objects.filter(status='succeeded')"
        ".values_list('request_id', flat=True)); "
        "bad = A.objects.annotate(p=Count('instances', filter=Q("
        "instances__state='running_primary'))).exclude(p=1).count(); "
        "print(json.dumps([events, done, bad]))"
    ))
    event_instances = {instance_id for instance_id, _ in events}
    succeeded = set(succeeded)
    return {
        "commands_executed_by_agents": len(executed),
        "launches_duplicated": sum(n - 1 for n in by_request.values() if n > 1),
        "results_lost": sum(1 for r in executed if r not in succeeded),
        "primary_notices": len(primary_notices),
        "notices_unreported": sum(1 for i in primary_notices if i not in reported),
        "notices_lost": sum(1 for i in reported if i not in event_instances),
        "failovers_open": sum(1 for _, status in events if status == "open"),
        "agents_without_exactly_one_primary": bad_primaries,
    }


def main() -> None:
    args = arguments()
    server, token = service_start(args)
    url = f"http://127.0.0.1:{server.port}"
    worker = worker_start(server.env)
    world = world_create(speed=args.speed, hazard_per_hour=2.0,
                         boot_median_seconds=60)
    fleet = Fleet(world=world, server=url, token=token, prefix="faults")
    recorder = Recorder(fleet)
    result = {"benchmark": "faults", "agents": args.agents, "speed": args.speed}
    try:
        fleet.start(args.agents)
        fleet.wait_registered(timeout=120)
        log("%s agents registered; settling", fleet.registered())
        time.sleep(args.settle)
        result["redis_stop_30s"] = redis_outage(recorder, fleet, REDIS_OUTAGE_SECONDS)
        time.sleep(args.settle)
        result["postgres_restart"] = postgres_restart(recorder, fleet)
        time.sleep(args.settle)
        result["celery_worker_killed"], worker = worker_kill_during_consolidation(
            server.env, worker
        )
        log("draining for %.0f s", args.settle * 2)
        time.sleep(args.settle * 2)
        result["effects"] = effects(server.env, fleet)
        result["replays"] = replays(url, token, fleet, server.env)
    finally:
        # Redis is shared by everyone on this machine: it must be running.
        if subprocess.run(["redis-cli", "-p", "6379", "ping"],
                          capture_output=True).returncode != 0:
            subprocess.run(REDIS_START, capture_output=True, timeout=30)
        fleet.stop()
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        server.stop()
    summary = fleet.stats.summary()
    result["agent_counts"] = summary["counts"]
    result["agent_outages_s"] = summary["outages_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
