from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from agents.services.lifecycle import agents_mark_offline
from instances.models import Command
from instances.services.commands import command_enqueue, command_poll
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def later(seconds: int):
    return timezone.now() + timedelta(seconds=seconds)


def test_an_agent_that_missed_its_heartbeats_goes_offline_once(registered):
    assert agents_mark_offline(now=later(121)) == 1
    assert agents_mark_offline(now=later(122)) == 0

    registered.refresh_from_db()
    assert registered.status == Agent.Status.OFFLINE
    assert Notification.objects.filter(kind="agent_offline").count() == 1


def test_an_agent_within_its_grace_period_stays_online(registered):
    assert agents_mark_offline(now=later(60)) == 0

    registered.refresh_from_db()
    assert registered.status == Agent.Status.ONLINE


def test_an_agent_executing_a_command_is_not_marked_offline(registered):
    command_enqueue(agent=registered, command_type=Command.Type.LAUNCH_INSTANCE)
    command_poll(agent_id=registered.pk)

    assert agents_mark_offline(now=later(300)) == 0
    assert agents_mark_offline(now=later(3600)) == 1


def test_a_heartbeat_brings_an_offline_agent_back_online(owner, registered):
    agents_mark_offline(now=later(121))

    owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    registered.refresh_from_db()
    assert registered.status == Agent.Status.ONLINE
    assert Notification.objects.filter(kind="agent_online").exists()


def test_the_sweep_command_reports_what_it_did(registered, capsys):
    from django.core.management import call_command

    Agent.objects.filter(pk=registered.pk).update(
        last_heartbeat_at=later(-130), offline_after=later(-10)
    )

    call_command("sweep_agents")

    assert "1 agents marked offline" in capsys.readouterr().out


def test_a_heartbeat_leaves_the_deadline_and_touches_no_indexed_column(
    owner, registered
):
    deadline = Agent.objects.get(pk=registered.pk).offline_after

    owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    after = Agent.objects.get(pk=registered.pk)
    assert after.offline_after == deadline
    assert after.last_heartbeat_at > deadline - timedelta(seconds=120)


def test_a_passed_deadline_of_an_agent_that_heartbeated_since_is_moved_up(
    registered,
):
    beat = later(-30)
    Agent.objects.filter(pk=registered.pk).update(
        last_heartbeat_at=beat, offline_after=later(-10)
    )

    assert agents_mark_offline() == 0

    registered.refresh_from_db()
    assert registered.status == Agent.Status.ONLINE
    assert registered.offline_after == beat + timedelta(seconds=120)


def test_an_agent_silent_past_the_grace_period_goes_offline_whatever_its_deadline(
    registered,
):
    Agent.objects.filter(pk=registered.pk).update(
        last_heartbeat_at=later(-121), offline_after=later(-1)
    )

    assert agents_mark_offline() == 1
