"""Switch reports: an agent's own account of a switch and its timings."""

import logging

from django.db import transaction
from django.utils import timezone

from instances.models import Command, Switch
from instances.selectors import instance_find

logger = logging.getLogger(__name__)

_TIMING_FIELDS = (
    "ami_created_at", "instance_launched_at", "instance_ready_at",
    "old_terminated_at",
)


def switch_report_record(*, agent, report: dict, request_id: str = "") -> Switch:
    """Fold the agent's timings into the server's switch, or record a new one.

    A report for a command the server issued completes that switch's time
    stamps; a switch the agent made on its own is recorded as completed.
    """
    timing = report.get("timing") or {}
    pricing = report.get("pricing") or {}
    with transaction.atomic():
        switch = _switch_for_command(agent, report.get("command_id"))
        if switch is None:
            switch = _switch_from_agent(agent, report, request_id)
        if timing.get("initiated_at"):
            switch.initiated_at = timing["initiated_at"]
        for name in _TIMING_FIELDS:
            if timing.get(name) and getattr(switch, name) is None:
                setattr(switch, name, timing[name])
        switch.old_price = pricing.get("old_spot", switch.old_price)
        switch.new_price = pricing.get("new_spot", switch.new_price)
        switch.ondemand_price = pricing.get("on_demand", switch.ondemand_price)
        switch.save()
    logger.info("Switch report for agent %s recorded on switch %s", agent.pk, switch.pk)
    return switch


def _switch_for_command(agent, command_id) -> Switch | None:
    if not command_id:
        return None
    command = Command.objects.filter(agent=agent, pk=command_id).first()
    return command.switch if command and command.switch_id else None


def _switch_from_agent(agent, report: dict, request_id: str) -> Switch:
    old = report.get("old_instance") or {}
    new = report.get("new_instance") or {}
    trigger = report.get("trigger") or Switch.Trigger.AGENT
    if trigger not in Switch.Trigger.values:
        trigger = Switch.Trigger.AGENT
    now = timezone.now()
    return Switch(
        agent=agent,
        client_id=agent.client_id,
        trigger=trigger,
        status=Switch.Status.COMPLETED,
        reason="reported by the agent",
        request_id=request_id[:128],
        old_instance=instance_find(
            agent_id=agent.pk, instance_id=old.get("instance_id")
        ),
        new_instance=instance_find(
            agent_id=agent.pk, instance_id=new.get("instance_id")
        ),
        from_pool_id=old.get("pool_id") or "",
        to_pool_id=new.get("pool_id") or "",
        target_mode="ondemand" if new.get("mode") == "ondemand" else "spot",
        completed_at=now,
        promoted_at=now,
    )
