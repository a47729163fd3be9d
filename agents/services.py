"""Clients and agents: accounts, registration, heartbeats, the sweep."""

import functools
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.authentication import client_cache_clear
from agents.models import CONFIG_FIELDS, Agent, Client, ClientMembership
from agents.tokens import token_generate
from instances.models import Command, Instance
from instances.services.commands import commands_in_flight_q
from instances.services.lifecycle import (
    audit_record,
    instance_current_primary,
)
from notifications.models import Notification
from notifications.services import notification_create
from pricing.selectors import ondemand_price_get
from pricing.services import pool_get_or_create
from spotopt.events import event_publish
from spotopt.sql import all_columns, table

logger = logging.getLogger(__name__)

SWEEP_BATCH_SIZE = 1000


def client_create(*, name: str, email: str = "") -> tuple[Client, str]:
    """Create a client; return it with its token, which is never shown again."""
    token, prefix, digest = token_generate()
    client = Client.objects.create(
        name=name, email=email, token_prefix=prefix, token_hash=digest
    )
    logger.info("Created client %s (%s)", client.pk, name)
    return client, token


def client_token_rotate(*, client: Client) -> str:
    """Replace the client's token; the old one stops working at once."""
    token, prefix, digest = token_generate()
    client.token_prefix, client.token_hash = prefix, digest
    client.token_rotated_at = timezone.now()
    client.save(update_fields=["token_prefix", "token_hash", "token_rotated_at"])
    client_cache_clear()
    notification_create(
        client_id=client.pk,
        kind=Notification.Kind.TOKEN_ROTATED,
        title="API token regenerated",
        body="Agents must be given the new token.",
        severity=Notification.Severity.WARNING,
    )
    logger.info("Rotated the token of client %s", client.pk)
    return token


def client_status_set(*, client: Client, status: str) -> None:
    client.status = status
    client.save(update_fields=["status"])
    client_cache_clear()
    logger.info("Client %s is now %s", client.pk, status)


def client_delete(*, client: Client) -> None:
    """Delete the client with its agents, instances and history.

    Its token stops working at once in this process, within seconds in the
    others (the authentication cache).
    """
    client_id = client.pk
    client.delete()
    client_cache_clear()
    logger.info("Deleted client %s", client_id)


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
        _status_changed(agent, Agent.Status.ONLINE, "registered")
    message = ""
    if instance.is_retired:
        message = (
            f"Instance {registration.instance_id} was retired by the server "
            f"({instance.state}): {instance.state_reason or 'replaced'}."
        )
    logger.info(
        "Agent %s registered instance %s (%s)",
        agent.pk, registration.instance_id, instance.state,
    )
    return agent, instance, message


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
    offline_after = Agent.next_offline_after(now)
    unchanged = list(Agent.objects.raw(
        _heartbeat_sql(), [now, offline_after, agent_id, client_id, new_status]
    ))
    if unchanged:
        return unchanged[0]

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
            _status_changed(agent, new_status, "heartbeat")
    return agent


@functools.cache
def _heartbeat_sql() -> str:
    return f"""
        UPDATE {table(Agent)} SET last_heartbeat_at = %s, offline_after = %s
        WHERE id = %s AND client_id = %s AND status = %s
        RETURNING {all_columns(Agent)}
    """


def _status_changed(agent: Agent, status: str, cause: str) -> None:
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

    An agent executing a command sends no heartbeats, so one with a command
    in flight is left alone until the command's lease ends. Each row is
    claimed with a conditional update, so two sweeps never both act.
    """
    now = now or timezone.now()
    busy = Command.objects.filter(commands_in_flight_q(now)).values("agent_id")
    candidates = list(
        Agent.objects.filter(status=Agent.Status.ONLINE, offline_after__lt=now)
        .exclude(pk__in=busy)
        .order_by("offline_after")[:SWEEP_BATCH_SIZE]
    )
    marked = 0
    for agent in candidates:
        with transaction.atomic():
            claimed = Agent.objects.filter(
                pk=agent.pk, status=Agent.Status.ONLINE, offline_after__lt=now
            ).update(status=Agent.Status.OFFLINE)
            if claimed:
                agent.status = Agent.Status.OFFLINE
                _status_changed(agent, Agent.Status.OFFLINE, "missed heartbeats")
                marked += claimed
    if marked:
        logger.warning("Marked %s agents offline after missed heartbeats", marked)
    return marked


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


def membership_invite(
    *, client: Client, email: str, role: str = "member", request=None
) -> ClientMembership:
    """Give a person a dashboard account of the client and mail a reset link.

    The account starts with a random password nobody knows: the person sets
    one through the password-reset mail, so no password ever travels.
    """
    import secrets

    from django.contrib.auth import get_user_model
    from django.contrib.auth.forms import PasswordResetForm

    user_model = get_user_model()
    with transaction.atomic():
        user, created = user_model.objects.get_or_create(
            username=email.lower(), defaults={"email": email}
        )
        if created:
            user.set_password(secrets.token_urlsafe(32))
            user.save(update_fields=["password"])
        membership = ClientMembership.objects.create(
            user=user, client=client, role=role
        )
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            request=request,
            use_https=bool(request and request.is_secure()),
            domain_override=None if request else "localhost",
            subject_template_name="registration/invitation_subject.txt",
            email_template_name="registration/invitation_email.txt",
        )
    logger.info("Invited user %s to client %s", user.pk, client.pk)
    return membership
