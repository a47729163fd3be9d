"""What the server does with an agent's report of a command's outcome.

A launch confirmed goes back to the switch saga (`switching`); a failed
launch fails its switch or retries its failover; a promotion's success
makes the new instance primary and completes the switch or failover, its
failure terminates the new instance (the old one stays primary); a
termination confirmed ends the instance and its open commands.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica, Switch
from instances.selectors import pool_choose_fastest
from instances.services.commands import command_close
from instances.services.launches import instance_terminate_request, replica_create
from instances.services.lifecycle import (
    StaleInstance,
    audit_record,
    instance_current_primary,
    instance_transition,
)
from instances.services.switching import agent_lock, instance_launch_confirm
from notifications.models import Notification
from notifications.services import notification_create
from spotopt.events import event_publish

logger = logging.getLogger(__name__)


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
        "Failover of agent %s done %d ms after the notice, downtime %s ms",
        agent.pk, (now - emergency.received_at).total_seconds() * 1000,
        downtime_ms,
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
