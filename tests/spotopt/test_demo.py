"""The demo script's pieces that touch the database."""

import pytest

from agents.models import Agent
from instances.models import Command
from pricing.models import RawPriceReport, SpotPool
from spotagent.sim.world import world_create
from spotopt.demo import auto_switch_enable, prices_seed


@pytest.mark.django_db
def test_prices_are_seeded_with_history_for_every_pool_once():
    world = world_create(types=["m5.large"], azs=["us-east-1a", "us-east-1b"])

    stored = prices_seed(world=world)
    again = prices_seed(world=world)

    assert stored == 2 * 12 + 1
    assert again == 0
    assert SpotPool.objects.filter(latest_price__isnull=False).count() == 2
    assert RawPriceReport.objects.filter(price_type="ondemand").count() == 1


def test_auto_switch_is_turned_on_through_a_config_command(registered):
    auto_switch_enable(agent_ids=[registered.pk])

    agent = Agent.objects.get(pk=registered.pk)
    assert agent.auto_switch_enabled is True
    assert Command.objects.filter(
        agent=agent, command_type=Command.Type.APPLY_CONFIG
    ).exists()
