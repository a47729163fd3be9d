"""Instance state changes: compare-and-set on `version`, each one audited."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from instances.models import AuditEvent, Instance
from spotopt.events import event_publish

logger = logging.getLogger(__name__)


class StaleInstance(Exception):
    """The instance changed since it was read; the caller must re-read."""


class PrimaryConflict(Exception):
    """The agent already has a running primary."""


def audit_record(
    *,
    client_id: int,
    event_type: str,
    agent_id: int | None = None,
    instance: Instance | None = None,
    state_before: str = "",
    state_after: str = "",
    cause: str = "",
    request_id: str = "",
    details: dict | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        client_id=client_id,
        agent_id=agent_id,
        instance=instance,
        event_type=event_type,
        state_before=state_before,
        state_after=state_after,
        cause=cause[:255],
        request_id=request_id[:128],
        details=details or {},
    )


def instance_transition(
    *,
    instance: Instance,
    to_state: str,
    cause: str,
    request_id: str = "",
    **fields,
) -> Instance:
    """Move the instance to `to_state` if nobody changed it since it was read.

    Raises StaleInstance when the version moved on, and PrimaryConflict when
    the move would give the agent a second running primary.
    """
    now = timezone.now()
    before = instance.state
    values = {"state": to_state, "state_changed_at": now, **fields}
    if to_state == Instance.State.TERMINATED:
        values.setdefault("terminated_at", now)

    try:
        with transaction.atomic():
            updated = Instance.objects.filter(
                pk=instance.pk, version=instance.version
            ).update(version=F("version") + 1, **values)
    except IntegrityError:
        raise PrimaryConflict(f"agent {instance.agent_id} already has a primary")
    if updated != 1:
        raise StaleInstance(f"instance {instance.pk} changed concurrently")

    for name, value in values.items():
        setattr(instance, name, value)
    instance.version += 1
    audit_record(
        client_id=instance.client_id,
        agent_id=instance.agent_id,
        instance=instance,
        event_type="instance_state",
        state_before=before,
        state_after=to_state,
        cause=cause,
        request_id=request_id,
    )
    event_publish(
        client_id=instance.client_id,
        event_type="instance.state",
        payload={
            "instance": instance.pk,
            "instance_id": instance.instance_id,
            "agent_id": instance.agent_id,
            "state": to_state,
            "previous": before,
        },
    )
    logger.info(
        "Instance %s of agent %s: %s -> %s (%s)",
        instance.pk, instance.agent_id, before, to_state, cause,
    )
    return instance


def instance_current_primary(*, agent_id: int) -> Instance | None:
    return Instance.objects.filter(
        agent_id=agent_id, state=Instance.State.RUNNING_PRIMARY
    ).first()
