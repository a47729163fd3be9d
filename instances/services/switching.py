"""The switch saga and the handling of every command result.

A switch moves an agent's workload to another pool:

1. launch in the target pool (LAUNCH_INSTANCE), the new instance launching;
2. on `instance-launched`, mark it promoting and queue the promotion;
3. on the promotion's success, demote the old primary and make the new
   instance primary in one transaction (the unique constraint forbids two);
4. terminate the old instance after `terminate_wait_seconds`, or keep it as
   a zombie when that is 0 or auto-terminate is off.

A failed launch fails the switch; a failed promotion terminates the new
instance and leaves the old one primary.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica, Switch
from instances.selectors import instance_find, pool_choose_fastest
from instances.services.commands import command_close
from instances.services.launches import (
    instance_launch,
    instance_promote_request,
    instance_terminate_request,
    replica_create,
)
from instances.services.lifecycle import (
    StaleInstance,
    audit_record,
    instance_current_primary,
    instance_transition,
)
from notifications.models import Notification
from notifications.services import notification_create
from pricing.models import SpotPool
from pricing.services import pool_boot_time_record, pool_parse
from spotopt.events import event_publish

logger = logging.getLogger(__name__)


class SwitchInProgress(Exception):
    """Another switch of this agent has not finished."""


class SwitchNotNeeded(Exception):
    """The agent already runs where the switch would take it."""


class UnknownInstance(Exception):
    """No instance of this agent matches the reported ids."""


def agent_lock(agent_id: int) -> Agent:
    """Lock the agent row: every saga step of one agent runs one at a time."""
    return Agent.objects.select_for_update().get(pk=agent_id)


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


def command_result_apply(
    *,
    agent_id: int,
    command: Command,
    succeeded: bool,
    message: str = "",
    result: dict | None = None,
    cloud_instance_id: str = "",
    request_id: str = "",
) -> str:
    """Apply an agent's report of a command's outcome; return the outcome.

    A command already closed answers `already_recorded` and changes nothing.
    """
    result = result or {}
    if not command.is_open:
        return "already_recorded"

    kind = command.command_type
    if kind == Command.Type.LAUNCH_INSTANCE and succeeded:
        instance_launch_confirm(
            agent_id=agent_id,
            instance_id=cloud_instance_id or str(result.get("instance_id") or ""),
            temp_instance_id=command.params.get("temp_instance_id", ""),
            command_request_id=command.request_id,
            request_id=request_id,
        )
    elif kind == Command.Type.LAUNCH_INSTANCE:
        launch_failed(command=command, reason=message or "launch failed")
    elif kind == Command.Type.PROMOTE_REPLICA_TO_PRIMARY:
        promotion_finish(
            command=command, succeeded=succeeded, message=message,
            request_id=request_id,
        )
    elif kind == Command.Type.TERMINATE_INSTANCE:
        termination_finish(
            command=command, succeeded=succeeded, message=message,
            request_id=request_id,
        )
    with transaction.atomic():
        command_close(
            command=command, succeeded=succeeded, message=message, result=result
        )
    return "recorded"


def launch_failed(*, command: Command, reason: str, expired: bool = False) -> None:
    """Fail a launch: the instance ends, its switch or failover reacts."""
    with transaction.atomic():
        agent = agent_lock(command.agent_id)
        instance = Instance.objects.select_related("pool").get(pk=command.instance_id)
        command_close(
            command=command,
            succeeded=False,
            message=reason,
            status=Command.Status.EXPIRED if expired else None,
        )
        if instance.state == Instance.State.LAUNCHING:
            instance_transition(
                instance=instance,
                to_state=Instance.State.TERMINATED,
                cause=reason,
                state_reason=reason[:255],
            )
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            instance=instance,
            event_type="pool_launch_failed",
            cause=reason,
            details={"pool_id": instance.pool.pool_id if instance.pool else None},
        )
        Replica.objects.filter(instance=instance).update(
            status=Replica.Status.FAILED, ended_at=timezone.now()
        )
        switch = Switch.objects.filter(
            new_instance=instance, status=Switch.Status.LAUNCHING
        ).first()
        if switch is not None:
            _switch_fail(switch, f"launch failed: {reason}")
        emergency = EmergencyEvent.objects.filter(
            command=command, status=EmergencyEvent.Status.OPEN
        ).first()
        if emergency is not None:
            _failover_retry(agent, emergency, failed_instance=instance)


def _failover_retry(agent, emergency: EmergencyEvent, failed_instance) -> None:
    """Try the next fastest pool; with none left the failover has failed."""
    failed_pools = Instance.objects.filter(
        agent=agent,
        state=Instance.State.TERMINATED,
        created_at__gte=emergency.received_at,
        pool__isnull=False,
    ).values_list("pool_id", flat=True)
    exclude = {*failed_pools}
    if emergency.instance.pool_id:
        exclude.add(emergency.instance.pool_id)
    pool = pool_choose_fastest(agent=agent, exclude_pool_ids=exclude)
    if pool is None:
        emergency.status = EmergencyEvent.Status.FAILED
        emergency.resolved_at = timezone.now()
        emergency.save(update_fields=["status", "resolved_at"])
        notification_create(
            client_id=agent.client_id,
            kind=Notification.Kind.FAILOVER_FAILED,
            title=f"Failover of agent {agent.logical_agent_id} failed",
            body="Every acceptable pool failed to launch a replacement.",
            severity=Notification.Severity.CRITICAL,
            agent_id=agent.pk,
        )
        logger.error("Failover of agent %s failed: no pool left", agent.pk)
        return

    replica, command = replica_create(
        agent=agent,
        kind=Replica.Kind.EMERGENCY,
        mode=Instance.Mode.SPOT,
        pool=pool,
        priority=Command.Priority.EMERGENCY,
        cause=f"failover retry after {failed_instance.pk} failed",
    )
    emergency.command = command
    emergency.replica = replica
    emergency.target_pool_id = pool.pool_id
    emergency.save(update_fields=["command", "replica", "target_pool_id"])


def promotion_finish(
    *, command: Command, succeeded: bool, message: str = "", request_id: str = ""
) -> None:
    with transaction.atomic():
        agent = agent_lock(command.agent_id)
        instance = Instance.objects.select_related("pool").get(pk=command.instance_id)
        if instance.state != Instance.State.PROMOTING:
            return
        if succeeded:
            _promote(agent, instance, command, request_id)
        else:
            _promotion_compensate(agent, instance, command, message, request_id)


def _promote(agent, instance: Instance, command: Command, request_id: str) -> None:
    now = timezone.now()
    old = instance_current_primary(agent_id=agent.pk)
    emergency = EmergencyEvent.objects.filter(
        agent=agent,
        kind=EmergencyEvent.Kind.TERMINATION,
        status=EmergencyEvent.Status.OPEN,
    ).first()
    if old is not None and old.pk != instance.pk:
        _demote(agent, old, emergency, request_id)
    instance_transition(
        instance=instance,
        to_state=Instance.State.RUNNING_PRIMARY,
        cause=f"promoted by {command.request_id}",
        request_id=request_id,
        promoted_at=now,
        role_hint=Instance.Role.PRIMARY,
    )
    Replica.objects.filter(instance=instance).update(
        status=Replica.Status.PROMOTED, ended_at=now
    )
    downtime_ms = _downtime_ms(command, emergency, now)
    switch = Switch.objects.filter(
        new_instance=instance, status=Switch.Status.PROMOTING
    ).first()
    if switch is not None:
        _switch_complete(switch, now, downtime_ms)
    if emergency is not None:
        _failover_complete(agent, emergency, instance, now, downtime_ms)
    Agent.objects.filter(pk=agent.pk).update(
        instance_type=instance.instance_type, az=instance.az
    )


def _demote(agent, old: Instance, emergency, request_id: str) -> None:
    if emergency is not None and emergency.instance_id == old.pk:
        # AWS reclaims this one; terminating it ourselves would add nothing.
        instance_transition(
            instance=old,
            to_state=Instance.State.TERMINATING,
            cause="interrupted by AWS",
            request_id=request_id,
            state_reason="spot interruption",
        )
    elif agent.auto_terminate_enabled and agent.terminate_wait_seconds > 0:
        instance_terminate_request(
            instance=old,
            priority=Command.Priority.SCHEDULED,
            cause="replaced by a switch",
            request_id=request_id,
            delay_seconds=agent.terminate_wait_seconds,
        )
    else:
        instance_transition(
            instance=old,
            to_state=Instance.State.ZOMBIE,
            cause="replaced; kept for the operator",
            request_id=request_id,
            state_reason="kept after switch",
        )


def _downtime_ms(command: Command, emergency, now) -> int:
    """Traffic moves during the promotion; after a deadline it was down."""
    started = command.delivered_at or command.created_at
    downtime = max(0.0, (now - started).total_seconds())
    if emergency is not None and emergency.deadline and now > emergency.deadline:
        downtime = max(downtime, (now - emergency.deadline).total_seconds())
    return int(downtime * 1000)


def _switch_complete(switch: Switch, now, downtime_ms: int) -> None:
    switch.status = Switch.Status.COMPLETED
    switch.promoted_at = now
    switch.completed_at = now
    switch.downtime_ms = downtime_ms
    switch.save(update_fields=["status", "promoted_at", "completed_at", "downtime_ms"])
    saving = ""
    if switch.old_price is not None and switch.new_price is not None:
        saving = f" Price {switch.old_price} -> {switch.new_price} per hour."
    notification_create(
        client_id=switch.client_id,
        kind=Notification.Kind.SWITCH_COMPLETED,
        title=f"Switch to {switch.to_pool_id} completed",
        body=f"Downtime {downtime_ms} ms.{saving}",
        agent_id=switch.agent_id,
    )
    event_publish(
        client_id=switch.client_id,
        event_type="switch.completed",
        payload={"switch_id": switch.pk, "agent_id": switch.agent_id,
                 "downtime_ms": downtime_ms, "to_pool_id": switch.to_pool_id},
    )
    logger.info("Switch %s completed, downtime %s ms", switch.pk, downtime_ms)


def _failover_complete(agent, emergency, instance, now, downtime_ms) -> None:
    emergency.status = EmergencyEvent.Status.RESOLVED
    emergency.resolved_at = now
    emergency.save(update_fields=["status", "resolved_at"])
    Agent.objects.filter(pk=agent.pk).update(
        notice_status=Agent.NoticeStatus.NONE, notice_deadline=None
    )
    notification_create(
        client_id=agent.client_id,
        kind=Notification.Kind.FAILOVER_DONE,
        title=f"Failover of agent {agent.logical_agent_id} completed",
        body=f"Now on {instance.pool_key}; downtime {downtime_ms} ms.",
        agent_id=agent.pk,
    )
    event_publish(
        client_id=agent.client_id,
        event_type="emergency.resolved",
        payload={"agent_id": agent.pk, "event_id": emergency.pk,
                 "downtime_ms": downtime_ms},
    )
    logger.info(
        "Failover of agent %s done in %.1f s",
        agent.pk, (now - emergency.received_at).total_seconds(),
    )


def _promotion_compensate(agent, instance, command, message, request_id) -> None:
    instance_terminate_request(
        instance=instance,
        priority=command.priority,
        cause=f"promotion failed: {message}"[:255],
        request_id=request_id,
    )
    switch = Switch.objects.filter(
        new_instance=instance, status=Switch.Status.PROMOTING
    ).first()
    if switch is not None:
        _switch_fail(switch, f"promotion failed: {message}")
    emergency = EmergencyEvent.objects.filter(
        agent=agent, command=command, status=EmergencyEvent.Status.OPEN
    ).first()
    if emergency is not None:
        _failover_retry(agent, emergency, failed_instance=instance)


def _switch_fail(switch: Switch, reason: str) -> None:
    switch.status = Switch.Status.FAILED
    switch.failure_reason = reason[:255]
    switch.completed_at = timezone.now()
    switch.save(update_fields=["status", "failure_reason", "completed_at"])
    event_publish(
        client_id=switch.client_id,
        event_type="switch.failed",
        payload={"switch_id": switch.pk, "agent_id": switch.agent_id,
                 "reason": reason},
    )
    logger.warning("Switch %s failed: %s", switch.pk, reason)


def termination_finish(
    *, command: Command, succeeded: bool, message: str = "", request_id: str = ""
) -> None:
    with transaction.atomic():
        agent_lock(command.agent_id)
        instance = Instance.objects.get(pk=command.instance_id)
        if succeeded:
            instance_terminated_record(instance=instance, request_id=request_id)
        elif instance.state == Instance.State.TERMINATING:
            instance_transition(
                instance=instance,
                to_state=Instance.State.ZOMBIE,
                cause=f"terminate failed: {message}"[:255],
                request_id=request_id,
            )


def instance_terminated_record(
    *, instance: Instance, request_id: str = "", at: datetime | None = None
) -> bool:
    """Mark the instance terminated; False if it already was."""
    if instance.state == Instance.State.TERMINATED:
        return False

    at = at or timezone.now()
    try:
        instance_transition(
            instance=instance,
            to_state=Instance.State.TERMINATED,
            cause="terminated",
            request_id=request_id,
            terminated_at=at,
        )
    except StaleInstance:
        instance.refresh_from_db()
        return instance_terminated_record(
            instance=instance, request_id=request_id, at=at
        )
    Switch.objects.filter(old_instance=instance, old_terminated_at__isnull=True).update(
        old_terminated_at=at
    )
    Replica.objects.filter(
        instance=instance,
        status__in=[Replica.Status.LAUNCHING, Replica.Status.READY],
    ).update(status=Replica.Status.RETIRED, ended_at=at)
    for command in Command.objects.filter(
        instance=instance,
        command_type=Command.Type.TERMINATE_INSTANCE,
        status__in=[Command.Status.PENDING, Command.Status.DELIVERED],
    ):
        command_close(command=command, succeeded=True, message="confirmed")
    return True
