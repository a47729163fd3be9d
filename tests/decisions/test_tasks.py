"""The auto-switch task is scheduled and runs the service."""

from agents.models import Agent
from decisions.tasks import agents_autoswitch_task
from instances.models import Switch
from spotopt.schedule import DEFAULT_SCHEDULE


def test_auto_switch_runs_every_fifteen_minutes():
    intervals = {entry.task: entry.every_seconds for entry in DEFAULT_SCHEDULE}

    assert intervals["decisions.agents_autoswitch"] == 15 * 60


def test_the_task_starts_the_switches_of_auto_switch_agents(priced):
    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)

    counts = agents_autoswitch_task.apply().get()

    assert counts == {"started": 1}
    assert Switch.objects.filter(agent=priced, trigger="model").count() == 1
