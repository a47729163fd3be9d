"""The agent paths of PROTOCOL.md with a valid body each, for tests that run
one rule (tenancy, idempotency) across every path."""

from agents.models import Agent
from instances.models import AuditEvent, Command, Instance
from pricing.models import RawPriceReport

GET_PATHS = [
    "config", "pending-commands", "commands/pending", "emergency-status",
    "replica-config", "instances-to-terminate", "switch-recommendation",
    "statistics",
]
POST_PATHS = [
    "heartbeat", "commands/{command}/executed", "action-result",
    "pricing-report", "switch-report", "rebalance-recommendation",
    "termination-imminent", "termination-report", "create-emergency-replica",
    "instance-launched", "instance-terminated", "termination", "shutdown",
    "cleanup-report", "decide", "issue-switch-command",
]
# Valid for the owner of the `launch` fixture's agent; {placeholders} are
# that launch command's ids.
POST_BODIES = {
    "heartbeat": {"status": "online"},
    "commands/{command}/executed": {"success": True},
    "action-result": {"request_id": "{request_id}", "result": "SUCCESS"},
    "pricing-report": {"pricing_data_array": [
        {"instance_type": "m5.large", "az": "us-east-1a", "spot_price": 0.01}
    ]},
    "switch-report": {"trigger": "manual"},
    "rebalance-recommendation": {"instance_id": "i-0primary"},
    "termination-imminent": {"instance_id": "i-0primary"},
    "termination-report": {"instance_id": "i-0primary",
                           "notice_type": "TERMINATION"},
    "create-emergency-replica": {},
    "instance-launched": {"instance_id": "i-0spare",
                          "temp_instance_id": "{temp_instance_id}"},
    "instance-terminated": {"instance_id": "i-0primary"},
    "termination": {"reason": "gone"},
    "shutdown": {"cloud_instance_id": "i-0primary"},
    "cleanup-report": {},
    "decide": {},
    "issue-switch-command": {"target_pool_id": "m5.large.us-east-1b"},
}


def launch_queue(persona, agent: Agent) -> Command:
    """Turn auto-switch on and queue one launch (an emergency replica)."""
    Agent.objects.filter(pk=agent.pk).update(auto_switch_enabled=True)
    response = persona.post(f"/api/agents/{agent.pk}/create-emergency-replica", {})
    assert response.status_code == 201, response.content
    return Command.objects.get(pk=response.json()["command_id"])


def fill(template, launch: Command):
    """Put the launch command's ids into a path or a body template."""
    values = {
        "command": launch.pk,
        "request_id": launch.request_id,
        "temp_instance_id": launch.params["temp_instance_id"],
    }
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, launch) for key, value in template.items()}
    return template


def effects() -> tuple:
    """Everything an accepted agent request could change."""
    return (
        AuditEvent.objects.count(),
        RawPriceReport.objects.count(),
        list(Instance.objects.order_by("pk").values_list("state", "version")),
        list(Command.objects.order_by("pk").values_list(
            "status", "priority", "delivered_at")),
        list(Agent.objects.order_by("pk").values_list(
            "status", "notice_status", "last_heartbeat_at")),
    )
