"""Every agent path of PROTOCOL.md, called by its literal URL with valid
input, in both dialects where two exist; each answer has the promised shape.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from agents.models import Agent
from instances.models import Command, EmergencyEvent, Instance, Replica, Switch
from pricing.models import RawPriceReport
from tests.conftest import REGISTRATION

CONFIG_KEYS = {
    "enabled", "auto_switch_enabled", "auto_terminate_enabled",
    "terminate_wait_seconds", "replica_enabled", "replica_count",
    "manual_replica_enabled", "min_savings_percent", "risk_threshold",
    "max_switches_per_week", "min_pool_duration_hours",
}
COMMAND_KEYS = {
    "id", "request_id", "command_type", "priority", "params", "metadata",
    "created_at", "expires_at",
}
DECISION_KEYS = {
    "instance_id", "recommended_action", "recommended_mode",
    "recommended_pool_id", "expected_savings_per_hour", "risk_score",
    "confidence", "allowed", "reason", "model",
}


def ok_object(response, status: int = 200) -> dict:
    """A 2xx answer must be a non-empty JSON object (agents reject `{}`)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body, dict) and body, body
    return body


def has_offset(value: str) -> bool:
    return datetime.fromisoformat(value).tzinfo is not None


def enable_auto_switch(agent: Agent, **config) -> None:
    Agent.objects.filter(pk=agent.pk).update(auto_switch_enabled=True, **config)


def emergency_replica(persona, agent) -> Command:
    body = ok_object(
        persona.post(f"/api/agents/{agent.pk}/create-emergency-replica", {}), 201
    )
    return Command.objects.get(pk=body["command_id"])


def launched(persona, agent, launch: Command, instance_id: str) -> dict:
    return ok_object(persona.post(
        f"/api/agents/{agent.pk}/instance-launched",
        {
            "instance_id": instance_id,
            "temp_instance_id": launch.params["temp_instance_id"],
            "instance_type": launch.params["instance_type"],
            "az": launch.params["az"],
            "request_id": launch.request_id,
        },
    ))


def switched(persona, agent, pool_id: str, new_instance_id: str) -> Switch:
    """Drive a whole switch saga: issue, launch, launched, promote."""
    enable_auto_switch(agent)
    issued = ok_object(persona.post(
        f"/api/agents/{agent.pk}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": pool_id},
    ), 201)
    launched(persona, agent, Command.objects.get(pk=issued["command_id"]),
             new_instance_id)
    promote = Command.objects.get(
        agent=agent, command_type=Command.Type.PROMOTE_REPLICA_TO_PRIMARY,
        status__in=[Command.Status.PENDING, Command.Status.DELIVERED],
    )
    ok_object(persona.post(
        f"/api/agents/{agent.pk}/commands/{promote.pk}/executed", {"success": True}
    ))
    return Switch.objects.get(pk=issued["switch_id"])


def primary_of(agent: Agent) -> Instance:
    return Instance.objects.get(agent=agent, state=Instance.State.RUNNING_PRIMARY)


# Registration, heartbeat, config


def test_register_returns_agent_client_and_full_config(owner):
    body = ok_object(owner.post("/api/agents/register", REGISTRATION))

    assert body["client_id"] == owner.client.pk
    assert set(body["config"]) == CONFIG_KEYS
    assert "message" not in body
    assert Agent.objects.get(pk=body["agent_id"]).logical_agent_id == "web-1"


def test_a_replacement_instance_registers_as_the_same_agent(owner, registered):
    body = ok_object(owner.post(
        "/api/agents/register", {**REGISTRATION, "instance_id": "i-0replacement"}
    ))

    assert body["agent_id"] == registered.pk


def test_register_without_logical_id_names_the_agent_by_instance(owner):
    minimal = {key: REGISTRATION[key]
               for key in ("instance_id", "instance_type", "region", "az")}

    body = ok_object(owner.post("/api/agents/register", minimal))

    agent = Agent.objects.get(pk=body["agent_id"])
    assert agent.logical_agent_id == "i-0primary"
    assert primary_of(agent).instance_id == "i-0primary"


def test_a_retired_instance_registers_with_everything_off(owner, registered):
    Instance.objects.filter(agent=registered).update(
        state=Instance.State.ZOMBIE, state_reason="kept after switch"
    )

    body = ok_object(owner.post("/api/agents/register", REGISTRATION))

    assert body["config"]["enabled"] is False
    assert body["config"]["auto_switch_enabled"] is False
    assert body["config"]["auto_terminate_enabled"] is False
    assert "zombie" in body["message"]


def test_heartbeat_answers_status_time_config_queue_and_notice(owner, registered):
    body = ok_object(owner.post(
        f"/api/agents/{registered.pk}/heartbeat",
        {
            "status": "online",
            "instance_id": "i-0primary",
            "inventory_snapshot": {"instances": [{"id": "i-0primary"}], "count": 1},
            "health_metrics": {"cpu": 12.5},
            "reconnect": True,
        },
    ))

    assert set(body) >= {
        "status", "server_time", "config", "pending_commands", "notice_status"
    }
    assert has_offset(body["server_time"])
    assert set(body["config"]) == CONFIG_KEYS
    assert body["pending_commands"] == 0
    assert body["notice_status"] == "none"
    registered.refresh_from_db()
    assert registered.last_heartbeat_at is not None


def test_heartbeat_counts_the_commands_waiting(owner, priced):
    emergency_replica(owner, priced)

    body = ok_object(owner.post(f"/api/agents/{priced.pk}/heartbeat", {}))

    assert body["pending_commands"] == 1


def test_config_is_the_protocol_config_object(owner, registered):
    body = ok_object(owner.get(f"/api/agents/{registered.pk}/config"))

    assert set(body) == CONFIG_KEYS
    assert body["enabled"] is True


# The command queue, both dialects


def test_pending_commands_is_a_bare_list_of_command_objects(owner, priced):
    launch = emergency_replica(owner, priced)

    response = owner.get(f"/api/agents/{priced.pk}/pending-commands")

    assert response.status_code == 200
    commands = response.json()
    assert isinstance(commands, list) and len(commands) == 1
    command = commands[0]
    assert set(command) == COMMAND_KEYS
    assert command["id"] == launch.pk
    assert command["request_id"] == launch.request_id
    assert command["command_type"] == "LAUNCH_INSTANCE"
    assert command["metadata"] == command["params"]
    assert command["params"]["temp_instance_id"]
    assert has_offset(command["created_at"]) and has_offset(command["expires_at"])


def test_pending_commands_is_empty_list_when_idle(owner, registered):
    response = owner.get(f"/api/agents/{registered.pk}/pending-commands")

    assert response.status_code == 200
    assert response.json() == []


def test_commands_pending_wraps_the_same_queue_in_an_object(owner, priced):
    launch = emergency_replica(owner, priced)
    Agent.objects.filter(pk=priced.pk).update(terminate_wait_seconds=0)

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/commands/pending"))

    assert [command["id"] for command in body["commands"]] == [launch.pk]
    assert set(body["commands"][0]) == COMMAND_KEYS


def test_commands_pending_keeps_its_object_when_idle(owner, registered):
    body = ok_object(owner.get(f"/api/agents/{registered.pk}/commands/pending"))

    assert body == {"commands": []}


def test_queue_lists_highest_priority_first_then_oldest(owner, priced):
    from agents.services.lifecycle import agent_config_update

    agent_config_update(agent=priced, changes={"replica_count": 1}, cause="test")
    scheduled = Command.objects.get(agent=priced)
    Command.objects.filter(pk=scheduled.pk).update(
        priority=Command.Priority.SCHEDULED,
        created_at=timezone.now() - timedelta(minutes=5),
    )
    emergency = emergency_replica(owner, priced)

    commands = owner.get(f"/api/agents/{priced.pk}/pending-commands").json()

    assert [command["id"] for command in commands] == [emergency.pk, scheduled.pk]


def test_executed_closes_the_command_by_id(owner, priced):
    launch = emergency_replica(owner, priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/commands/{launch.pk}/executed",
        {"success": True, "message": "up", "result": {"instance_id": "i-0spare"}},
    ))

    assert body == {
        "status": "recorded", "command_id": launch.pk,
        "request_id": launch.request_id,
    }
    launch.refresh_from_db()
    assert launch.status == Command.Status.SUCCEEDED
    assert Instance.objects.get(instance_id="i-0spare").state == "running_replica"


def test_executed_accepts_the_command_request_id_in_the_path(owner, priced):
    launch = emergency_replica(owner, priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/commands/{launch.request_id}/executed",
        {"success": False, "message": "InsufficientInstanceCapacity"},
    ))

    assert body["command_id"] == launch.pk
    launch.refresh_from_db()
    assert launch.status == Command.Status.FAILED


def test_action_result_has_the_same_effect_as_executed(owner, priced):
    launch = emergency_replica(owner, priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/action-result",
        {
            "request_id": launch.request_id,
            "result": "SUCCESS",
            "cloud_instance_id": "i-0spare",
            "error_message": None,
            "metadata": {"took_seconds": 40},
        },
    ))

    assert body == {
        "status": "recorded", "command_id": launch.pk,
        "request_id": launch.request_id,
    }
    launch.refresh_from_db()
    assert launch.status == Command.Status.SUCCEEDED
    assert Instance.objects.get(instance_id="i-0spare").state == "running_replica"


def test_action_result_failure_fails_the_command(owner, priced):
    launch = emergency_replica(owner, priced)

    ok_object(owner.post(
        f"/api/agents/{priced.pk}/action-result",
        {"request_id": launch.request_id, "result": "FAILURE",
         "error_message": "no capacity"},
    ))

    launch.refresh_from_db()
    assert launch.status == Command.Status.FAILED
    assert launch.instance.state == Instance.State.TERMINATED


def test_a_second_result_for_a_closed_command_changes_nothing(owner, priced):
    launch = emergency_replica(owner, priced)
    path = f"/api/agents/{priced.pk}/commands/{launch.pk}/executed"
    owner.post(path, {"success": True, "result": {"instance_id": "i-0spare"}})

    body = ok_object(owner.post(path, {"success": False, "message": "late"}))

    assert body["status"] == "already_recorded"
    launch.refresh_from_db()
    assert launch.status == Command.Status.SUCCEEDED


# Pricing reports, both dialects


def test_older_pricing_report_stores_every_pool_and_on_demand(owner, registered):
    report = {
        "instance": {"instance_id": "i-0primary", "instance_type": "m5.large",
                     "region": "us-east-1", "az": "us-east-1a"},
        "pricing": {
            "on_demand_price": 0.096,
            "current_spot_price": 0.04,
            "cheapest_pool": {"pool_id": "m5.large.us-east-1b", "price": 0.03},
            "spot_pools": [
                {"pool_id": "m5.large.us-east-1a", "price": 0.04,
                 "az": "us-east-1a"},
                {"pool_id": "m5.large.us-east-1b", "price": 0.03,
                 "az": "us-east-1b"},
            ],
            "collected_at": "2026-01-05T10:00:00",
        },
    }

    body = ok_object(owner.post(f"/api/agents/{registered.pk}/pricing-report",
                                report))

    assert body["stored"] == 3
    rows = RawPriceReport.objects.filter(agent=registered)
    assert rows.count() == 3
    assert set(rows.values_list("role", flat=True)) == {"primary"}
    assert rows.filter(price_type="ondemand").get().price == Decimal("0.096")


def test_newer_pricing_report_stores_spot_and_on_demand_items(owner, registered):
    report = {
        "timestamp": "2026-01-05T10:00:00Z",
        "pricing_data_array": [
            {"instance_type": "m5.large", "az": "us-east-1a",
             "pool_id": "m5.large.us-east-1a", "spot_price": "0.0400",
             "timestamp": "2026-01-05T10:00:00Z"},
            {"instance_type": "m5.large", "az": "us-east-1c",
             "pool_id": "m5.large.us-east-1c", "spot_price": 0.035},
            {"instance_type": "m5.large", "price_type": "ondemand",
             "price": 0.096, "timestamp": "2026-01-05T10:00:00Z"},
        ],
    }

    body = ok_object(owner.post(f"/api/agents/{registered.pk}/pricing-report",
                                report))

    assert body["stored"] == 3
    rows = RawPriceReport.objects.filter(agent=registered)
    assert sorted(rows.values_list("price_type", flat=True)) == [
        "ondemand", "spot", "spot"
    ]
    assert all(has_offset(row.observed_at.isoformat()) for row in rows)


def test_a_replica_pricing_report_is_stored_with_the_replica_role(owner, registered):
    owner.post("/api/agents/register", {**REGISTRATION, "instance_id": "i-0second"})
    report = {
        "instance": {"instance_id": "i-0second"},
        "pricing": {"spot_pools": [{"pool_id": "m5.large.us-east-1a",
                                    "price": 0.041}]},
    }

    ok_object(owner.post(f"/api/agents/{registered.pk}/pricing-report", report))

    assert RawPriceReport.objects.get(agent=registered).role == "replica"


# Switches


def test_switch_report_records_an_agent_made_switch(owner, registered):
    report = {
        "command_id": None,
        "trigger": "manual",
        "old_instance": {"instance_id": "i-0primary", "instance_type": "m5.large",
                         "region": "us-east-1", "az": "us-east-1a",
                         "mode": "spot", "pool_id": "m5.large.us-east-1a"},
        "new_instance": {"instance_id": "i-0new", "instance_type": "m5.large",
                         "region": "us-east-1", "az": "us-east-1b",
                         "mode": "spot", "pool_id": "m5.large.us-east-1b",
                         "ami_id": "ami-1"},
        "timing": {"initiated_at": "2026-01-05T10:00:00Z",
                   "ami_created_at": "2026-01-05T10:01:00Z",
                   "instance_launched_at": "2026-01-05T10:02:00Z",
                   "instance_ready_at": "2026-01-05T10:03:00Z",
                   "old_terminated_at": "2026-01-05T10:04:00Z"},
        "pricing": {"on_demand": 0.096, "old_spot": 0.04, "new_spot": 0.03},
    }

    body = ok_object(owner.post(f"/api/agents/{registered.pk}/switch-report",
                                report))

    switch = Switch.objects.get(pk=body["switch_id"])
    assert body["status"] == "recorded"
    assert switch.trigger == "manual"
    assert switch.to_pool_id == "m5.large.us-east-1b"
    assert switch.instance_ready_at.minute == 3


def test_switch_report_for_a_server_command_completes_its_switch(owner, priced):
    switch = switched(owner, priced, "m5.large.us-east-1b", "i-0new")
    launch = switch.commands.get(command_type=Command.Type.LAUNCH_INSTANCE)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/switch-report",
        {"command_id": launch.pk,
         "timing": {"ami_created_at": "2026-01-05T10:01:00Z"}},
    ))

    assert body["switch_id"] == switch.pk
    switch.refresh_from_db()
    assert switch.ami_created_at is not None


def test_issue_switch_command_queues_a_launch_in_the_target_pool(owner, priced):
    enable_auto_switch(priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b",
         "reason": "cheaper", "priority": 50},
    ), 201)

    launch = Command.objects.get(pk=body["command_id"])
    assert launch.command_type == Command.Type.LAUNCH_INSTANCE
    assert launch.priority == 50
    assert "spot" in launch.params["target_pool"]
    assert launch.params["az"] == "us-east-1b"
    assert body["request_id"] == launch.request_id


def test_issue_switch_command_to_on_demand_needs_no_pool(owner, priced):
    enable_auto_switch(priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command", {"target_mode": "ondemand"}
    ), 201)

    launch = Command.objects.get(pk=body["command_id"])
    assert launch.params["market"] == "on-demand"
    assert "spot" not in launch.params["target_pool"]


def test_issue_switch_command_is_refused_when_auto_switch_is_off(owner, priced):
    response = owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b"},
    )

    assert response.status_code == 403
    assert set(response.json()) == {"error", "message", "details"}
    assert not Command.objects.filter(agent=priced).exists()


def test_a_second_switch_while_one_runs_is_a_conflict(owner, priced):
    enable_auto_switch(priced)
    path = f"/api/agents/{priced.pk}/issue-switch-command"
    owner.post(path, {"target_pool_id": "m5.large.us-east-1b"})

    response = owner.post(path, {"target_pool_id": "m5.large.us-east-1c"})

    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


def test_a_switch_saga_through_the_api_moves_the_primary(owner, priced):
    switch = switched(owner, priced, "m5.large.us-east-1b", "i-0new")

    switch.refresh_from_db()
    assert switch.status == Switch.Status.COMPLETED
    assert switch.downtime_ms is not None
    assert primary_of(priced).instance_id == "i-0new"
    old = Instance.objects.get(instance_id="i-0primary")
    assert old.state == Instance.State.TERMINATING


# Decisions


def test_decide_answers_a_decision_object(owner, priced):
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/decide",
        {"instance": {"instance_id": "i-0primary"},
         "pricing": {"current_spot_price": 0.04, "on_demand_price": 0.096}},
    ))

    assert set(body) == DECISION_KEYS
    assert body["recommended_action"] == "switch"
    assert body["recommended_pool_id"] == "m5.large.us-east-1b"
    assert body["allowed"] is False
    assert set(body["model"]) == {"name", "version"}


def test_decide_without_overrides_uses_stored_prices(owner, priced):
    body = ok_object(owner.post(f"/api/agents/{priced.pk}/decide", {}))

    assert body["instance_id"] == "i-0primary"
    assert body["expected_savings_per_hour"] == pytest.approx(0.01)


def test_switch_recommendation_adds_pools_and_auto_switch(owner, priced):
    enable_auto_switch(priced)

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/switch-recommendation"))

    assert set(body) == DECISION_KEYS | {
        "auto_switch_enabled", "will_auto_execute", "current_pool",
        "alternative_pools",
    }
    assert body["current_pool"] == "m5.large.us-east-1a"
    assert body["will_auto_execute"] is True
    assert {pool["pool_id"] for pool in body["alternative_pools"]} == {
        "m5.large.us-east-1b", "m5.large.us-east-1c"
    }
    assert set(body["alternative_pools"][0]) == {
        "pool_id", "az", "spot_price", "risk_score"
    }


def test_statistics_counts_decisions_and_switches(owner, priced):
    switched(owner, priced, "m5.large.us-east-1b", "i-0new")
    owner.post(f"/api/agents/{priced.pk}/decide", {})

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/statistics"))

    assert body["switches_executed"] == 1
    assert body["decisions"] >= 1
    assert body["success_rate"] == 1.0
    assert {"average_confidence", "average_downtime_ms", "savings",
            "switches_recommended"} <= set(body)


# Rebalance recommendations, both dialects


@pytest.mark.parametrize(
    "notice",
    [
        {"instance_id": "i-0primary", "detected_at": "2026-01-05T10:00:00Z"},
        {"cloud_instance_id": "i-0primary", "notice_time": "2026-01-05T10:00:00"},
    ],
    ids=["older", "newer"],
)
def test_rebalance_stages_a_replica_in_another_zone(owner, priced, notice):
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/rebalance-recommendation", notice
    ))

    assert body["action"] == "replica_staged"
    assert isinstance(body["risk_score"], float) and body["reason"]
    assert body["target_pool_id"] in {"m5.large.us-east-1b", "m5.large.us-east-1c"}
    replica = Replica.objects.get(agent=priced)
    assert replica.kind == Replica.Kind.REBALANCE
    assert replica.instance.az != "us-east-1a"
    event = EmergencyEvent.objects.get(agent=priced)
    assert event.detected_at.isoformat().startswith("2026-01-05T10:00:00")


def test_rebalance_without_other_pools_only_monitors(owner, registered):
    body = ok_object(owner.post(
        f"/api/agents/{registered.pk}/rebalance-recommendation",
        {"instance_id": "i-0primary"},
    ))

    assert body["action"] == "monitor"
    assert "target_pool_id" not in body


# Termination notices, both dialects, and confirmations


def _notice_paths(agent_id):
    return {
        "imminent": (f"/api/agents/{agent_id}/termination-imminent",
                     {"instance_id": "i-0primary"}),
        "report": (f"/api/agents/{agent_id}/termination-report",
                   {"instance_id": "i-0primary", "notice_type": "TERMINATION"}),
        "report-time": (f"/api/agents/{agent_id}/termination-report",
                        {"instance_id": "i-0primary",
                         "termination_time": "2099-01-01T00:02:00Z"}),
    }


@pytest.mark.parametrize("dialect", ["imminent", "report", "report-time"])
def test_a_termination_notice_launches_a_replacement(owner, priced, dialect):
    path, notice = _notice_paths(priced.pk)[dialect]

    body = ok_object(owner.post(path, notice))

    assert body["action"] == "launch_replica"
    assert has_offset(body["deadline"])
    launch = Command.objects.get(pk=body["command_id"])
    assert launch.priority == Command.Priority.EMERGENCY
    assert launch.command_type == Command.Type.LAUNCH_INSTANCE
    priced.refresh_from_db()
    assert priced.notice_status == "termination"


@pytest.mark.parametrize("dialect", ["imminent", "report"])
def test_a_termination_notice_promotes_a_ready_replica(owner, priced, dialect):
    launched(owner, priced, emergency_replica(owner, priced), "i-0spare")
    path, notice = _notice_paths(priced.pk)[dialect]

    body = ok_object(owner.post(path, notice))

    assert body["action"] == "promote_replica"
    assert body["replica_instance_id"] == "i-0spare"
    promote = Command.objects.get(pk=body["command_id"])
    assert promote.command_type == Command.Type.PROMOTE_REPLICA_TO_PRIMARY
    assert promote.params["old_primary_id"] == "i-0primary"


def test_a_notice_for_an_agent_deleted_since_it_was_seen_is_a_404(owner, priced):
    # The notice path checks ownership from memory, so the agent row may
    # be gone by the time the failover locks it.
    path = f"/api/agents/{priced.pk}/termination-imminent"
    assert owner.get(f"/api/agents/{priced.pk}/commands/pending").status_code == 200
    Agent.objects.filter(pk=priced.pk).delete()

    response = owner.post(path, {"instance_id": "i-0primary"})

    assert response.status_code == 404, response.content
    assert response.json()["error"] == "not_found"


def test_repeated_termination_reports_are_one_event(owner, priced):
    path, notice = _notice_paths(priced.pk)["report"]
    first = ok_object(owner.post(path, notice))

    answers = [ok_object(owner.post(path, notice)) for _ in range(3)]

    assert {answer["action"] for answer in answers} == {"already_handled"}
    assert {answer["command_id"] for answer in answers} == {first["command_id"]}
    event = EmergencyEvent.objects.get(agent=priced)
    assert event.notice_count == 4
    assert Command.objects.filter(agent=priced).count() == 1


def test_a_notice_for_a_replica_leaves_the_primary_serving(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0spare")
    path = f"/api/agents/{priced.pk}/termination-imminent"

    answers = [ok_object(owner.post(path, {"instance_id": "i-0spare"}))
               for _ in range(2)]

    assert [answer["action"] for answer in answers] == ["already_handled"] * 2
    assert primary_of(priced).instance_id == "i-0primary"
    assert Instance.objects.get(instance_id="i-0spare").state == "terminating"
    assert not Command.objects.filter(
        agent=priced, command_type=Command.Type.PROMOTE_REPLICA_TO_PRIMARY
    ).exists()
    assert EmergencyEvent.objects.get(agent=priced).notice_count == 2
    priced.refresh_from_db()
    assert priced.notice_status == "none"


def test_notices_resent_after_the_failover_are_the_same_event(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0spare")
    path, notice = _notice_paths(priced.pk)["report"]
    promote = ok_object(owner.post(path, notice))["command_id"]
    owner.post(f"/api/agents/{priced.pk}/commands/{promote}/executed", {})
    commands = Command.objects.count()

    resent = ok_object(owner.post(path, notice))

    assert resent["action"] == "already_handled"
    assert Command.objects.count() == commands
    assert primary_of(priced).instance_id == "i-0spare"
    assert EmergencyEvent.objects.filter(agent=priced).count() == 1


def test_termination_report_without_notice_confirms_a_termination(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0spare")

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-report",
        {"instance_id": "i-0spare", "success": True,
         "terminated_at": "2026-01-05T10:00:00Z"},
    ))

    assert body == {"status": "terminated", "instance_id": "i-0spare"}
    spare = Instance.objects.get(instance_id="i-0spare")
    assert spare.state == Instance.State.TERMINATED
    assert not EmergencyEvent.objects.filter(agent=priced).exists()


def test_a_failed_termination_report_is_noted_only(owner, priced):
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-report",
        {"instance_id": "i-0primary", "success": False, "error": "denied"},
    ))

    assert body["status"] == "noted"
    assert primary_of(priced).instance_id == "i-0primary"


# Replicas and emergencies


def test_create_emergency_replica_queues_a_launch(owner, priced):
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/create-emergency-replica",
        {"reason": "drill", "preferred_az": "us-east-1c",
         "exclude_azs": ["us-east-1b"]},
    ), 201)

    assert body["pool_id"] == "m5.large.us-east-1c"
    launch = Command.objects.get(pk=body["command_id"])
    assert launch.priority == Command.Priority.EMERGENCY
    assert launch.params["role_hint"] == "replica"


def test_emergency_status_reports_the_notice_and_replica(owner, priced):
    _, notice = _notice_paths(priced.pk)["imminent"]
    owner.post(f"/api/agents/{priced.pk}/termination-imminent", notice)

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/emergency-status"))

    assert set(body) >= {
        "notice_status", "notice_deadline", "seconds_remaining", "replica",
        "last_emergency_event", "emergency_replicas_count",
        "termination_notices_24h",
    }
    assert body["notice_status"] == "termination"
    assert has_offset(body["notice_deadline"])
    assert 100 <= body["seconds_remaining"] <= 120
    assert body["replica"]["state"] == "launching"
    assert body["replica"]["pool"]
    assert "boot_time_seconds" in body["replica"]
    assert body["termination_notices_24h"] == 1
    assert body["emergency_replicas_count"] == 1


def test_emergency_status_when_calm(owner, registered):
    body = ok_object(owner.get(f"/api/agents/{registered.pk}/emergency-status"))

    assert body["notice_status"] == "none"
    assert body["seconds_remaining"] is None
    assert body["replica"] is None


def test_replica_config_lists_current_replicas(owner, priced):
    emergency_replica(owner, priced)

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/replica-config"))

    assert set(body) >= {"enabled", "count", "mode"}
    assert body["mode"] == "automatic"
    assert len(body["replicas"]) == 1


# Launches, terminations, the agent going away


def test_instance_launched_reports_the_launch_duration(owner, priced):
    launch = emergency_replica(owner, priced)

    body = launched(owner, priced, launch, "i-0spare")

    assert body["status"] == "running_replica"
    assert body["launch_duration_seconds"] >= 0


def test_a_repeated_instance_launched_is_harmless(owner, priced):
    launch = emergency_replica(owner, priced)
    launched(owner, priced, launch, "i-0spare")

    body = launched(owner, priced, launch, "i-0spare")

    assert body["status"] == "running_replica"
    assert Instance.objects.filter(instance_id="i-0spare").count() == 1


def test_instances_to_terminate_lists_only_retired_own_instances(owner, priced):
    Agent.objects.filter(pk=priced.pk).update(terminate_wait_seconds=0)
    switched(owner, priced, "m5.large.us-east-1b", "i-0new")

    body = ok_object(owner.get(f"/api/agents/{priced.pk}/instances-to-terminate"))

    assert [item["instance_id"] for item in body["instances"]] == ["i-0primary"]
    assert set(body["instances"][0]) == {
        "instance_id", "instance_type", "az", "reason", "seconds_waiting"
    }
    assert body["auto_terminate_enabled"] is True
    assert body["terminate_wait_seconds"] == 0


def test_instances_to_terminate_is_an_object_when_empty(owner, registered):
    body = ok_object(
        owner.get(f"/api/agents/{registered.pk}/instances-to-terminate")
    )

    assert body["instances"] == []


def test_instance_terminated_reports_the_duration(owner, priced):
    switched(owner, priced, "m5.large.us-east-1b", "i-0new")

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/instance-terminated",
        {"instance_id": "i-0primary", "confirmed_at": timezone.now().isoformat()},
    ))

    assert body["status"] == "terminated"
    assert body["termination_duration_seconds"] >= 0
    old = Instance.objects.get(instance_id="i-0primary")
    assert old.state == Instance.State.TERMINATED


def test_termination_marks_the_agent_instance_gone(owner, registered):
    body = ok_object(owner.post(
        f"/api/agents/{registered.pk}/termination", {"reason": "user deleted it"}
    ))

    assert body == {"status": "recorded", "instance_id": "i-0primary"}
    registered.refresh_from_db()
    assert registered.status == Agent.Status.TERMINATED


def test_shutdown_marks_the_agent_stopped(owner, registered):
    body = ok_object(owner.post(
        f"/api/agents/{registered.pk}/shutdown",
        {"cloud_instance_id": "i-0primary", "timestamp": "2026-01-05T10:00:00Z",
         "metadata": {"signal": "SIGTERM"}},
    ))

    assert body["status"] == "stopped"
    registered.refresh_from_db()
    assert registered.status == Agent.Status.STOPPED


def test_cleanup_report_is_recorded_in_the_audit(owner, registered):
    body = ok_object(owner.post(
        f"/api/agents/{registered.pk}/cleanup-report",
        {"timestamp": "2026-01-05T10:00:00Z",
         "snapshots": {"deleted": 3, "failed": 0, "cutoff_date": "2025-12-01"},
         "amis": {"deleted_amis": 1, "failed": 1}},
    ))

    assert body["status"] == "recorded"
    audit = registered.audit_events.get(event_type="cleanup_report")
    assert audit.details["snapshots"]["deleted"] == 3
