"""What one termination notice costs the server, one at a time, in-process.

Under load a notice's delay is its own cost stretched by contention for the
cores (docs/BENCHMARKS.md), so its cost is worth measuring on its own, and
repeatably. This calls the Django application in-process (no HTTP server)
against PostgreSQL and Redis with the production settings, on a database of
its own: first notices (a cold failover: a replica launched in the fastest
pool) and repeats (the same notice again: one event, counted).

Reported per notice: wall and CPU milliseconds (medians) and the SQL
statements of one. Timings vary by a quarter between runs on a shared
machine; with --instructions the process also runs under valgrind's
callgrind, which counts the instructions the server's Python executes
(PostgreSQL's and Redis's work is in their own processes and not counted),
the same to a few parts in ten thousand from run to run: a change of 1%
can be seen. The last line of stdout is one JSON object.

    python bench/notice_cost.py [--notices 80] [--instructions]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import (  # noqa: E402
    BIN,
    ROOT,
    database_recreate,
    log,
    redis_flush,
    server_env,
)

WARM_NOTICES = 4  # Open the connections and fill the caches first.


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/bench_notice_cost",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--notices", type=int, default=80,
                        help="first notices measured, and as many repeats")
    parser.add_argument(
        "--instructions", type=int, nargs="?", const=20, default=0,
        metavar="N", help="also count instructions per notice under callgrind "
        "over N notices of each kind (default 20; about a minute per run)",
    )
    parser.add_argument("--measure", nargs=2, type=int, metavar=("FIRST", "REPEAT"),
                        help=argparse.SUPPRESS)  # The child's part.
    return parser.parse_args()


def notices_measure(first: int, repeats: int) -> dict:
    """In the child: seed agents, warm up, then time each notice."""
    import django

    django.setup()
    from _seed import agents_seed
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from agents.authentication import agent_owner_key
    from agents.services.clients import client_create

    call_command("migrate", verbosity=0)
    client, token = client_create(name="notice-cost", email="cost@example.com")
    agents = agents_seed(
        client_id=client.pk, first=0, count=WARM_NOTICES + 1 + max(first, repeats)
    )
    http = HttpClient(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")

    def notice(agent_id: int, instance_id: str, key: str) -> None:
        response = http.post(
            f"/api/agents/{agent_id}/termination-imminent",
            data=json.dumps({"instance_id": instance_id}),
            content_type="application/json", HTTP_X_REQUEST_ID=key,
        )
        if response.status_code != 200:
            raise SystemExit(f"notice answered {response.status_code}: "
                             f"{response.content[:300]!r}")

    # In the field each agent polls every few seconds, which leaves its
    # owner in the shared cache for the emergency lane's processes.
    cache.set_many(
        {agent_owner_key(agent_id): client.pk for agent_id, _ in agents},
        timeout=3600,
    )
    warm, measured = agents[:WARM_NOTICES], agents[WARM_NOTICES:]
    for agent_id, instance_id in warm:
        notice(agent_id, instance_id, f"warm-{agent_id}")
    with CaptureQueriesContext(connection) as repeat_statements:
        notice(*warm[0], "warm-repeat")

    def timed(pairs, kind: str, count: int) -> dict:
        walls, cpus = [], []
        for agent_id, instance_id in pairs[:count]:
            wall, cpu = time.perf_counter(), time.process_time()
            notice(agent_id, instance_id, f"{kind}-{agent_id}")
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        return {"wall_ms": _median(walls), "cpu_ms": _median(cpus)}

    with CaptureQueriesContext(connection) as first_statements:
        notice(*measured[0], "first-probe")
    result = {
        "first": timed(measured[1:], "first", first),
        "repeat": timed(measured[1:], "repeat", repeats),
    }
    # Counted, not listed: each later request empties the query log.
    for kind, captured in (("first", first_statements), ("repeat", repeat_statements)):
        result[kind]["statements"] = captured.final_queries - captured.initial_queries
    return result


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    return round(sorted(values)[len(values) // 2], 2)


def child_run(env: dict, first: int, repeats: int, *, callgrind: bool):
    """Run the child; return its JSON, with its instruction count under
    callgrind."""
    command = [str(BIN / "python"), __file__, "--measure", str(first), str(repeats)]
    with tempfile.NamedTemporaryFile("r", suffix=".log") as valgrind_log:
        if callgrind:
            command = [
                "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                f"--log-file={valgrind_log.name}", *command,
            ]
        database_recreate(env["DATABASE_URL"])
        redis_flush(env["REDIS_URL"])
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=1800)
        if done.returncode != 0:
            raise SystemExit(f"the measuring run failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if callgrind:
            result["instructions"] = _collected(valgrind_log.read())
    return result


def _collected(valgrind_output: str) -> int:
    for line in valgrind_output.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    raise SystemExit(f"callgrind printed no total:\n{valgrind_output[-2000:]}")


def main() -> None:
    args = arguments()
    if args.measure:
        print(json.dumps(notices_measure(*args.measure)))
        return

    env = server_env(database_url=args.database_url, redis_url=args.redis_url)
    env["PYTHONHASHSEED"] = "0"  # The same dict layouts in every run.
    log("timing %d first notices and %d repeats", args.notices, args.notices)
    summary = child_run(env, args.notices, args.notices, callgrind=False)
    if args.instructions:
        count = args.instructions
        log("counting instructions: 3 runs under callgrind (%d notices)", count)
        base = child_run(env, 0, 0, callgrind=True)["instructions"]
        firsts = child_run(env, count, 0, callgrind=True)["instructions"]
        both = child_run(env, count, count, callgrind=True)["instructions"]
        summary["first"]["instructions"] = round((firsts - base) / count)
        summary["repeat"]["instructions"] = round((both - firsts) / count)
    summary["commit"] = _commit()
    print(json.dumps(summary))


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                          capture_output=True, text=True)
    return done.stdout.strip()


if __name__ == "__main__":
    if "--measure" in sys.argv:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spotopt.settings.base")
    main()
