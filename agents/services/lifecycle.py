"""An agent's life after registration: heartbeats, its status and config,
the sweep that marks silent agents offline, its stop and its removal."""

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from agents.models import CONFIG_FIELDS, Agent
from instances.models import Command, Instance
from instances.services.commands import commands_in_flight_q
from instances.services.lifecycle import (
    audit_record,
    instance_current_primary,
)
from notifications.models import Notification
from notifications.services import notification_create
from spotopt.events import event_publish
from spotopt.sql import all_columns, table

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 1000


def heartbeat_record(
    *, client_id: int, agent_id: int, status: str = Agent.Status.ONLINE
) -> Agent | None:
    """Record a heartbeat of the client's agent; None when it has no such
    agent. An event follows when the status moves.

    Every agent sends one every 30 s and its status rarely moves, so the
    usual heartbeat is one statement: an UPDATE of a row whose status stays
    as it is, returning the row. Only when that matches nothing is the row
    locked and read, to tell a moved status from an unknown agent.
    """
    now = timezone.now()
    new_status = (
        Agent.Status.STOPPED if status == Agent.Status.STOPPED
        else Agent.Status.ONLINE
    )
    unchanged = list(Agent.objects.raw(
        _heartbeat_sql(), [now, agent_id, client_id, new_status]
    ))
    if unchanged:
        return unchanged[0]

    offline_after = Agent.next_offline_after(now)
    with transaction.atomic():
        agent = (
            Agent.objects.select_for_update()
            .filter(pk=agent_id, client_id=client_id)
            .first()
        )
        if agent is None:
            return None
        Agent.objects.filter(pk=agent.pk).update(
            last_heartbeat_at=now, offline_after=offline_after, status=new_status
        )
        agent.last_heartbeat_at, agent.offline_after = now, offline_after
        if agent.status != new_status:
            agent.status = new_status
            agent_status_record(agent=agent, status=new_status, cause="heartbeat")
    return agent


@functools.cache
def _heartbeat_sql() -> str:
    # The deadline stays: the sweep moves it up (agents_mark_offline).
    return f"""
        UPDATE {table(Agent)} SET last_heartbeat_at = %s
        WHERE id = %s AND client_id = %s AND status = %s
        RETURNING {all_columns(Agent)}
    """


def agent_status_record(*, agent: Agent, status: str, cause: str) -> None:
    """Record a status the agent just took: audit, notification, live event."""
    audit_record(
        client_id=agent.client_id,
        agent_id=agent.pk,
        event_type="agent_status",
        state_after=status,
        cause=cause,
    )
    if status in (Agent.Status.ONLINE, Agent.Status.OFFLINE):
        kind = (
            Notification.Kind.AGENT_ONLINE if status == Agent.Status.ONLINE
            else Notification.Kind.AGENT_OFFLINE
        )
        notification_create(
            client_id=agent.client_id,
            kind=kind,
            title=f"Agent {agent.logical_agent_id} is {status}",
            severity=Notification.Severity.INFO
            if status == Agent.Status.ONLINE
            else Notification.Severity.WARNING,
            agent_id=agent.pk,
        )
    event_publish(
        client_id=agent.client_id,
        event_type="agent.status",
        payload={"agent_id": agent.pk, "status": status,
                 "logical_agent_id": agent.logical_agent_id},
    )


def agents_mark_offline(*, now: datetime | None = None) -> int:
    """Mark agents offline that missed their heartbeat deadline.

    A heartbeat moves only last_heartbeat_at, which no index holds, so
    PostgreSQL updates the row in place (a HOT update: no index entries,
    no dead ones left for vacuum), 333 times a second at 10,000 agents.
    The indexed deadline, offline_after, is never later than the true one
    (the last heartbeat plus the grace period): registration and a status
    change set it, and here the agents past it that have heartbeated since
    have it moved up in one statement. What is left past it is silent.

    An agent executing a command sends no heartbeats, so one with a command
    in flight is left alone until the command's lease ends. Each row is
    claimed with a conditional update, so two sweeps never both act.
    """
    now = now or timezone.now()
    silent = _silent_since(now - timedelta(seconds=settings.HEARTBEAT_GRACE_SECONDS))
    _deadlines_catch_up(now)
    busy = Command.objects.filter(commands_in_flight_q(now)).values("agent_id")
    candidates = list(
        Agent.objects.filter(silent, status=Agent.Status.ONLINE, offline_after__lt=now)
        .exclude(pk__in=busy)
        .order_by("offline_after")[:SWEEP_BATCH_SIZE]
    )
    marked = 0
    for agent in candidates:
        with transaction.atomic():
            claimed = Agent.objects.filter(
                silent, pk=agent.pk, status=Agent.Status.ONLINE,
                offline_after__lt=now,
            ).update(status=Agent.Status.OFFLINE)
            if claimed:
                agent.status = Agent.Status.OFFLINE
                agent_status_record(
                    agent=agent, status=Agent.Status.OFFLINE,
                    cause="missed heartbeats",
                )
                marked += claimed
    if marked:
        logger.warning("Marked %s agents offline after missed heartbeats", marked)
    return marked


def _silent_since(moment: datetime) -> Q:
    return Q(last_heartbeat_at__isnull=True) | Q(last_heartbeat_at__lt=moment)


def _deadlines_catch_up(now: datetime) -> int:
    """Move each online agent's passed deadline up to its last heartbeat
    plus the grace period, where that is still ahead of `now`."""
    grace = timedelta(seconds=settings.HEARTBEAT_GRACE_SECONDS)
    moved = Agent.objects.filter(
        status=Agent.Status.ONLINE, offline_after__lt=now,
        last_heartbeat_at__gte=now - grace,
    ).update(offline_after=F("last_heartbeat_at") + grace)
    logger.debug("Moved %s heartbeat deadlines up", moved)
    return moved


def agent_config_update(*, agent: Agent, changes: dict, cause: str) -> Agent:
    """Apply config changes and queue APPLY_CONFIG so the agent hears of them."""
    from instances.services.commands import command_enqueue

    updates = {key: value for key, value in changes.items() if key in CONFIG_FIELDS}
    if not updates:
        return agent

    with transaction.atomic():
        before = agent.config()
        for key, value in updates.items():
            setattr(agent, key, value)
        agent.save(update_fields=[*updates, "updated_at"])
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            event_type="agent_config",
            cause=cause,
            details={"before": before, "after": agent.config()},
        )
        command_enqueue(
            agent=agent,
            command_type=Command.Type.APPLY_CONFIG,
            params={"config_updates": updates},
            priority=Command.Priority.MANUAL,
        )
    return agent


def agent_stopped_record(*, agent: Agent, reason: str) -> None:
    """The agent process stopped cleanly; its instance may still run."""
    Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.STOPPED)
    previous, agent.status = agent.status, Agent.Status.STOPPED
    audit_record(
        client_id=agent.client_id,
        agent_id=agent.pk,
        event_type="agent_status",
        state_before=previous,
        state_after=Agent.Status.STOPPED,
        cause=reason[:255] or "shutdown",
    )
    logger.info("Agent %s stopped: %s", agent.pk, reason)


def agent_instance_gone(*, agent: Agent, instance_id: str, reason: str) -> Instance:
    """The agent's instance is gone for good: mark it terminated.

    Without an instance id the instance is the one AWS was reclaiming, else
    the primary. The agent is terminated only when no primary is left.
    """
    from instances.selectors import instance_find
    from instances.services.results import instance_terminated_record
    from instances.services.switching import agent_lock

    with transaction.atomic():
        agent_lock(agent.pk)
        instance = instance_find(agent_id=agent.pk, instance_id=instance_id)
        if instance is None:
            instance = (
                Instance.objects.filter(
                    agent=agent, state=Instance.State.TERMINATING
                ).first()
                or instance_current_primary(agent_id=agent.pk)
            )
        if instance is None:
            return None
        instance_terminated_record(instance=instance)
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            instance=instance,
            event_type="instance_gone",
            cause=reason[:255] or "reported gone by the agent",
        )
        if instance_current_primary(agent_id=agent.pk) is None:
            Agent.objects.filter(pk=agent.pk).update(status=Agent.Status.TERMINATED)
    logger.info("Agent %s instance %s gone: %s", agent.pk, instance.pk, reason)
    return instance


def agent_enabled_toggle(*, agent: Agent, cause: str) -> Agent:
    """Flip the agent's `enabled` switch through the config path."""
    return agent_config_update(
        agent=agent, changes={"enabled": not agent.enabled}, cause=cause
    )


def agent_remove(*, agent: Agent, cause: str) -> None:
    """Retire an agent the client no longer wants managed.

    The row stays (its history and savings remain readable) but it is
    disabled and marked terminated; its open commands are withdrawn.
    """
    with transaction.atomic():
        previous = agent.status
        Agent.objects.filter(pk=agent.pk).update(
            status=Agent.Status.TERMINATED, enabled=False, offline_after=None
        )
        Command.objects.filter(agent=agent).filter(
            status__in=[Command.Status.PENDING, Command.Status.DELIVERED]
        ).update(status=Command.Status.EXPIRED, message=cause[:2000])
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            event_type="agent_status",
            state_before=previous,
            state_after=Agent.Status.TERMINATED,
            cause=cause[:255],
        )
        event_publish(
            client_id=agent.client_id,
            event_type="agent.status",
            payload={"agent_id": agent.pk, "status": Agent.Status.TERMINATED,
                     "logical_agent_id": agent.logical_agent_id},
        )
    logger.info("Agent %s removed: %s", agent.pk, cause)
