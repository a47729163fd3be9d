"""Commands from the server, carried out against the cloud.

Each handler returns an Outcome: whether it worked, and the reports that
tell the server so. The agent keeps outcomes by request id, so a command
delivered twice is carried out once.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from spotagent.cloud import CloudError

logger = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Outcome:
    """What a command did, and the reports that tell the server so.

    The outcome is kept by request id before any report is sent, so a
    command delivered again after a lost report is answered from here and
    never executed twice.
    """

    success: bool
    message: str = ""
    result: dict = field(default_factory=dict)
    followups: list[tuple[str, dict]] = field(default_factory=list)


class CommandExecutor:
    """Carries out one agent's commands; `agent` is a spotagent Agent."""

    def __init__(self, agent):
        self.agent = agent

    def execute(self, command: dict) -> Outcome:
        kind = command["command_type"]
        params = command.get("params") or command.get("metadata") or {}
        handler = getattr(self, f"_do_{kind.lower()}", None)
        if handler is None:
            return Outcome(False, f"command type {kind} is not supported")

        logger.info("Executing %s %s", kind, command["request_id"])
        try:
            return handler(params, command["request_id"])
        except CloudError as error:
            logger.warning("%s %s failed: %s", kind, command["request_id"], error)
            return Outcome(False, str(error)[:2000])

    def _do_launch_instance(self, params: dict, request_id: str) -> Outcome:
        agent = self.agent
        instance_id = agent.cloud.instance_launch(
            instance_type=params["instance_type"],
            az=params["az"],
            market="spot" if params.get("market") == "spot" else "on-demand",
            ami_id=params.get("ami_id") or agent.config.ami_id or agent.identity.ami_id,
            tags={
                "spotopt:agent": agent.logical_id,
                "spotopt:role": params.get("role_hint", "replica"),
                "spotopt:request-id": request_id,
            },
        )
        agent.cloud.instance_wait_running(
            instance_id, timeout=agent.config.launch_timeout_seconds, sleep=agent.sleep,
        )
        launched = {
            "instance_id": instance_id,
            "temp_instance_id": params.get("temp_instance_id", ""),
            "instance_type": params["instance_type"],
            "az": params["az"],
            "request_id": request_id,
            "confirmed_at": now_iso(),
        }
        return Outcome(
            True, f"{instance_id} running", {"instance_id": instance_id},
            followups=[("instance-launched", launched)],
        )

    def _do_promote_replica_to_primary(self, params: dict, request_id: str):
        replica_id = params["replica_instance_id"]
        old_id = params.get("old_primary_id") or ""
        self.agent.cloud.instance_tag(replica_id, {"spotopt:role": "primary"})
        if old_id and old_id != replica_id:
            try:
                self.agent.cloud.instance_tag(old_id, {"spotopt:role": "retired"})
            except CloudError:
                # The old primary may already be gone; traffic has moved.
                logger.info("Could not tag old primary %s", old_id)
        self.agent.primary_set(replica_id)
        self.agent.observer("promoted", instance_id=replica_id, old_instance_id=old_id)
        return Outcome(True, f"{replica_id} is primary", {"instance_id": replica_id})

    def _do_terminate_instance(self, params: dict, request_id: str) -> Outcome:
        instance_id = params["instance_id"]
        self.agent.cloud.instance_terminate(instance_id)
        terminated = {
            "instance_id": instance_id, "request_id": request_id,
            "confirmed_at": now_iso(),
        }
        return Outcome(
            True, f"{instance_id} terminated", {"instance_id": instance_id},
            followups=[("instance-terminated", terminated)],
        )

    def _do_apply_config(self, params: dict, request_id: str) -> Outcome:
        self.agent.settings.update(params.get("config_updates") or {})
        return Outcome(True, "config applied", {"config": self.agent.settings})

    def _do_self_destruct(self, params: dict, request_id: str) -> Outcome:
        return Outcome(True, "agent stopping")
