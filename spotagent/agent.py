"""The agent's life: register, heartbeat, run commands, report signals.

Two threads share one agent:

- the main loop registers, then heartbeats, polls the command queue and runs
  one command at a time, and reports prices; any failure to reach the server
  is followed by a back-off and a retry, never by silence;
- the notice watcher polls instance metadata for the termination notice and
  the rebalance recommendation and reports each once, even while the main
  loop is busy with a five-minute launch.
"""

import logging
import threading
import time
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spotagent import __version__
from spotagent.backoff import Backoff
from spotagent.cloud import CloudError
from spotagent.commands import CommandExecutor, Outcome, now_iso
from spotagent.config import AgentConfig
from spotagent.metadata import Identity, MetadataUnavailable, Notice
from spotagent.server import ServerApi, ServerError, ServerUnreachable
from spotagent.state import state_read, state_write

logger = logging.getLogger(__name__)

DONE_COMMANDS_KEPT = 500
COMMANDS_PER_TICK = 20
NOTICE_PATHS = {
    "termination": "termination-imminent",
    "rebalance": "rebalance-recommendation",
}


class AgentUnknown(Exception):
    """The server does not know this agent id (404): register again."""


def _deadline(aws_time: str) -> datetime:
    """AWS's notice time, or two minutes from now when it cannot be read."""
    try:
        moment = datetime.fromisoformat(aws_time.replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC) + timedelta(seconds=120)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _stable_id(*parts: str) -> str:
    """A request id that is the same every time the same report is retried."""
    return uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)).hex


class Agent:
    """One logical workload's agent.

    `metadata` answers `notices(instance_id)`; `cloud` has the methods of
    `spotagent.cloud.Ec2Cloud`; `observer(event, **fields)` hears what
    happened, for the simulator and the benchmarks.
    """

    def __init__(self, *, config: AgentConfig, server: ServerApi, cloud,
                 metadata, identity: Identity, observer=None):
        self.config = config
        self.server = server
        self.cloud = cloud
        self.metadata = metadata
        self.identity = identity
        self.observer = observer or (lambda event, **fields: None)
        self.logical_id = config.logical_agent_id or identity.instance_id
        self.agent_id: int | None = None
        self.instance_id = identity.instance_id
        self.instance_type = identity.instance_type
        self.az = identity.az
        self.settings: dict = {}
        self.stopped = threading.Event()
        self._registered = threading.Event()
        self._wake = threading.Event()
        self._done: OrderedDict[str, Outcome] = OrderedDict()
        self._reported: set[tuple[str, str]] = set()
        # Instances under a termination notice -> the deadline AWS gave.
        self._doomed: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._backoff = Backoff(
            initial=config.backoff_initial_seconds,
            maximum=config.backoff_max_seconds,
        )
        self._down_since: float | None = None
        self.last_error = ""
        self._next = {"heartbeat": 0.0, "poll": 0.0, "prices": 0.0}
        self._executor = CommandExecutor(self)
        self._state_load()

    # --- running ---------------------------------------------------------

    def run(self) -> None:
        """Run until `stop()`; the notice watcher runs beside the loop."""
        watcher = threading.Thread(
            target=self._watch_notices, name=f"notices-{self.logical_id}",
            daemon=True,
        )
        watcher.start()
        while not self.stopped.is_set():
            self._tick()
        self._shutdown_report()
        watcher.join(timeout=5)

    def stop(self) -> None:
        self.stopped.set()
        self._wake.set()

    def primary_set(self, instance_id: str) -> None:
        """Speak for `instance_id` from now on: a promotion moved the
        workload there."""
        with self._lock:
            self.instance_id = instance_id

    def sleep(self, seconds: float) -> bool:
        """Wait, unless stopped first; True when the agent should go on."""
        return not self.stopped.wait(max(0.0, seconds))

    def _tick(self) -> None:
        try:
            if self.agent_id is None:
                self._register()
            self._due_work()
        except AgentUnknown:
            logger.warning("Server forgot agent %s; registering again", self.agent_id)
            self.agent_id = None
            self._registered.clear()
        except (ServerUnreachable, ServerError) as error:
            self._failed(error)
            return
        self._recovered()
        self._wait_for_work()

    def _due_work(self) -> None:
        now = time.monotonic()
        if now >= self._next["heartbeat"]:
            self._heartbeat()
        if now >= self._next["poll"] or self._wake.is_set():
            self._wake.clear()
            self._commands_run()
        if now >= self._next["prices"]:
            self._prices_report()

    def _wait_for_work(self) -> None:
        delay = min(self._next.values()) - time.monotonic()
        if delay > 0:
            self._wake.wait(delay)

    def _failed(self, error: Exception) -> None:
        self.last_error = str(error)[:300]
        if self._down_since is None:
            self._down_since = time.monotonic()
            logger.warning("Server call failed: %s; backing off", error)
        self.observer("server_error", error=str(error))
        delay = self._backoff.next_delay()
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            delay = max(delay, retry_after)
        if isinstance(error, ServerError) and not error.is_retryable:
            # A refusal (401, 403, 400) will not change in a second either.
            delay = max(delay, self.config.backoff_max_seconds / 2)
        # On the way back the first call is a heartbeat, so the server
        # hears that this agent lives before anything else.
        self._next["heartbeat"] = 0.0
        self.sleep(delay)

    def _recovered(self) -> None:
        if self._down_since is None:
            return

        outage = time.monotonic() - self._down_since
        self._down_since = None
        self._backoff.reset()
        logger.info("Server reachable again after %.1f s", outage)
        self.observer("recovered", outage_seconds=outage)

    # --- talking to the server ------------------------------------------

    def _path(self, suffix: str) -> str:
        return f"{self.agent_id}/{suffix}"

    def _post(self, suffix: str, body: dict, request_id: str = ""):
        try:
            return self.server.post(self._path(suffix), body, request_id=request_id)
        except ServerError as error:
            if error.status == 404 and suffix == "heartbeat":
                raise AgentUnknown()
            raise

    def _register(self) -> None:
        answer = self.server.post("register", {
            "instance_id": self.instance_id,
            "instance_type": self.instance_type,
            "region": self.identity.region,
            "az": self.az,
            "logical_agent_id": self.logical_id,
            "mode": self.config.mode,
            "hostname": self.identity.hostname,
            "agent_version": __version__,
            "ami_id": self.config.ami_id or self.identity.ami_id,
            "private_ip": self.identity.private_ip,
        })
        self.agent_id = answer["agent_id"]
        self.settings = answer.get("config") or {}
        if answer.get("message"):
            logger.warning("Server says: %s", answer["message"])
        logger.info("Registered as agent %s (%s)", self.agent_id, self.logical_id)
        self._registered.set()
        self.observer("registered", agent_id=self.agent_id)

    def _heartbeat(self) -> None:
        answer = self._post("heartbeat", {
            "status": "online",
            "instance_id": self.instance_id,
            "reconnect": self._down_since is not None,
            "inventory_snapshot": {"instances": [self.instance_id], "count": 1},
            "health_metrics": {"agent_version": __version__},
        })
        self.settings = answer.get("config") or self.settings
        self._next["heartbeat"] = time.monotonic() + self.config.heartbeat_seconds
        if answer.get("pending_commands"):
            self._wake.set()

    # --- commands ----------------------------------------------------------

    def _commands_run(self) -> None:
        """Run queued commands one at a time, re-polling after each one.

        The queue is read again after every command because a more urgent
        one (a failover) may have arrived while the last one ran.
        """
        for _ in range(COMMANDS_PER_TICK):
            commands = self.server.get(self._path("commands/pending"))["commands"]
            self._next["poll"] = time.monotonic() + self.config.poll_seconds
            if not commands or self.stopped.is_set():
                return
            self._command_run(commands[0])

    def _command_run(self, command: dict) -> None:
        request_id = command["request_id"]
        outcome = self._done.get(request_id)
        if outcome is None:
            outcome = self._executor.execute(command)
            self._remember(request_id, outcome)
        else:
            logger.info("Command %s delivered again; resending result", request_id)
        for suffix, body in outcome.followups:
            self._report(suffix, body, _stable_id(request_id, suffix))
        self._report(
            f"commands/{command['id']}/executed",
            {"success": outcome.success, "message": outcome.message,
             "result": outcome.result},
            _stable_id(request_id, "executed"),
        )
        self.observer(
            "command_done", command_type=command["command_type"],
            request_id=request_id, success=outcome.success,
        )
        if command["command_type"] == "SELF_DESTRUCT" and outcome.success:
            self.stop()

    def _report(self, suffix: str, body: dict, request_id: str) -> None:
        """Send a command's report; a refusal is logged, not retried.

        A 4xx here means the server no longer wants the report (the command
        expired, the launch was given up); retrying it would loop forever.
        """
        try:
            self._post(suffix, body, request_id=request_id)
        except ServerError as error:
            if error.is_retryable:
                raise
            logger.warning("Server refused %s: %s", suffix, error)

    def _remember(self, request_id: str, outcome: Outcome) -> None:
        with self._lock:
            self._done[request_id] = outcome
            while len(self._done) > DONE_COMMANDS_KEPT:
                self._done.popitem(last=False)
        self._state_save()

    # --- prices --------------------------------------------------------------

    def _prices_report(self) -> None:
        self._next["prices"] = time.monotonic() + self.config.price_report_seconds
        types = self.config.candidate_types or [self.instance_type]
        try:
            prices = self.cloud.spot_prices(instance_types=types)
            ondemand = self.cloud.ondemand_prices(instance_types=types)
        except CloudError as error:
            logger.warning("Price collection failed: %s", error)
            return
        # A history record's time stamp is when the price last changed; the
        # price is in force now, so the collection time is reported.
        collected = now_iso()
        items = [
            {
                "instance_type": price.instance_type,
                "az": price.az,
                "pool_id": f"{price.instance_type}.{price.az}",
                "spot_price": str(price.price),
                "timestamp": collected,
            }
            for price in prices
        ]
        if self.config.ondemand_price and self.instance_type not in ondemand:
            ondemand[self.instance_type] = self.config.ondemand_price
        items += [
            {"instance_type": instance_type, "price_type": "ondemand",
             "price": str(price), "region": self.identity.region}
            for instance_type, price in ondemand.items()
        ]
        if not items:
            return

        answer = self._post("pricing-report", {
            "timestamp": collected,
            "instance": {"instance_id": self.instance_id},
            "pricing_data_array": items,
        })
        self.observer("prices_reported", stored=answer.get("stored", 0))

    # --- notices ---------------------------------------------------------

    def _watch_notices(self) -> None:
        while not self.stopped.is_set():
            if self._registered.wait(timeout=1.0):
                self._notices_check()
            self.sleep(self.config.notice_poll_seconds)

    def _notices_check(self) -> None:
        with self._lock:
            instance_id = self.instance_id
        try:
            notices = self.metadata.notices(instance_id)
        except MetadataUnavailable as error:
            logger.debug("Metadata unavailable: %s", error)
            return
        for notice in notices:
            if (notice.kind, notice.instance_id) not in self._reported:
                self._notice_report(notice)
        self._reclaimed_report()

    def _reclaimed_report(self) -> None:
        """Confirm once that AWS took an old primary, after its deadline.

        The server marks an interrupted instance `terminating`; only the
        agent can say the deadline passed and the instance is gone.
        """
        now = datetime.now(UTC)
        for instance_id, deadline in list(self._doomed.items()):
            if now < deadline or instance_id == self.instance_id:
                continue
            try:
                self._post("termination-report", {
                    "instance_id": instance_id, "success": True,
                    "terminated_at": deadline.isoformat(),
                }, request_id=_stable_id(self.logical_id, "reclaimed", instance_id))
            except ServerUnreachable:
                return
            except ServerError as error:
                if error.is_retryable:
                    return
            del self._doomed[instance_id]

    def _notice_report(self, notice: Notice) -> None:
        """Report a signal once; a failed report is tried on the next poll.

        The request id is derived from the notice, so a report whose answer
        was lost and is sent again counts once on the server as well.
        """
        key = (notice.kind, notice.instance_id)
        body = {"instance_id": notice.instance_id}
        if notice.kind == "termination":
            body["termination_time"] = notice.time or None
        else:
            body["detected_at"] = notice.time or None
        started = time.perf_counter()
        try:
            answer = self._post(
                NOTICE_PATHS[notice.kind], body,
                request_id=_stable_id(self.logical_id, *key, notice.time),
            )
        except ServerUnreachable as error:
            logger.warning("Could not report %s notice: %s", notice.kind, error)
            return
        except ServerError as error:
            if error.is_retryable:
                logger.warning("Could not report %s notice: %s", notice.kind, error)
                return
            answer = {"action": "refused", "error": str(error)}
        self._reported.add(key)
        if notice.kind == "termination":
            self._doomed[notice.instance_id] = _deadline(notice.time)
        self._wake.set()
        logger.info("Reported %s notice for %s: %s",
                    notice.kind, notice.instance_id, answer.get("action"))
        self.observer(
            "notice_reported", kind=notice.kind, instance_id=notice.instance_id,
            round_trip_ms=(time.perf_counter() - started) * 1000, answer=answer,
        )

    # --- state kept across restarts ------------------------------------------

    def _state_load(self) -> None:
        if self.config.state_file:
            instance_id, done = state_read(Path(self.config.state_file))
            self.instance_id = instance_id or self.instance_id
            self._done.update(done)

    def _state_save(self) -> None:
        if not self.config.state_file:
            return
        with self._lock:
            instance_id, done = self.instance_id, dict(self._done)
        state_write(Path(self.config.state_file), instance_id, done)

    def _shutdown_report(self) -> None:
        if self.agent_id is None:
            return

        try:
            self._post("shutdown", {
                "cloud_instance_id": self.instance_id, "timestamp": now_iso(),
                "metadata": {"agent_version": __version__},
            })
        except (ServerUnreachable, ServerError) as error:
            logger.info("Shutdown not reported: %s", error)
