"""The demo script's pieces that touch the database."""

from types import SimpleNamespace

import pytest

from agents.models import Agent
from instances.models import Command
from pricing.models import RawPriceReport, SpotPool
from spotagent.server import ServerError
from spotagent.sim.world import world_create
from spotopt.demo import Demo, auto_switch_enable, prices_seed


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


class _RecordingApi:
    def __init__(self):
        self.posts = []

    def post(self, path, body):
        self.posts.append((path, body))
        return {"command_id": 1}


def _demo_member(demo, pool_id):
    pool = demo.world.pools[pool_id]
    agent = SimpleNamespace(instance_type=pool.instance_type, az=pool.az, agent_id=7)
    return SimpleNamespace(name="demo-001", agent=agent)


def _pools_by_price(demo, instance_type):
    pools = [p for p in demo.world.pools.values() if p.instance_type == instance_type]
    return sorted(pools, key=demo.world.price)


def test_the_first_demo_agent_starts_in_its_types_dearest_pool():
    demo = Demo(server="http://127.0.0.1:9", token="unused", out=print)

    pools = demo._starting_pools()

    first_type = demo.world.pools[pools[0]].instance_type
    assert pools[0] == _pools_by_price(demo, first_type)[-1].pool_id
    assert sorted(pools) == sorted(demo.world.pools)


def test_the_scripted_switch_goes_to_a_cheaper_pool_or_not_at_all():
    said = []
    demo = Demo(server="http://127.0.0.1:9", token="unused", out=said.append)
    demo.api = _RecordingApi()
    ranked = _pools_by_price(demo, "c5.large")

    demo.switch(_demo_member(demo, ranked[-1].pool_id))
    demo.switch(_demo_member(demo, ranked[0].pool_id))

    [(path, body)] = demo.api.posts
    assert path == "7/issue-switch-command"
    assert body["target_pool_id"] == ranked[0].pool_id
    assert said[-1] == "demo: demo-001 already runs on its cheapest pool"


class _BusyApi:
    def post(self, path, body):
        raise ServerError(409, {"error": "conflict"})


def test_a_scripted_switch_that_auto_switch_beat_is_said_plainly():
    said = []
    demo = Demo(server="http://127.0.0.1:9", token="unused", out=said.append)
    demo.api = _BusyApi()
    dearest = _pools_by_price(demo, "c5.large")[-1]

    demo.switch(_demo_member(demo, dearest.pool_id))

    assert said == ["demo: demo-001 is already switching on its own"]
