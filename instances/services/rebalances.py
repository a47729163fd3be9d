"""Rebalance recommendations: a warm replica staged in an uncorrelated pool,
retired when its time-to-live passes without a termination notice."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica
from instances.selectors import pool_choose_uncorrelated, replicas_active
from instances.services.launches import instance_terminate_request, replica_create
from instances.services.notices import notice_instance, open_events, repeat_counted
from instances.services.switching import agent_lock
from spotopt.events import event_publish

logger = logging.getLogger(__name__)

# Risk reported for an instance under a rebalance recommendation: AWS sends
# one when it sees elevated risk, and about half of them turn into notices.
REBALANCE_RISK_SCORE = 0.5


def rebalance_record(
    *, agent_id: int, instance_id: str, detected_at: datetime | None,
    request_id: str = "",
) -> dict:
    """Stage a warm replica in an uncorrelated pool; keep the primary serving."""
    with transaction.atomic():
        agent = agent_lock(agent_id)
        instance = notice_instance(agent, instance_id)
        repeat = repeat_counted(
            open_events(instance, EmergencyEvent.Kind.REBALANCE).get(
                EmergencyEvent.Kind.REBALANCE
            )
        )
        if repeat is not None:
            return _rebalance_answer(repeat, "repeat of an open recommendation")
        event = EmergencyEvent.objects.create(
            agent=agent, client_id=agent.client_id, instance=instance,
            kind=EmergencyEvent.Kind.REBALANCE,
            detected_at=detected_at or timezone.now(),
        )

        if agent.notice_status == Agent.NoticeStatus.NONE:
            Agent.objects.filter(pk=agent.pk).update(
                notice_status=Agent.NoticeStatus.REBALANCE
            )
        event.action, reason = _rebalance_act(agent, instance, event, request_id)
        event.save(update_fields=["action", "replica", "command", "target_pool_id"])
    event_publish(
        client_id=agent.client_id,
        event_type="emergency.rebalance",
        payload={"agent_id": agent.pk, "event_id": event.pk,
                 "action": event.action},
    )
    logger.info(
        "Rebalance recommendation for agent %s instance %s: %s",
        agent.pk, instance.pk, event.action,
    )
    return _rebalance_answer(event, reason)


def _rebalance_act(agent, instance, event, request_id) -> tuple[str, str]:
    if not agent.enabled:
        return "monitor", "agent disabled; watching only"

    standing = replicas_active(agent_id=agent.pk).first()
    if standing is not None:
        _extend_ttl(standing)
        event.replica = standing
        event.target_pool_id = standing.instance.pool_key
        return "replica_staged", "a replica is already standing by"

    pool = pool_choose_uncorrelated(agent=agent, current=instance)
    if pool is None:
        return "monitor", "no uncorrelated pool is known"

    replica, command = replica_create(
        agent=agent,
        kind=Replica.Kind.REBALANCE,
        mode=Instance.Mode.SPOT,
        pool=pool,
        priority=Command.Priority.URGENT,
        cause=f"rebalance recommendation {event.pk}",
        request_id=request_id,
        ttl_seconds=settings.REBALANCE_REPLICA_TTL_SECONDS,
    )
    event.replica, event.command, event.target_pool_id = replica, command, pool.pool_id
    return "replica_staged", f"warm replica staged in {pool.pool_id}"


def _extend_ttl(replica: Replica) -> None:
    replica.expires_at = timezone.now() + timedelta(
        seconds=settings.REBALANCE_REPLICA_TTL_SECONDS
    )
    replica.save(update_fields=["expires_at"])


def _rebalance_answer(event: EmergencyEvent, reason: str) -> dict:
    answer = {
        "action": event.action or "monitor",
        "risk_score": REBALANCE_RISK_SCORE,
        "reason": reason,
        "event_id": event.pk,
    }
    if event.target_pool_id:
        answer["target_pool_id"] = event.target_pool_id
    return answer


def replicas_retire_expired(*, now: datetime | None = None) -> int:
    """Retire rebalance replicas whose time-to-live passed with no notice."""
    now = now or timezone.now()
    expired = Replica.objects.filter(
        kind=Replica.Kind.REBALANCE,
        status=Replica.Status.READY,
        expires_at__lt=now,
    ).values_list("pk", "agent_id")
    retired = 0
    for replica_pk, agent_id in expired:
        with transaction.atomic():
            agent_lock(agent_id)
            if _replica_retire(replica_pk, agent_id, now):
                retired += 1
    if retired:
        logger.info("Retired %s rebalance replicas past their TTL", retired)
    return retired


def _replica_retire(replica_pk: int, agent_id: int, now) -> bool:
    replica = Replica.objects.select_related("instance").get(pk=replica_pk)
    termination_open = EmergencyEvent.objects.filter(
        agent_id=agent_id,
        kind=EmergencyEvent.Kind.TERMINATION,
        status=EmergencyEvent.Status.OPEN,
    ).exists()
    if replica.status != Replica.Status.READY or termination_open:
        return False

    replica.status = Replica.Status.RETIRED
    replica.ended_at = now
    replica.save(update_fields=["status", "ended_at"])
    if replica.instance.state == Instance.State.RUNNING_REPLICA:
        instance_terminate_request(
            instance=replica.instance,
            priority=Command.Priority.SCHEDULED,
            cause="rebalance replica TTL passed without a notice",
        )
    EmergencyEvent.objects.filter(
        agent_id=agent_id,
        kind=EmergencyEvent.Kind.REBALANCE,
        status=EmergencyEvent.Status.OPEN,
    ).update(
        status=EmergencyEvent.Status.RESOLVED,
        became_interruption=False,
        resolved_at=now,
    )
    Agent.objects.filter(
        pk=agent_id, notice_status=Agent.NoticeStatus.REBALANCE
    ).update(notice_status=Agent.NoticeStatus.NONE)
    return True
