"""Periodic clean-up of commands that nobody answered."""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from instances.models import Command, Instance
from instances.services.commands import command_close
from instances.services.lifecycle import instance_transition
from instances.services.results import launch_failed, promotion_finish
from instances.services.switching import agent_lock

logger = logging.getLogger(__name__)

EXPIRY_BATCH_SIZE = 500


def commands_expire(*, now: datetime | None = None) -> int:
    """Expire open commands past their expiry and undo what they started.

    A launch never confirmed ends its instance as terminated; a promotion
    never confirmed is compensated like a failed one; a terminate never
    confirmed leaves the instance a zombie for the operator.
    """
    now = now or timezone.now()
    expired = list(
        Command.objects.filter(
            status__in=[Command.Status.PENDING, Command.Status.DELIVERED],
            expires_at__lt=now,
        ).order_by("expires_at")[:EXPIRY_BATCH_SIZE]
    )
    for command in expired:
        _expire(command)
    if expired:
        logger.warning("Expired %s unanswered commands", len(expired))
    return len(expired)


def _expire(command: Command) -> None:
    reason = "not confirmed before the command expired"
    kind = command.command_type
    if kind == Command.Type.LAUNCH_INSTANCE and command.instance_id:
        launch_failed(command=command, reason=f"launch {reason}", expired=True)
        return
    if kind == Command.Type.PROMOTE_REPLICA_TO_PRIMARY and command.instance_id:
        promotion_finish(command=command, succeeded=False, message=reason)
    with transaction.atomic():
        agent_lock(command.agent_id)
        command_close(
            command=command, succeeded=False, message=reason,
            status=Command.Status.EXPIRED,
        )
        if kind == Command.Type.TERMINATE_INSTANCE and command.instance_id:
            instance = Instance.objects.get(pk=command.instance_id)
            if instance.state == Instance.State.TERMINATING:
                instance_transition(
                    instance=instance, to_state=Instance.State.ZOMBIE,
                    cause=f"terminate {reason}",
                )
