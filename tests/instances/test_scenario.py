"""One agent's life, driven through the agent API by literal paths:
register, heartbeat, prices, a switch, a rebalance recommendation whose
replica retires, and a termination notice resent ten times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from instances.models import (
    AuditEvent,
    Command,
    EmergencyEvent,
    Instance,
    Replica,
    Switch,
)
from instances.services.rebalances import replicas_retire_expired
from tests.conftest import DEFAULT_POOLS, price_report

pytestmark = pytest.mark.django_db


def poll(owner, agent_id) -> list[dict]:
    response = owner.get(f"/api/agents/{agent_id}/commands/pending")
    assert response.status_code == 200
    return response.json()["commands"]


def only(commands, command_type) -> dict:
    matching = [c for c in commands if c["command_type"] == command_type]
    assert len(matching) == 1, commands
    return matching[0]


def execute(owner, agent_id, command, **result):
    response = owner.post(
        f"/api/agents/{agent_id}/commands/{command['id']}/executed",
        {"success": True, "result": result},
    )
    assert response.status_code == 200, response.content
    return response.json()


def launch(owner, agent_id, command, instance_id):
    params = command["params"]
    response = owner.post(
        f"/api/agents/{agent_id}/instance-launched",
        {
            "instance_id": instance_id,
            "temp_instance_id": params["temp_instance_id"],
            "instance_type": params["instance_type"],
            "az": params["az"],
            "request_id": command["request_id"],
        },
    )
    assert response.status_code == 200, response.content
    return response.json()


def primaries(agent_id) -> list[str]:
    return list(
        Instance.objects.filter(
            agent_id=agent_id, state=Instance.State.RUNNING_PRIMARY
        ).values_list("instance_id", flat=True)
    )


def test_an_agent_switches_stages_a_replica_and_fails_over(owner, registered):
    agent_id = registered.pk
    Agent.objects.filter(pk=agent_id).update(
        auto_switch_enabled=True, terminate_wait_seconds=0
    )

    # Heartbeat and prices.
    heartbeat = owner.post(f"/api/agents/{agent_id}/heartbeat", {"status": "online"})
    assert heartbeat.json()["notice_status"] == "none"
    stored = owner.post(
        f"/api/agents/{agent_id}/pricing-report", price_report(*DEFAULT_POOLS)
    )
    assert stored.json()["stored"] == 4

    # The baseline recommends the cheapest pool; the agent asks for it.
    recommendation = owner.get(f"/api/agents/{agent_id}/switch-recommendation").json()
    assert recommendation["recommended_action"] == "switch"
    assert recommendation["recommended_pool_id"] == "m5.large.us-east-1b"
    issued = owner.post(
        f"/api/agents/{agent_id}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b"},
    )
    assert issued.status_code == 201, issued.content

    # Launch, launched, promote: the new instance becomes the only primary.
    launch_command = only(poll(owner, agent_id), "LAUNCH_INSTANCE")
    assert "spot" in launch_command["params"]["target_pool"]
    launched = launch(owner, agent_id, launch_command, "i-0second")
    assert launched["launch_duration_seconds"] is not None
    promote = only(poll(owner, agent_id), "PROMOTE_REPLICA_TO_PRIMARY")
    assert promote["params"]["old_primary_id"] == "i-0primary"
    execute(owner, agent_id, promote)
    assert primaries(agent_id) == ["i-0second"]
    switch = Switch.objects.get(agent_id=agent_id)
    assert switch.status == Switch.Status.COMPLETED
    assert switch.downtime_ms is not None
    assert switch.to_pool_id == "m5.large.us-east-1b"

    # With terminate_wait_seconds 0 the old instance waits as a zombie.
    to_terminate = owner.get(f"/api/agents/{agent_id}/instances-to-terminate").json()
    assert [i["instance_id"] for i in to_terminate["instances"]] == ["i-0primary"]
    terminated = owner.post(
        f"/api/agents/{agent_id}/instance-terminated", {"instance_id": "i-0primary"}
    )
    assert terminated.json()["status"] == "terminated"
    switch.refresh_from_db()
    assert switch.old_terminated_at is not None

    # A rebalance recommendation stages a replica in another zone.
    answer = owner.post(
        f"/api/agents/{agent_id}/rebalance-recommendation",
        {"instance_id": "i-0second", "detected_at": timezone.now().isoformat()},
    ).json()
    assert answer["action"] == "replica_staged"
    assert not answer["target_pool_id"].endswith("us-east-1b")
    replica_launch = only(poll(owner, agent_id), "LAUNCH_INSTANCE")
    assert replica_launch["params"]["role_hint"] == "replica"
    launch(owner, agent_id, replica_launch, "i-0replica")
    replica = Replica.objects.get(instance__instance_id="i-0replica")
    assert replica.status == Replica.Status.READY
    assert primaries(agent_id) == ["i-0second"]

    # No notice follows: after its TTL the replica is retired.
    assert replicas_retire_expired(now=replica.expires_at + timedelta(seconds=1)) == 1
    replica.refresh_from_db()
    assert replica.status == Replica.Status.RETIRED
    rebalance = EmergencyEvent.objects.get(kind="rebalance")
    assert rebalance.became_interruption is False
    retire = only(poll(owner, agent_id), "TERMINATE_INSTANCE")
    assert retire["params"]["instance_id"] == "i-0replica"
    execute(owner, agent_id, retire)
    assert Instance.objects.get(instance_id="i-0replica").state == "terminated"

    # A second recommendation stages a fresh replica, then the notice comes
    # and is resent ten times: one failover, the ready replica promoted.
    owner.post(
        f"/api/agents/{agent_id}/rebalance-recommendation",
        {"cloud_instance_id": "i-0second"},
    )
    launch(owner, agent_id, only(poll(owner, agent_id), "LAUNCH_INSTANCE"), "i-0warm")
    deadline = timezone.now() + timedelta(seconds=120)
    answers = [
        owner.post(
            f"/api/agents/{agent_id}/termination-report",
            {"instance_id": "i-0second", "notice_type": "TERMINATION",
             "termination_time": deadline.isoformat()},
        ).json()
        for _ in range(10)
    ]
    assert answers[0]["action"] == "promote_replica"
    assert answers[0]["replica_instance_id"] == "i-0warm"
    assert {a["action"] for a in answers[1:]} == {"already_handled"}
    notice = EmergencyEvent.objects.get(kind="termination")
    assert notice.notice_count == 10
    status = owner.get(f"/api/agents/{agent_id}/emergency-status").json()
    assert status["notice_status"] == "termination"
    assert 0 < status["seconds_remaining"] <= 120

    emergency_promote = only(poll(owner, agent_id), "PROMOTE_REPLICA_TO_PRIMARY")
    assert emergency_promote["priority"] == Command.Priority.EMERGENCY
    execute(owner, agent_id, emergency_promote)
    assert primaries(agent_id) == ["i-0warm"]
    notice.refresh_from_db()
    assert notice.status == EmergencyEvent.Status.RESOLVED
    assert EmergencyEvent.objects.get(
        kind="rebalance", status="resolved", became_interruption=True
    )
    assert owner.get(f"/api/agents/{agent_id}/emergency-status").json()[
        "notice_status"
    ] == "none"

    # The instance AWS took reports itself gone; the agent stays online.
    owner.post(f"/api/agents/{agent_id}/termination", {"reason": "spot interruption"})
    assert Instance.objects.get(instance_id="i-0second").state == "terminated"
    assert primaries(agent_id) == ["i-0warm"]

    # Boot times were measured per pool, and every state change was audited.
    launched_instances = Instance.objects.filter(
        agent_id=agent_id, boot_seconds__isnull=False
    )
    assert launched_instances.count() == 3
    assert launched_instances.first().pool.boot_samples >= 1
    transitions = AuditEvent.objects.filter(
        agent_id=agent_id, event_type="instance_state"
    )
    for instance in Instance.objects.filter(agent_id=agent_id):
        states = list(
            transitions.filter(instance=instance)
            .order_by("created_at", "id")
            .values_list("state_after", flat=True)
        )
        assert states and states[-1] == instance.state, (instance, states)


def test_a_notice_without_a_replica_launches_in_the_fastest_pool(owner, priced):
    agent_id = priced.pk
    from pricing.models import SpotPool

    SpotPool.objects.filter(pool_id="m5.large.us-east-1c").update(
        avg_boot_seconds=20, boot_samples=3
    )
    SpotPool.objects.filter(pool_id="m5.large.us-east-1b").update(
        avg_boot_seconds=60, boot_samples=3
    )

    answer = owner.post(
        f"/api/agents/{agent_id}/termination-imminent", {"instance_id": "i-0primary"}
    ).json()

    assert answer["action"] == "launch_replica"
    command = only(poll(owner, agent_id), "LAUNCH_INSTANCE")
    assert command["id"] == answer["command_id"]
    assert command["priority"] == Command.Priority.EMERGENCY
    assert command["params"]["az"] == "us-east-1c"

    launch(owner, agent_id, command, "i-0rescue")
    promote = only(poll(owner, agent_id), "PROMOTE_REPLICA_TO_PRIMARY")
    assert promote["priority"] == Command.Priority.EMERGENCY
    execute(owner, agent_id, promote)
    assert primaries(agent_id) == ["i-0rescue"]


def test_a_launch_never_confirmed_ends_terminated_when_its_command_expires(
    owner, priced
):
    from instances.services.sweeps import commands_expire

    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)
    owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_pool_id": "m5.large.us-east-1b"},
    )
    command = Command.objects.get(command_type="LAUNCH_INSTANCE")

    assert commands_expire(now=command.expires_at + timedelta(seconds=1)) == 1

    command.refresh_from_db()
    assert command.status == Command.Status.EXPIRED
    assert command.instance.state == Instance.State.TERMINATED
    assert "expired" in command.instance.state_reason
    assert Switch.objects.get().status == Switch.Status.FAILED
    assert primaries(priced.pk) == ["i-0primary"]


def test_a_failed_promotion_terminates_the_new_instance_and_keeps_the_old(
    owner, priced
):
    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)
    owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_pool_id": "m5.large.us-east-1b"},
    )
    launch(owner, priced.pk, only(poll(owner, priced.pk), "LAUNCH_INSTANCE"), "i-new")
    promote = only(poll(owner, priced.pk), "PROMOTE_REPLICA_TO_PRIMARY")

    owner.post(
        f"/api/agents/{priced.pk}/action-result",
        {"request_id": promote["request_id"], "result": "FAILURE",
         "error_message": "health check failed"},
    )

    assert primaries(priced.pk) == ["i-0primary"]
    assert Switch.objects.get().status == Switch.Status.FAILED
    terminate = only(poll(owner, priced.pk), "TERMINATE_INSTANCE")
    assert terminate["params"]["instance_id"] == "i-new"
