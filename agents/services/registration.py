"""Registration: an agent names itself and its instance; a replacement
instance gets its agent back."""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.authentication import agent_owner_share
from agents.heartbeats import heartbeat_answer_remember
from agents.models import Agent, Client
from agents.services.lifecycle import agent_status_record
from instances.models import Instance
from instances.services.commands import command_queue_waiting, idle_marker_read
from instances.services.lifecycle import (
    audit_record,
    instance_current_primary,
)
from pricing.selectors import ondemand_price_get
from pricing.services import pool_get_or_create

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """What an agent states about itself when it registers."""

    instance_id: str
    instance_type: str
    region: str
    az: str
    logical_agent_id: str = ""
    mode: str = ""
    hostname: str = ""
    agent_version: str = ""
    ami_id: str = ""
    private_ip: str = ""
    public_ip: str = ""
    cloud_account: str = ""
    project_id: str = ""


_DESCRIPTIVE_FIELDS = (
    "instance_type", "region", "az", "hostname", "agent_version", "ami_id",
    "private_ip", "public_ip", "cloud_account", "project_id",
)


def agent_register(
    *, client: Client, registration: Registration, request_id: str = ""
) -> tuple[Agent, Instance, str]:
    """Find or create the agent and its instance; return an optional message.

    The logical id (or the instance id) names the agent, so a replacement
    instance gets the same agent back. A retired instance is answered with
    everything switched off and a message saying why.
    """
    logical_id = registration.logical_agent_id or registration.instance_id
    now = timezone.now()
    with transaction.atomic():
        agent = _agent_get_or_create(client, logical_id, registration)
        agent = Agent.objects.select_for_update().get(pk=agent.pk)
        for field in _DESCRIPTIVE_FIELDS:
            value = getattr(registration, field)
            if value:
                setattr(agent, field, value)
        agent.last_heartbeat_at = now
        agent.offline_after = agent.next_offline_after(now)
        was_offline = agent.status != Agent.Status.ONLINE
        agent.status = Agent.Status.ONLINE
        agent.save()
        instance = _registered_instance(agent, registration, request_id)
    if was_offline:
        agent_status_record(
            agent=agent, status=Agent.Status.ONLINE, cause="registered"
        )
    message = ""
    if instance.is_retired:
        message = (
            f"Instance {registration.instance_id} was retired by the server "
            f"({instance.state}): {instance.state_reason or 'replaced'}."
        )
    else:
        transaction.on_commit(lambda: _agent_made_known(agent), robust=True)
    logger.info(
        "Agent %s registered instance %s (%s)",
        agent.pk, registration.instance_id, instance.state,
    )
    return agent, instance, message


def _agent_made_known(agent: Agent) -> None:
    """Tell the agent hot path now what it would otherwise look up on the
    agent's first calls, in every worker: its owner, what it was told (its
    config, as a heartbeat tells it) and whether its queue is idle. A fleet
    registering at once then costs no database read per agent and worker.
    """
    agent_owner_share(client_id=agent.client_id, agent_id=agent.pk)
    heartbeat_answer_remember(agent)
    command_queue_waiting(agent_id=agent.pk, cached=idle_marker_read(agent.pk))


def _agent_get_or_create(client, logical_id, registration) -> Agent:
    agent = Agent.objects.filter(client=client, logical_agent_id=logical_id).first()
    if agent is not None:
        return agent
    try:
        with transaction.atomic():
            return Agent.objects.create(
                client=client,
                logical_agent_id=logical_id,
                instance_type=registration.instance_type,
                region=registration.region,
                az=registration.az,
            )
    except IntegrityError:
        return Agent.objects.get(client=client, logical_agent_id=logical_id)


def _registered_instance(agent, registration, request_id) -> Instance:
    known = (
        Instance.objects.filter(agent=agent, instance_id=registration.instance_id)
        .order_by("-created_at", "-id")
        .first()
    )
    if known is not None:
        return known

    mode = registration.mode
    if mode not in (Instance.Mode.SPOT, Instance.Mode.ONDEMAND):
        mode = _mode_worked_out(agent, registration)
    pool = None
    if mode == Instance.Mode.SPOT:
        pool = pool_get_or_create(
            instance_type=registration.instance_type,
            az=registration.az,
            region=registration.region,
        )
    has_primary = instance_current_primary(agent_id=agent.pk) is not None
    state = (
        Instance.State.RUNNING_REPLICA if has_primary
        else Instance.State.RUNNING_PRIMARY
    )
    instance = Instance.objects.create(
        agent=agent,
        client_id=agent.client_id,
        instance_id=registration.instance_id,
        temp_instance_id=f"reg-{registration.instance_id}-{agent.pk}",
        pool=pool,
        instance_type=registration.instance_type,
        region=registration.region,
        az=registration.az,
        mode=mode,
        role_hint=Instance.Role.REPLICA if has_primary else Instance.Role.PRIMARY,
        state=state,
        ami_id=registration.ami_id,
        spot_price=pool.latest_price if pool else None,
        ondemand_price=ondemand_price_get(
            instance_type=registration.instance_type, region=registration.region
        ),
        confirmed_at=timezone.now(),
        promoted_at=None if has_primary else timezone.now(),
    )
    audit_record(
        client_id=agent.client_id,
        agent_id=agent.pk,
        instance=instance,
        event_type="instance_state",
        state_after=state,
        cause="registered by the agent",
        request_id=request_id,
    )
    return instance


def _mode_worked_out(agent, registration) -> str:
    """Use the market of the agent's last instance of this type, else spot."""
    previous = (
        Instance.objects.filter(agent=agent, instance_type=registration.instance_type)
        .values_list("mode", flat=True)
        .first()
    )
    return previous or Instance.Mode.SPOT
