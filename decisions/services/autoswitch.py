"""Act on decisions: start the switches the guard rails allow."""

import logging

from agents.models import Agent
from decisions.services.decide import decision_log, decision_make
from instances.models import Command, Switch
from instances.services.switching import (
    SwitchInProgress,
    SwitchNotNeeded,
    switch_start,
    switch_target_resolve,
)

logger = logging.getLogger(__name__)


def agent_autoswitch(*, agent: Agent) -> str:
    """Decide for one agent, start the switch if allowed; return the outcome.

    Every decision is logged with what was done: `stay`, `blocked`, `started`
    (with the switch id) or `skipped` when a switch was already running.
    """
    decision = decision_make(agent=agent, log=False)
    outcome = "stay"
    if decision.recommended_action == "switch" and not decision.allowed:
        outcome = "blocked"
    elif decision.recommended_action == "switch":
        outcome = _switch(agent, decision)
    decision_log(agent=agent, decision=decision, inputs=decision.inputs,
                 outcome=outcome)
    return outcome


def _switch(agent: Agent, decision) -> str:
    pool = switch_target_resolve(
        agent=agent, target_mode=decision.recommended_mode,
        target_pool_id=decision.recommended_pool_id or "",
    )
    priority = Command.Priority.URGENT if decision.urgent else Command.Priority.MODEL
    try:
        switch, _ = switch_start(
            agent_id=agent.pk, target_mode=decision.recommended_mode,
            target_pool=pool, trigger=Switch.Trigger.MODEL,
            priority=priority, reason=decision.reason,
        )
    except (SwitchInProgress, SwitchNotNeeded) as error:
        return f"skipped: {error}"[:64]
    logger.info("Auto-switch %s of agent %s to %s (%s)", switch.pk, agent.pk,
                decision.recommended_pool_id, decision.model)
    return f"started switch {switch.pk}"


def agents_autoswitch() -> dict:
    """Evaluate every enabled, online agent with auto-switch on."""
    counts: dict = {}
    agents = Agent.objects.filter(
        enabled=True, auto_switch_enabled=True, status=Agent.Status.ONLINE
    )
    for agent in agents.iterator():
        try:
            outcome = agent_autoswitch(agent=agent).split(" ")[0].rstrip(":")
        except Exception:
            logger.exception("Auto-switch of agent %s failed", agent.pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
