"""Termination notices and emergency replicas: the failover before AWS
takes an instance back."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica
from instances.selectors import (
    instance_find,
    pool_choose_fastest,
    takeover_candidates,
)
from instances.services.launches import instance_promote_request, replica_create
from instances.services.lifecycle import (
    instance_current_primary,
    instance_transition,
)
from instances.services.notices import notice_instance, open_events, repeat_counted
from instances.services.switching import agent_lock
from notifications.models import Notification
from notifications.services import notification_create
from spotopt.events import event_publish

logger = logging.getLogger(__name__)


def termination_record(
    *, agent_id: int, instance_id: str, termination_time: datetime | None,
    request_id: str = "", arrival_clock: float | None = None,
) -> dict:
    """Fail over before the deadline; repeated notices are one event.

    1. A ready replica is promoted at once (priority 100).
    2. A replica still launching is promoted when it reports launched.
    3. Otherwise a replica is launched in the fastest-booting acceptable
       pool (on demand when no pool is known) and promoted on launch.

    A notice for an instance that is not serving (a replica, or one already
    on its way out) fails nothing over: the primary is healthy.

    `arrival_clock` is the perf_counter reading when the request arrived:
    the event records the delay from then to the command's commit.
    """
    started = arrival_clock or time.perf_counter()
    now = timezone.now()
    deadline = termination_time or now + timedelta(
        seconds=settings.TERMINATION_NOTICE_SECONDS
    )
    # No savepoint: inside a caller's transaction (an idempotent request's)
    # an error here undoes the caller's work too, which is what it wants.
    with transaction.atomic(savepoint=False):
        agent = agent_lock(agent_id)
        standby = instance_find(agent_id=agent.pk, instance_id=instance_id)
        if standby is not None and standby.state in STANDBY_STATES:
            return _standby_noticed(agent, standby, now, deadline, request_id)

        instance = notice_instance(agent, instance_id, found=standby)
        # One read for both (at most one open event of each kind): an open
        # termination event makes this a repeat, an open rebalance event
        # turns out to have been an interruption.
        open_by_kind = open_events(
            instance, EmergencyEvent.Kind.TERMINATION, EmergencyEvent.Kind.REBALANCE
        )
        repeat = repeat_counted(open_by_kind.get(EmergencyEvent.Kind.TERMINATION))
        if repeat is not None:
            return _termination_answer(repeat, "already_handled")

        Agent.objects.filter(pk=agent.pk).update(
            notice_status=Agent.NoticeStatus.TERMINATION, notice_deadline=deadline
        )
        rebalance = open_by_kind.get(EmergencyEvent.Kind.REBALANCE)
        if rebalance is not None:
            EmergencyEvent.objects.filter(pk=rebalance.pk).update(
                became_interruption=True,
                status=EmergencyEvent.Status.RESOLVED,
                resolved_at=now,
            )
        # The event is written once, with what the failover did.
        event = EmergencyEvent(
            agent=agent, client_id=agent.client_id, instance=instance,
            kind=EmergencyEvent.Kind.TERMINATION, detected_at=now,
            deadline=deadline,
        )
        event.action = _failover_start(agent, instance, event, request_id)
        event.save(force_insert=True)
        notification_create(
            client_id=agent.client_id,
            kind=Notification.Kind.EMERGENCY_NOTICE,
            title=f"Termination notice for agent {agent.logical_agent_id}",
            body=f"Deadline {deadline.isoformat()}; action {event.action}.",
            severity=Notification.Severity.CRITICAL,
            agent_id=agent.pk,
        )
        # The command is in the queue once the caller's transaction (the
        # idempotent request's) commits: the delay is measured to then.
        transaction.on_commit(
            lambda: _queue_delay_record(event, agent.pk, instance.pk, started),
            robust=True,
        )
    event_publish(
        client_id=agent.client_id,
        event_type="emergency.termination",
        payload={"agent_id": agent.pk, "event_id": event.pk,
                 "deadline": deadline.isoformat(), "action": event.action},
    )
    return _termination_answer(event, event.action)


def _queue_delay_record(event, agent_id: int, instance_id: int, started) -> None:
    event.queue_delay_ms = (time.perf_counter() - started) * 1000
    EmergencyEvent.objects.filter(pk=event.pk).update(
        queue_delay_ms=event.queue_delay_ms
    )
    logger.warning(
        "Termination notice for agent %s instance %s: %s, queued in %.1f ms",
        agent_id, instance_id, event.action, event.queue_delay_ms,
    )


# Instances whose interruption leaves the primary serving.
STANDBY_STATES = (
    Instance.State.RUNNING_REPLICA,
    Instance.State.TERMINATING,
    Instance.State.ZOMBIE,
    Instance.State.TERMINATED,
)


def _standby_noticed(agent, instance, now, deadline, request_id) -> dict:
    """Record a notice for a non-serving instance; repeats are one event.

    Failing over here would promote the very instance AWS is reclaiming, or
    replace the healthy primary. The event is closed at once, so it never
    counts as the agent's open failover; a reclaimed replica is retired.
    """
    event = repeat_counted(EmergencyEvent.objects.filter(
        instance=instance, kind=EmergencyEvent.Kind.TERMINATION
    ).first())
    if event is not None:
        return _termination_answer(event, "already_handled")

    event = EmergencyEvent.objects.create(
        agent=agent, client_id=agent.client_id, instance=instance,
        kind=EmergencyEvent.Kind.TERMINATION, detected_at=now, deadline=deadline,
        action="already_handled", status=EmergencyEvent.Status.RESOLVED,
        resolved_at=now,
    )
    if instance.state == Instance.State.RUNNING_REPLICA:
        Replica.objects.filter(
            instance=instance,
            status__in=[Replica.Status.LAUNCHING, Replica.Status.READY],
        ).update(status=Replica.Status.FAILED, ended_at=now)
        instance_transition(
            instance=instance,
            to_state=Instance.State.TERMINATING,
            cause="interrupted by AWS",
            request_id=request_id,
            state_reason="spot interruption",
        )
    logger.warning(
        "Termination notice for standby instance %s of agent %s: no failover",
        instance.pk, agent.pk,
    )
    return _termination_answer(event, "already_handled")


def _failover_start(agent, instance, event, request_id) -> str:
    takeover = takeover_candidates(agent_id=agent.pk)
    if takeover.ready is not None:
        event.replica = takeover.ready
        event.target_pool_id = takeover.ready.instance.pool_key
        event.command = instance_promote_request(
            instance=takeover.ready.instance,
            old_primary=instance,
            priority=Command.Priority.EMERGENCY,
            cause=f"termination notice for instance {instance.pk}",
            request_id=request_id,
        )
        return "promote_replica"

    if takeover.launching is not None or takeover.switching is not None:
        # Promoted when it reports launched; its launch jumps the queue.
        event.replica = takeover.launching
        launching = (
            takeover.launching.instance if takeover.launching
            else takeover.switching
        )
        command = Command.objects.filter(
            instance=launching, command_type=Command.Type.LAUNCH_INSTANCE
        ).first()
        Command.objects.filter(pk=command.pk).update(
            priority=Command.Priority.EMERGENCY
        )
        event.command = command
        event.target_pool_id = launching.pool_key
        return "launch_replica"

    pool = pool_choose_fastest(
        agent=agent, exclude_pool_ids=[instance.pool_id] if instance.pool_id else []
    )
    replica, command = replica_create(
        agent=agent,
        kind=Replica.Kind.EMERGENCY,
        mode=Instance.Mode.SPOT if pool else Instance.Mode.ONDEMAND,
        pool=pool,
        priority=Command.Priority.EMERGENCY,
        cause=f"termination notice for instance {instance.pk}",
        request_id=request_id,
    )
    event.replica, event.command = replica, command
    event.target_pool_id = replica.instance.pool_key
    return "launch_replica"


def _termination_answer(event: EmergencyEvent, action: str) -> dict:
    answer = {
        "action": action,
        "deadline": event.deadline,
        "event_id": event.pk,
        "target_pool_id": event.target_pool_id or None,
    }
    if event.replica_id and event.action == "promote_replica":
        answer["replica_instance_id"] = event.replica.instance.instance_id
    if event.command_id:
        answer["command_id"] = event.command_id
    return answer


def emergency_replica_create(
    *, agent_id: int, reason: str = "", preferred_az: str = "",
    exclude_azs: list[str] | None = None, request_id: str = "",
) -> tuple[Replica, Command]:
    with transaction.atomic():
        agent = agent_lock(agent_id)
        current = instance_current_primary(agent_id=agent.pk)
        pool = pool_choose_fastest(
            agent=agent,
            exclude_pool_ids=[current.pool_id] if current and current.pool_id else [],
            preferred_az=preferred_az,
            exclude_azs=exclude_azs or [],
        )
        return replica_create(
            agent=agent,
            kind=Replica.Kind.EMERGENCY,
            mode=Instance.Mode.SPOT if pool else Instance.Mode.ONDEMAND,
            pool=pool,
            priority=Command.Priority.EMERGENCY,
            cause=reason or "emergency replica requested by the agent",
            request_id=request_id,
        )
