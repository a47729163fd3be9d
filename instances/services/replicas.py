"""Manual replicas kept at the count an agent's config asks for, and
instances found running after the server retired them."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, Instance, Replica
from instances.selectors import pool_choose_uncorrelated, replicas_active
from instances.services.launches import instance_terminate_request, replica_create
from instances.services.lifecycle import instance_current_primary, instance_transition
from instances.services.switching import agent_lock

logger = logging.getLogger(__name__)


def replicas_reconcile(*, agent_id: int) -> int:
    """Launch or retire manual replicas until the agent has replica_count.

    Returns the change in the number of manual replicas (negative when some
    were retired). Replicas staged for emergencies are left alone.
    """
    with transaction.atomic():
        agent = agent_lock(agent_id)
        wanted = agent.replica_count if _wants_manual(agent) else 0
        manual = list(
            replicas_active(agent_id=agent.pk).filter(kind=Replica.Kind.MANUAL)
        )
        if len(manual) < wanted:
            return _replicas_add(agent, wanted - len(manual))
        for replica in manual[wanted:]:
            _replica_retire(replica, "manual replica no longer wanted")
        return wanted - len(manual)


def _wants_manual(agent: Agent) -> bool:
    return (
        agent.enabled
        and agent.manual_replica_enabled
        and agent.status == Agent.Status.ONLINE
    )


def _replicas_add(agent: Agent, missing: int) -> int:
    primary = instance_current_primary(agent_id=agent.pk)
    pool = pool_choose_uncorrelated(agent=agent, current=primary)
    if pool is None:
        logger.warning("No pool for a manual replica of agent %s", agent.pk)
        return 0

    for _ in range(missing):
        replica_create(
            agent=agent,
            kind=Replica.Kind.MANUAL,
            mode=Instance.Mode.SPOT,
            pool=pool,
            priority=Command.Priority.MANUAL,
            cause="manual replica requested in the agent's config",
        )
    return missing


def _replica_retire(replica: Replica, reason: str) -> None:
    replica.status = Replica.Status.RETIRED
    replica.ended_at = timezone.now()
    replica.save(update_fields=["status", "ended_at"])
    if replica.instance.state == Instance.State.RUNNING_REPLICA:
        instance_terminate_request(
            instance=replica.instance,
            priority=Command.Priority.SCHEDULED,
            cause=reason,
        )


def replicas_reconcile_all() -> int:
    """Reconcile every agent that asks for manual replicas or still has some."""
    with_manual = Replica.objects.filter(
        kind=Replica.Kind.MANUAL,
        status__in=[Replica.Status.LAUNCHING, Replica.Status.READY],
    ).values("agent_id")
    agent_ids = Agent.objects.filter(
        Q(manual_replica_enabled=True, replica_count__gt=0) | Q(pk__in=with_manual)
    ).values_list("pk", flat=True)
    return sum(abs(replicas_reconcile(agent_id=pk)) for pk in agent_ids)


def zombies_detect(*, agent: Agent, running_instance_ids: list[str]) -> int:
    """Instances the server terminated but the agent still sees running."""
    retired = Instance.objects.filter(
        agent=agent,
        state=Instance.State.TERMINATED,
        instance_id__in=running_instance_ids,
    )
    found = 0
    for instance in retired:
        instance_transition(
            instance=instance,
            to_state=Instance.State.ZOMBIE,
            cause="still running after it was terminated",
            state_reason="seen running after termination",
        )
        found += 1
    if found:
        logger.warning("Agent %s reports %s zombie instances", agent.pk, found)
    return found
