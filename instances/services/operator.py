"""What an operator can do to a command queue or an agent by hand.

The admin's actions call these; each goes through the same queue and
compensation paths as the automatic flows, so a cancelled launch ends its
instance exactly as a launch the agent reported failed would.
"""

import logging

from django.db import transaction

from instances.models import Command
from instances.services.commands import command_enqueue
from instances.services.lifecycle import audit_record
from instances.services.results import command_result_apply

logger = logging.getLogger(__name__)

# Re-sending these is harmless; a launch or promotion belongs to a switch
# or failover that has moved on, so it is restarted there, not here.
RETRYABLE_TYPES = (
    Command.Type.APPLY_CONFIG,
    Command.Type.TERMINATE_INSTANCE,
    Command.Type.SELF_DESTRUCT,
)


def command_cancel(*, command: Command, cause: str) -> bool:
    """Close an open command as failed and undo what it started.

    Returns False when the command was already closed.
    """
    if not command.is_open:
        return False

    outcome = command_result_apply(
        agent_id=command.agent_id,
        command=command,
        succeeded=False,
        message=f"cancelled: {cause}"[:2000],
    )
    logger.info("Cancelled command %s (%s)", command.request_id, cause)
    return outcome == "recorded"


def command_retry(*, command: Command, cause: str) -> Command | None:
    """Queue a fresh copy of a closed command; None when it cannot be retried.

    The copy gets a new request id: agents dedupe by request id, and the
    old one already has an outcome.
    """
    if command.is_open or command.command_type not in RETRYABLE_TYPES:
        return None

    with transaction.atomic():
        copy = command_enqueue(
            agent=command.agent,
            command_type=command.command_type,
            params=command.params,
            priority=command.priority,
            instance=command.instance,
        )
        audit_record(
            client_id=command.client_id,
            agent_id=command.agent_id,
            instance=command.instance,
            event_type="command_retry",
            cause=cause,
            details={"retry_of": command.request_id, "request_id": copy.request_id},
        )
    return copy


def agent_self_destruct(*, agent, cause: str) -> Command:
    """Queue SELF_DESTRUCT: the agent process stops; its instance keeps running."""
    with transaction.atomic():
        command = command_enqueue(
            agent=agent,
            command_type=Command.Type.SELF_DESTRUCT,
            priority=Command.Priority.MANUAL,
        )
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            event_type="agent_self_destruct",
            cause=cause,
            request_id=command.request_id,
        )
    logger.info("Queued self-destruct for agent %s (%s)", agent.pk, cause)
    return command
