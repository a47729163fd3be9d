"""Simulated agents (the real agent code) against the live server."""

import time

import pytest
from django.core.management import call_command

from agents.models import Agent
from instances.models import EmergencyEvent, Instance
from spotagent.sim.fleet import Fleet
from spotagent.sim.world import world_create
from tests.spotagent.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _fleet(live_server, owner, **world_options) -> Fleet:
    world = world_create(
        speed=60, hazard_per_hour=0, boot_median_seconds=30, **world_options
    )
    return Fleet(world=world, server=live_server.url, token=owner.token)


def test_a_fleet_registers_and_fails_over_an_interrupted_agent(live_server, owner):
    fleet = _fleet(live_server, owner)
    fleet.start(3)
    try:
        assert fleet.wait_registered(timeout=20)
        member = fleet.members[0]
        wait_for(lambda: fleet.stats.counts["prices_reported"] >= 3)
        victim = member.agent.instance_id
        fleet.world.interrupt(
            victim, at=time.monotonic() + 2, rebalance_lead_seconds=120
        )
        wait_for(lambda: member.agent.instance_id != victim, timeout=30)
    finally:
        fleet.stop()

    row = Agent.objects.get(logical_agent_id=member.name)
    termination = EmergencyEvent.objects.get(agent=row, kind="termination")
    assert termination.status == "resolved"
    assert Instance.objects.get(
        agent=row, state=Instance.State.RUNNING_PRIMARY
    ).instance_id == member.agent.instance_id
    assert fleet.stats.counts["promoted"] == 1
    assert fleet.stats.summary()["notice_to_promoted_s"]["max"] < 20
    assert Agent.objects.filter(client=owner.client).count() == 3


def test_simulate_fleet_runs_for_its_duration_and_prints_a_summary(
    live_server, owner, capsys
):
    call_command(
        "simulate_fleet", server=live_server.url, token=owner.token,
        agents=2, speed=60, duration=3, prefix="cmd",
    )

    output = capsys.readouterr().out
    assert '"registered": 2' in output
    assert Agent.objects.filter(logical_agent_id__startswith="cmd-").count() == 2


def test_simulate_fleet_refuses_a_fleet_of_no_agents(live_server, owner):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--agents"):
        call_command(
            "simulate_fleet", server=live_server.url, token=owner.token, agents=0
        )
