"""The client API about instances: lists, analytics and manual actions."""

from datetime import timedelta

from django.utils import timezone

from instances.models import Command, Instance, Replica, Switch
from pricing.models import ConsolidatedPrice, SpotPool
from tests.conftest import REGISTRATION
from tests.instances.test_scenario import execute, launch, only, poll


def _primary(agent) -> Instance:
    return Instance.objects.get(agent=agent, state="running_primary")


def test_the_instance_list_filters_orders_and_counts_queries(
    owner, registered, django_assert_max_num_queries
):
    for number in range(5):
        owner.post(
            "/api/agents/register",
            REGISTRATION | {"instance_id": f"i-n{number}",
                            "logical_agent_id": f"n-{number}"},
        )

    with django_assert_max_num_queries(4):
        body = owner.get(
            f"/api/client/{owner.client.pk}/instances?state=running_primary"
            "&ordering=-created_at&limit=3"
        ).json()

    assert body["count"] == 6
    assert [row["instance_id"] for row in body["results"]] == [
        "i-n4", "i-n3", "i-n2"
    ]
    assert body["results"][0]["logical_agent_id"] == "n-4"


def test_the_replica_list_shows_manual_replicas(
    owner, priced, django_assert_max_num_queries
):
    owner.post(
        "/api/client/instances/launch",
        {"agent_id": priced.pk, "target_pool_id": "m5.large.us-east-1c"},
    )

    with django_assert_max_num_queries(4):
        body = owner.get(f"/api/client/{owner.client.pk}/replicas").json()

    assert body["results"][0]["kind"] == "manual"
    assert body["results"][0]["instance"]["pool_id"] == "m5.large.us-east-1c"


def test_pricing_and_options_list_the_pools_cheapest_first(owner, priced):
    path = f"/api/client/instances/{_primary(priced).pk}"

    pricing = owner.get(f"{path}/pricing").json()
    options = owner.get(f"{path}/available-options").json()

    assert pricing["current"]["pool_id"] == "m5.large.us-east-1a"
    assert [p["pool_id"] for p in pricing["pools"]][0] == "m5.large.us-east-1b"
    assert pricing["pools"][0]["risk"] == "low"
    assert "m5.large.us-east-1a" not in [p["pool_id"] for p in options["options"]]


def test_price_history_reads_the_consolidated_tier(owner, priced):
    pool = SpotPool.objects.get(pool_id="m5.large.us-east-1a")
    now = timezone.now().replace(second=0, microsecond=0)
    for minutes, price in ((10, "0.041"), (5, "0.043")):
        ConsolidatedPrice.objects.create(
            pool=pool, bucket=now - timedelta(minutes=minutes), price=price,
            origin="agent",
        )

    body = owner.get(
        f"/api/client/instances/{_primary(priced).pk}/price-history?hours=2"
    ).json()
    volatility = owner.get(
        f"/api/client/instances/{_primary(priced).pk}/pool-volatility"
    ).json()

    assert [point["price"] for point in body["points"]] == [0.041, 0.043]
    by_pool = {row["pool_id"]: row for row in volatility["pools"]}
    assert by_pool["m5.large.us-east-1a"]["volatility"] == round(0.002 / 0.042, 4)
    assert by_pool["m5.large.us-east-1b"]["points"] == 0


def test_price_history_falls_back_to_raw_reports(owner, priced):
    body = owner.get("/api/client/pricing-history?pool_id=m5.large.us-east-1b").json()

    assert [point["price"] for point in body["points"]] == [0.03]


def test_a_bad_hours_value_is_a_400(owner, priced):
    path = f"/api/client/instances/{_primary(priced).pk}/price-history?hours=x"

    assert owner.get(path).status_code == 400


def test_simulate_uses_latest_prices_and_measured_downtime(owner, priced):
    Switch.objects.create(
        agent=priced, client=owner.client, trigger="manual", status="completed",
        downtime_ms=4200,
    )

    body = owner.post(
        f"/api/client/instances/{_primary(priced).pk}/simulate-switch",
        {"target_pool_id": "m5.large.us-east-1b"},
    ).json()

    assert body["current_price"] == 0.04
    assert body["target_price"] == 0.03
    assert body["savings_per_hour"] == 0.01
    assert body["savings_percent"] == 25.0
    assert (body["expected_downtime_ms"], body["downtime_measured"]) == (4200, True)
    assert not Command.objects.filter(command_type="LAUNCH_INSTANCE").exists()


def test_simulate_to_an_unknown_pool_is_a_400(owner, priced):
    response = owner.post(
        f"/api/client/instances/{_primary(priced).pk}/simulate-switch",
        {"target_pool_id": "z9.huge.mars-1a"},
    )

    assert response.status_code == 400


def test_force_switch_starts_a_manual_switch_once_per_request_id(owner, priced):
    path = f"/api/client/instances/{_primary(priced).pk}/force-switch"
    body = {"target_pool_id": "m5.large.us-east-1b"}

    first = owner.post(path, body, **{"X-Request-ID": "force-1"})
    again = owner.post(path, body, **{"X-Request-ID": "force-1"})
    other = owner.post(path, body)

    assert first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    command = only(poll(owner, priced.pk), "LAUNCH_INSTANCE")
    assert command["priority"] == 75
    launch(owner, priced.pk, command, "i-0viaapi")
    promote = only(poll(owner, priced.pk), "PROMOTE_REPLICA_TO_PRIMARY")
    execute(owner, priced.pk, promote)
    assert Switch.objects.get().status == "completed"


def test_force_switch_to_the_current_pool_is_a_conflict(owner, priced):
    response = owner.post(
        f"/api/client/instances/{_primary(priced).pk}/force-switch",
        {"target_pool_id": "m5.large.us-east-1a"},
    )

    assert response.status_code == 409


def test_terminate_queues_the_command_and_refuses_a_second_time(owner, priced):
    path = f"/api/client/instances/{_primary(priced).pk}/terminate"

    first = owner.post(path)
    second = owner.post(path)

    assert first.json()["status"] == "terminating"
    assert second.status_code == 409


def test_launch_stages_a_replica_in_the_named_pool(owner, priced):
    response = owner.post(
        "/api/client/instances/launch",
        {"agent_id": priced.pk, "target_pool_id": "ondemand"},
    )

    assert response.status_code == 201
    replica = Replica.objects.get(pk=response.json()["replica_id"])
    assert replica.instance.mode == "ondemand"


def test_metrics_and_logs_describe_the_instance(
    owner, priced, django_assert_max_num_queries
):
    path = f"/api/client/instances/{_primary(priced).pk}"

    metrics = owner.get(f"{path}/metrics").json()
    with django_assert_max_num_queries(5):
        logs = owner.get(f"{path}/logs").json()

    assert metrics["state"] == "running_primary"
    assert logs["count"] == metrics["audit_events"] >= 1
