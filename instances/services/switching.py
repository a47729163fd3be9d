"""The switch saga: starting a switch and confirming its launch.

A switch moves an agent's workload to another pool:

1. launch in the target pool (LAUNCH_INSTANCE), the new instance launching;
2. on `instance-launched`, mark it promoting and queue the promotion;
3. on the promotion's success, demote the old primary and make the new
   instance primary in one transaction (the unique constraint forbids two);
4. terminate the old instance after `terminate_wait_seconds`, or keep it as
   a zombie when that is 0 or auto-terminate is off.

Steps 3 and 4, and every other command outcome, are in `results`: a
failed launch fails the switch; a failed promotion terminates the new
instance and leaves the old one primary.
"""

import functools
import logging
from datetime import datetime

from django.db import (
    IntegrityError,
    connection,
    transaction,
)
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica, Switch
from instances.selectors import instance_find
from instances.services.commands import command_close
from instances.services.launches import instance_launch, instance_promote_request
from instances.services.lifecycle import instance_current_primary, instance_transition
from pricing.models import SpotPool
from pricing.services import pool_boot_time_record, pool_parse
from spotopt.sql import all_columns, column, table

logger = logging.getLogger(__name__)


class SwitchInProgress(Exception):
    """Another switch of this agent has not finished."""


class SwitchNotNeeded(Exception):
    """The agent already runs where the switch would take it."""


class UnknownInstance(Exception):
    """No instance of this agent matches the reported ids."""


def agent_lock(agent_id: int) -> Agent:
    """Lock the agent row: every saga step of one agent runs one at a time.

    Written by hand: every notice and saga step takes it first, and the
    ORM spent 0.6 ms of CPU building the query each time."""
    if connection.get_autocommit():
        raise TransactionManagementError("agent_lock() needs a transaction.")
    locked = list(Agent.objects.raw(_agent_lock_sql(), [agent_id]))
    if not locked:
        raise Agent.DoesNotExist(f"No agent {agent_id}.")
    return locked[0]


@functools.cache
def _agent_lock_sql() -> str:
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {all_columns(Agent)} FROM {table(Agent)}"
        f" WHERE {column(Agent, 'id')} = %s{lock}"
    )


def switch_start(
    *,
    agent_id: int,
    target_mode: str,
    target_pool: SpotPool | None,
    trigger: str,
    priority: int,
    reason: str = "",
    request_id: str = "",
) -> tuple[Switch, Command]:
    """Start a switch saga: create the switch and queue the launch."""
    with transaction.atomic():
        agent = agent_lock(agent_id)
        old = instance_current_primary(agent_id=agent.pk)
        if _runs_in(old, target_mode, target_pool):
            raise SwitchNotNeeded("The agent already runs in that pool.")

        try:
            with transaction.atomic():
                switch = Switch.objects.create(
                    agent=agent,
                    client_id=agent.client_id,
                    trigger=trigger,
                    status=Switch.Status.LAUNCHING,
                    reason=reason[:255],
                    request_id=request_id[:128],
                    old_instance=old,
                    from_pool_id=old.pool_key if old else "",
                    to_pool_id=target_pool.pool_id if target_pool else "ondemand",
                    target_mode=target_mode,
                    old_price=_instance_price(old),
                    new_price=target_pool.latest_price if target_pool else None,
                )
        except IntegrityError:
            raise SwitchInProgress("Another switch of this agent is in progress.")

        instance, command = instance_launch(
            agent=agent,
            mode=target_mode,
            pool=target_pool,
            role_hint=Instance.Role.PRIMARY,
            priority=priority,
            cause=f"switch {switch.pk}: {trigger}",
            request_id=request_id,
            instance_type=old.instance_type if old else agent.instance_type,
            az=old.az if old else agent.az,
            switch=switch,
        )
        switch.new_instance = instance
        switch.ondemand_price = instance.ondemand_price
        switch.save(update_fields=["new_instance", "ondemand_price"])
    logger.info(
        "Switch %s of agent %s started: %s -> %s (%s)",
        switch.pk, agent_id, switch.from_pool_id, switch.to_pool_id, trigger,
    )
    return switch, command


def _runs_in(instance: Instance | None, mode: str, pool: SpotPool | None) -> bool:
    if instance is None or instance.mode != mode:
        return False
    return mode == Instance.Mode.ONDEMAND or instance.pool_id == pool.pk


def _instance_price(instance: Instance | None):
    if instance is None:
        return None
    if instance.mode == Instance.Mode.ONDEMAND:
        return instance.ondemand_price
    return instance.spot_price


def switch_target_resolve(*, agent, target_mode: str, target_pool_id: str):
    if target_mode == Instance.Mode.ONDEMAND:
        return None
    return pool_parse(target_pool_id, region=agent.region)


def instance_launch_confirm(
    *,
    agent_id: int,
    instance_id: str,
    temp_instance_id: str = "",
    command_request_id: str = "",
    confirmed_at: datetime | None = None,
    request_id: str = "",
) -> Instance:
    """Record that a launched instance runs, and take the saga's next step.

    Repeats are harmless: an instance past `launching` is returned as is.
    """
    with transaction.atomic():
        agent = agent_lock(agent_id)
        instance = _launched_instance(
            agent.pk, temp_instance_id, command_request_id, instance_id
        )
        if instance is None:
            raise UnknownInstance("No launch of this agent matches that instance.")
        if instance.state != Instance.State.LAUNCHING:
            return instance

        _confirm(instance, instance_id, confirmed_at, request_id)
        _after_launch(agent, instance, request_id)
    return instance


def _launched_instance(agent_id, temp_instance_id, command_request_id, instance_id):
    instances = Instance.objects.select_related("pool").filter(agent_id=agent_id)
    if temp_instance_id:
        found = instances.filter(temp_instance_id=temp_instance_id).first()
        if found:
            return found
    if command_request_id:
        command = Command.objects.filter(
            agent_id=agent_id,
            request_id=command_request_id,
            command_type=Command.Type.LAUNCH_INSTANCE,
        ).first()
        if command and command.instance_id:
            return instances.get(pk=command.instance_id)
    return instance_find(agent_id=agent_id, instance_id=instance_id)


def _confirm(instance: Instance, instance_id, confirmed_at, request_id) -> None:
    now = timezone.now()
    confirmed_at = min(confirmed_at or now, now)
    boot_seconds = None
    if instance.launch_requested_at:
        boot_seconds = max(
            0.0, (confirmed_at - instance.launch_requested_at).total_seconds()
        )
    instance_transition(
        instance=instance,
        to_state=Instance.State.RUNNING_REPLICA,
        cause="instance-launched",
        request_id=request_id,
        instance_id=instance_id or instance.instance_id,
        confirmed_at=confirmed_at,
        boot_seconds=boot_seconds,
    )
    if instance.pool_id and boot_seconds is not None:
        pool_boot_time_record(pool_id=instance.pool_id, boot_seconds=boot_seconds)
    for command in Command.objects.filter(
        instance=instance,
        command_type=Command.Type.LAUNCH_INSTANCE,
        status__in=[Command.Status.PENDING, Command.Status.DELIVERED],
    ):
        command_close(
            command=command, succeeded=True, result={"instance_id": instance_id}
        )


def _after_launch(agent, instance: Instance, request_id: str) -> None:
    old = instance_current_primary(agent_id=agent.pk)
    emergency = _emergency_waiting_on(instance)
    switch = Switch.objects.filter(
        new_instance=instance, status=Switch.Status.LAUNCHING
    ).first()
    replica = Replica.objects.filter(instance=instance).first()
    if replica is not None:
        replica.status = Replica.Status.READY
        replica.ready_at = instance.confirmed_at
        replica.save(update_fields=["status", "ready_at"])

    if emergency is not None:
        command = instance_promote_request(
            instance=instance,
            old_primary=old,
            priority=Command.Priority.EMERGENCY,
            cause=f"failover for {emergency.kind} notice {emergency.pk}",
            request_id=request_id,
            switch=switch,
        )
        emergency.command = command
        emergency.save(update_fields=["command"])
    elif switch is not None:
        instance_promote_request(
            instance=instance,
            old_primary=old,
            priority=_launch_priority(instance),
            cause=f"switch {switch.pk}",
            request_id=request_id,
            switch=switch,
        )
    elif old is None and replica is None:
        # A launch with no primary to replace becomes the primary at once.
        instance_transition(
            instance=instance,
            to_state=Instance.State.RUNNING_PRIMARY,
            cause="first instance of the agent",
            request_id=request_id,
            promoted_at=timezone.now(),
        )
        return
    if switch is not None:
        switch.status = Switch.Status.PROMOTING
        switch.instance_launched_at = instance.confirmed_at
        switch.instance_ready_at = instance.confirmed_at
        switch.save(
            update_fields=["status", "instance_launched_at", "instance_ready_at"]
        )


def _emergency_waiting_on(instance: Instance) -> EmergencyEvent | None:
    launch_ids = Command.objects.filter(
        instance=instance, command_type=Command.Type.LAUNCH_INSTANCE
    ).values("pk")
    return EmergencyEvent.objects.filter(
        agent_id=instance.agent_id,
        kind=EmergencyEvent.Kind.TERMINATION,
        status=EmergencyEvent.Status.OPEN,
        command_id__in=launch_ids,
    ).first()


def _launch_priority(instance: Instance) -> int:
    launch = (
        Command.objects.filter(
            instance=instance, command_type=Command.Type.LAUNCH_INSTANCE
        )
        .values_list("priority", flat=True)
        .first()
    )
    return launch or Command.Priority.MODEL
