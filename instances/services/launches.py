"""Launching, promoting and terminating instances: the saga's primitives.

Each primitive changes one instance by compare-and-set and queues the one
command that makes the agent act; the saga steps in switching.py,
results.py, emergencies.py and rebalances.py compose them.
"""

import logging
import uuid
from datetime import timedelta

from django.utils import timezone

from instances.models import Command, Instance, Replica, Switch
from instances.services.commands import command_enqueue
from instances.services.lifecycle import audit_record, instance_transition
from pricing.models import SpotPool
from pricing.selectors import ondemand_price_get

logger = logging.getLogger(__name__)


def launch_target(*, mode: str, pool: SpotPool | None, instance_type: str, az: str):
    if mode == Instance.Mode.SPOT:
        return f"spot:{pool.pool_id}"
    return f"on-demand:{instance_type}.{az}"


def _ondemand_price(pool: SpotPool | None, instance_type: str, region: str):
    """A pool read by pools_acceptable() carries its type's price; otherwise
    it is read here."""
    if pool is not None and hasattr(pool, "ondemand_price"):
        return pool.ondemand_price
    return ondemand_price_get(instance_type=instance_type, region=region)


def instance_launch(
    *,
    agent,
    mode: str,
    pool: SpotPool | None,
    role_hint: str,
    priority: int,
    cause: str,
    request_id: str = "",
    instance_type: str = "",
    az: str = "",
    switch: Switch | None = None,
) -> tuple[Instance, Command]:
    """Create a launching instance and queue the LAUNCH_INSTANCE command."""
    instance_type = pool.instance_type if pool else instance_type or agent.instance_type
    az = pool.az if pool else az or agent.az
    region = pool.region if pool else agent.region
    instance = Instance.objects.create(
        agent=agent,
        client_id=agent.client_id,
        temp_instance_id=f"tmp-{uuid.uuid4().hex[:20]}",
        pool=pool if mode == Instance.Mode.SPOT else None,
        instance_type=instance_type,
        region=region,
        az=az,
        mode=mode,
        role_hint=role_hint,
        state=Instance.State.LAUNCHING,
        ami_id=agent.ami_id,
        spot_price=pool.latest_price if pool and mode == Instance.Mode.SPOT else None,
        ondemand_price=_ondemand_price(pool, instance_type, region),
        launch_requested_at=timezone.now(),
        state_reason=cause[:255],
    )
    audit_record(
        client_id=agent.client_id,
        agent_id=agent.pk,
        instance=instance,
        event_type="instance_state",
        state_after=Instance.State.LAUNCHING,
        cause=cause,
        request_id=request_id,
    )
    params = {
        "instance_type": instance_type,
        "az": az,
        "market": "spot" if mode == Instance.Mode.SPOT else "on-demand",
        "target_pool": launch_target(
            mode=mode, pool=pool, instance_type=instance_type, az=az
        ),
        "role_hint": role_hint,
        "temp_instance_id": instance.temp_instance_id,
    }
    if agent.ami_id:
        params["ami_id"] = agent.ami_id
    command = command_enqueue(
        agent=agent,
        command_type=Command.Type.LAUNCH_INSTANCE,
        params=params,
        priority=priority,
        instance=instance,
        switch=switch,
    )
    return instance, command


def instance_promote_request(
    *,
    instance: Instance,
    old_primary: Instance | None,
    priority: int,
    cause: str,
    request_id: str = "",
    switch: Switch | None = None,
) -> Command:
    """Mark the instance promoting and queue PROMOTE_REPLICA_TO_PRIMARY."""
    instance_transition(
        instance=instance,
        to_state=Instance.State.PROMOTING,
        cause=cause,
        request_id=request_id,
    )
    return command_enqueue(
        agent=instance.agent,
        command_type=Command.Type.PROMOTE_REPLICA_TO_PRIMARY,
        params={
            "replica_instance_id": instance.instance_id,
            "old_primary_id": old_primary.instance_id if old_primary else None,
        },
        priority=priority,
        instance=instance,
        switch=switch,
    )


def instance_terminate_request(
    *,
    instance: Instance,
    priority: int,
    cause: str,
    request_id: str = "",
    delay_seconds: int = 0,
) -> Command | None:
    """Mark the instance terminating and queue TERMINATE_INSTANCE for it.

    An instance that never got a cloud id cannot be terminated by the agent;
    it is marked terminated at once.
    """
    if not instance.instance_id:
        instance_transition(
            instance=instance,
            to_state=Instance.State.TERMINATED,
            cause=cause,
            request_id=request_id,
            state_reason=cause[:255],
        )
        return None

    instance_transition(
        instance=instance,
        to_state=Instance.State.TERMINATING,
        cause=cause,
        request_id=request_id,
        state_reason=cause[:255],
    )
    return command_enqueue(
        agent=instance.agent,
        command_type=Command.Type.TERMINATE_INSTANCE,
        params={"instance_id": instance.instance_id},
        priority=priority,
        instance=instance,
        delay_seconds=delay_seconds,
    )


def replica_create(
    *,
    agent,
    kind: str,
    mode: str,
    pool: SpotPool | None,
    priority: int,
    cause: str,
    request_id: str = "",
    ttl_seconds: int | None = None,
) -> tuple[Replica, Command]:
    instance, command = instance_launch(
        agent=agent,
        mode=mode,
        pool=pool,
        role_hint=Instance.Role.REPLICA,
        priority=priority,
        cause=cause,
        request_id=request_id,
    )
    now = timezone.now()
    replica = Replica.objects.create(
        agent=agent,
        instance=instance,
        kind=kind,
        status=Replica.Status.LAUNCHING,
        reason=cause[:255],
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds)
        if ttl_seconds
        else None,
    )
    logger.info(
        "Staging %s replica %s for agent %s in %s",
        kind, instance.pk, agent.pk, pool.pool_id if pool else "on-demand",
    )
    return replica, command
