"""Shared parts of the benchmarks: a production-like server on PostgreSQL and
Redis, a lean keep-alive HTTP client for load generation, and percentiles.

The load generator runs on the same machine as the server, so its own cost
is kept low: raw HTTP/1.1 over asyncio streams (uvloop when installed)
instead of a full-featured client library.
"""

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered))) - 1))
    return ordered[rank]


def log(message: str, *args) -> None:
    """Progress goes to stderr, so stdout ends with the JSON summary only."""
    print(time.strftime("%H:%M:%S"), message % args, file=sys.stderr, flush=True)


# --- The server ----------------------------------------------------------


def server_env(*, database_url: str, redis_url: str) -> dict:
    """Production settings: DEBUG off, a fresh secret, both services."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="spotopt.settings.base",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DB_CONN_MAX_AGE="600",
        LOG_LEVEL="WARNING",
        EMBEDDED_SCHEDULER="0",
        PYTHONUNBUFFERED="1",
    )
    return env


def database_recreate(database_url: str) -> None:
    """Drop and create the benchmark's own database (never a shared one)."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to recreate {name!r}: not a bench database")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", [name],
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def redis_flush(redis_url: str) -> None:
    """Empty the benchmark's Redis database; db 0 is shared and never flushed."""
    import redis

    client = redis.Redis.from_url(redis_url)
    if client.connection_pool.connection_kwargs.get("db", 0) == 0:
        raise SystemExit("refusing to flush Redis db 0: give REDIS_URL a db")
    client.flushdb()
    client.close()


def manage(env: dict, *args: str) -> str:
    """Run manage.py with the server's environment; return its stdout."""
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"manage.py {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def django_eval(env: dict, code: str):
    """Run code in a Django shell that prints one JSON line; return it."""
    output = manage(env, "shell", "-c", code)
    return json.loads(output.strip().splitlines()[-1])


SERVERS = ("granian", "gunicorn")


class Server:
    """The WSGI application under granian (default) or gunicorn's gthread
    workers, in its own process group."""

    def __init__(self, *, env: dict, port: int, workers: int, threads: int,
                 log_path: Path, kind: str = "granian", nice: int = 0):
        self.env, self.port = env, port
        self.workers, self.threads = workers, threads
        self.log_path, self.kind = log_path, kind
        self.nice = nice
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        if self.kind == "gunicorn":
            return [
                str(BIN / "gunicorn"), "spotopt.wsgi:application",
                "--bind", f"127.0.0.1:{self.port}",
                "--worker-class", "gthread",
                "--workers", str(self.workers),
                "--threads", str(self.threads),
                # Connections from the load balancer are reused, not reopened.
                "--keep-alive", "75",
                "--backlog", "4096",
                "--worker-connections", "4096",
                "--log-level", "warning",
            ]
        return [
            str(BIN / "granian"), "spotopt.wsgi:application",
            "--interface", "wsgi",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers),
            "--blocking-threads", str(self.threads),
            "--http", "1", "--no-ws",
            "--backlog", "4096",
            "--log-level", "warning",
        ]

    def start(self) -> None:
        command = self.command()
        self.log_file = open(self.log_path, "w")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=self.log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=self._priority_set if self.nice else None,
        )
        self._wait_ready()

    def _priority_set(self) -> None:
        # In the child before exec: the workers it forks inherit it. A
        # higher priority (negative) needs root; without it the server runs
        # at the default priority and says so in its log.
        try:
            os.nice(self.nice)
        except PermissionError:
            os.write(2, b"could not change the priority: not permitted\n")

    def _wait_ready(self, timeout: float = 120.0) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{self.kind} exited; see {self.log_path}")
            with suppress(OSError), socket.create_connection(
                ("127.0.0.1", self.port), timeout=1
            ):
                self._warm(deadline)
                return
            time.sleep(0.2)
        raise SystemExit(f"{self.kind} did not start listening in time")

    def _warm(self, deadline: float) -> None:
        """Wait for answers from (very likely) every worker: the first
        request of a worker loads the URLconf and the apps' API modules,
        which takes seconds on a busy machine."""
        import urllib.request

        url = f"http://127.0.0.1:{self.port}/health"
        for _attempt in range(4 * self.workers):
            with suppress(OSError):
                urllib.request.urlopen(url, timeout=max(1, deadline - time.monotonic()))

    def cpu_seconds(self) -> float:
        """User plus system CPU time of the master and its workers so far."""
        if self.process is None:
            return 0.0
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        for pid in [self.process.pid, *_children(self.process.pid)]:
            with suppress(OSError, IndexError, ValueError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]
                utime, stime = fields.split()[11:13]
                total += (int(utime) + int(stime)) / tick
        return total

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log_file.close()


def machine_cpu() -> dict:
    """CPU seconds so far: the whole machine busy, and each PostgreSQL and
    Redis process (by name), to tell who holds the cores in a step."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, fields[:8]
    )
    seconds = {
        "machine": (user + nice + system + irq + softirq + steal) / tick,
        "postgres": {}, "redis": {},
    }
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError, IndexError, ValueError):
            head, rest = stat.read_text().rsplit(")", 1)
            name = head.split("(", 1)[1]
            kind = ("postgres" if name.startswith("postgres")
                    else "redis" if name.startswith("redis-server") else None)
            if kind:
                utime, stime = rest.split()[11:13]
                seconds[kind][stat.parent.name] = (int(utime) + int(stime)) / tick
    return seconds


def machine_cpu_spent(before: dict, after: dict) -> dict:
    """CPU seconds between two machine_cpu() readings. A process that ended
    in between is not counted (its time is gone from /proc); one that
    started is counted whole."""
    spent = {"machine": after["machine"] - before["machine"]}
    for kind in ("postgres", "redis"):
        spent[kind] = sum(
            seconds - before[kind].get(pid, 0.0)
            for pid, seconds in after[kind].items()
        )
    return spent


def _children(pid: int) -> list[int]:
    with suppress(OSError):
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(child) for child in text.split()]
    return []


# --- A lean HTTP/1.1 keep-alive client -------------------------------------


class HttpError(Exception):
    """The connection failed or the response was not HTTP."""


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict,
                      body: bytes = b"") -> tuple[int, bytes]:
        reused = self.writer is not None
        try:
            return await self._exchange(method, path, headers, body)
        except (OSError, asyncio.IncompleteReadError, HttpError):
            self.close()
            if not reused:
                raise
        # The server closed an idle kept-alive connection before reading the
        # request: nothing was processed, so one retry is safe.
        return await self._exchange(method, path, headers, body)

    async def _exchange(self, method, path, headers, body) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port
            )
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, response_headers = _parse_head(head)
        payload = await self._read_body(response_headers)
        if response_headers.get("connection", "").lower() == "close":
            self.close()
        return status, payload

    async def _read_body(self, headers: dict) -> bytes:
        if "content-length" in headers:
            return await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    return b"".join(chunks)
                chunks.append(chunk[:-2])
        payload = await self.reader.read()
        self.close()
        return payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> tuple[int, dict]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise HttpError(f"not an HTTP response: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def event_loop_install() -> None:
    with suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
