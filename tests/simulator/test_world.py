"""The simulated cloud: boot delays, replayed prices, the hazard model."""

import time
from datetime import timedelta

from spotagent.sim.prices import GeneratedPrices, ReplayedPrices
from spotagent.sim.world import SimWorld, world_create

PRICE_CSV = (
    "timestamp_utc,region,availability_zone,instance_type,"
    "product_description,spot_price_usd\n"
    "2021-03-02T00:00:00Z,us-east-1,us-east-1a,m5.large,Linux/UNIX,0.0400\n"
    "2021-03-02T00:00:00Z,us-east-1,us-east-1a,m5.large,Windows,0.1300\n"
    "2021-03-02T06:00:00Z,us-east-1,us-east-1a,m5.large,Linux/UNIX,0.0420\n"
    "2021-03-02T00:00:00Z,us-east-1,us-east-1b,m5.large,Linux/UNIX,0.0380\n"
)


def test_replayed_prices_hold_until_the_pool_s_next_change(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text(PRICE_CSV)
    prices = ReplayedPrices(str(path))

    assert prices.pools == [("m5.large", "us-east-1a"), ("m5.large", "us-east-1b")]
    assert prices.price("m5.large", "us-east-1a", timedelta(hours=5)) == 0.04
    assert prices.price("m5.large", "us-east-1a", timedelta(hours=7)) == 0.042
    assert prices.price("c5.large", "us-east-1a", timedelta(hours=7)) is None


def test_generated_prices_are_repeatable_and_below_on_demand():
    first = GeneratedPrices(ondemand={"m5.large": 0.096}, azs=["us-east-1a"])
    second = GeneratedPrices(ondemand={"m5.large": 0.096}, azs=["us-east-1a"])

    day = [first.price("m5.large", "us-east-1a", timedelta(hours=h))
           for h in range(24)]

    assert day == [second.price("m5.large", "us-east-1a", timedelta(hours=h))
                   for h in range(24)]
    assert all(0 < price < 0.096 for price in day)
    assert len(set(day)) > 1


def test_a_launch_runs_only_after_its_boot_time_scaled_by_speed():
    world = world_create(speed=100, hazard_per_hour=0, boot_median_seconds=50)
    cloud = world.cloud()

    instance_id = cloud.instance_launch(
        instance_type="m5.large", az="us-east-1b", market="spot"
    )
    state_at_launch = world.instances[instance_id].state(time.monotonic())
    cloud.instance_wait_running(instance_id, timeout=5)

    assert state_at_launch == "pending"
    assert world.instances[instance_id].state(time.monotonic()) == "running"


def test_an_interruption_comes_as_recommendation_then_notice_then_the_end():
    world = world_create(speed=600, hazard_per_hour=0)
    instance = world.instance_start(pool_id="m5.large.us-east-1a", ready=True)
    now = time.monotonic()

    world.interrupt(instance.instance_id, at=now + 0.5, rebalance_lead_seconds=600)

    assert [n.kind for n in world.notices(instance.instance_id)] == ["rebalance"]
    time.sleep(0.55)
    kinds = sorted(n.kind for n in world.notices(instance.instance_id))
    assert kinds == ["rebalance", "termination"]
    time.sleep(120 / 600)
    assert instance.state(time.monotonic()) == "terminated"
    assert world.notices(instance.instance_id) == []


def test_interruption_rates_follow_the_pool_hazard():
    world = SimWorld(
        prices=GeneratedPrices(ondemand={"m5.large": 0.1}, azs=["us-east-1a"]),
        ondemand={"m5.large": 0.1}, speed=3600, hazard_per_hour=1.0, seed=3,
    )
    instances = [
        world.instance_start(pool_id="m5.large.us-east-1a", ready=True)
        for _ in range(400)
    ]

    within_an_hour = sum(
        1 for i in instances if i.notice_at - i.ready_at <= 1.0
    )

    # P(T <= 1 h) = 1 - e^-1 = 0.63 at one interruption per hour.
    assert 0.55 < within_an_hour / len(instances) < 0.71


def test_spot_advisor_bands_set_the_default_hazard():
    calm = world_create(types=["m5.large"], azs=["us-east-1a"])
    pool = calm.pools["m5.large.us-east-1a"]

    assert 0.0001 < pool.hazard_per_hour < 0.001
