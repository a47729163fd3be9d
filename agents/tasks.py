"""Thin Celery tasks over the agents services."""

from celery import shared_task
from django.conf import settings

from agents.idempotency import idempotency_keys_prune
from agents.services.lifecycle import agents_mark_offline
from instances.services.rebalances import replicas_retire_expired
from instances.services.replicas import replicas_reconcile_all
from instances.services.sweeps import commands_expire


@shared_task(name="agents.sweep_agents")
def sweep_agents_task() -> dict:
    """Every minute: offline agents, expired commands, replicas."""
    return {
        "offline": agents_mark_offline(),
        "expired_commands": commands_expire(),
        "retired_replicas": replicas_retire_expired(),
        "manual_replica_changes": replicas_reconcile_all(),
    }


@shared_task(name="agents.prune_idempotency_keys")
def prune_idempotency_keys_task() -> int:
    return idempotency_keys_prune(older_than_hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
