"""What a client asks for by hand: force a switch, launch, terminate.

Manual actions run at priority 75 (MANUAL): above the model and the
schedule, below an emergency.
"""

import logging

from django.db import transaction

from instances.models import Command, Instance, Replica, Switch
from instances.services.launches import instance_terminate_request, replica_create
from instances.services.switching import agent_lock, switch_start
from pricing.models import SpotPool

logger = logging.getLogger(__name__)


class ActionRefused(Exception):
    """The request names no valid target or the instance cannot do it now."""


def manual_target_resolve(*, instance_region: str, target: str) -> SpotPool | None:
    """The known pool named by `target`, None for on-demand; else refuse."""
    if target == "ondemand":
        return None

    pool = SpotPool.objects.filter(pool_id=target, region=instance_region).first()
    if pool is None:
        raise ActionRefused(f"Unknown pool {target!r} in {instance_region}.")
    return pool


def instance_force_switch(
    *, instance: Instance, target: str, cause: str, request_id: str = ""
) -> tuple[Switch, Command]:
    """Start a manual switch of the instance's agent to the target pool.

    Raises ActionRefused for an unknown pool or an instance that is not the
    agent's primary, and the saga's SwitchInProgress / SwitchNotNeeded.
    """
    if instance.state != Instance.State.RUNNING_PRIMARY:
        raise ActionRefused("Only the running primary can be switched.")

    pool = manual_target_resolve(instance_region=instance.region, target=target)
    return switch_start(
        agent_id=instance.agent_id,
        target_mode=Instance.Mode.ONDEMAND if pool is None else Instance.Mode.SPOT,
        target_pool=pool,
        trigger=Switch.Trigger.MANUAL,
        priority=Command.Priority.MANUAL,
        reason=cause,
        request_id=request_id,
    )


def instance_terminate_manual(
    *, instance: Instance, cause: str, request_id: str = ""
) -> Command | None:
    """Terminate the instance now; a retired instance is refused."""
    if instance.is_retired or instance.state == Instance.State.TERMINATING:
        raise ActionRefused(f"The instance is already {instance.state}.")

    with transaction.atomic():
        agent_lock(instance.agent_id)
        instance.refresh_from_db()
        command = instance_terminate_request(
            instance=instance,
            priority=Command.Priority.MANUAL,
            cause=cause,
            request_id=request_id,
        )
    logger.info("Manual termination of instance %s: %s", instance.pk, cause)
    return command


def replica_launch_manual(
    *, agent, target: str, cause: str, request_id: str = ""
) -> tuple[Replica, Command]:
    """Launch a manual replica of the agent in the target pool or on-demand."""
    pool = manual_target_resolve(instance_region=agent.region, target=target)
    with transaction.atomic():
        agent = agent_lock(agent.pk)
        replica, command = replica_create(
            agent=agent,
            kind=Replica.Kind.MANUAL,
            mode=Instance.Mode.ONDEMAND if pool is None else Instance.Mode.SPOT,
            pool=pool,
            priority=Command.Priority.MANUAL,
            cause=cause,
            request_id=request_id,
        )
    return replica, command
