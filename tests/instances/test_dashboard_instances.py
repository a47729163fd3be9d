"""Instance pages: list, detail, and the manual actions with confirmation."""

import pytest

from instances.models import Command, Instance, Replica, Switch
from tests.conftest import REGISTRATION
from tests.instances.test_scenario import execute, launch, only, poll


def _primary(agent) -> Instance:
    return Instance.objects.get(agent=agent, state="running_primary")


def test_the_instance_list_filters_by_state(owner_web, priced):
    response = owner_web.get("/instances/?state=running_primary")

    assert [i.instance_id for i in response.context["page"]] == ["i-0primary"]
    assert owner_web.get("/instances/?state=zombie").context["page"].object_list \
        .count() == 0


def test_the_instance_list_runs_a_fixed_number_of_queries(
    owner, owner_web, registered, django_assert_max_num_queries
):
    for number in range(6):
        owner.post(
            "/api/agents/register",
            REGISTRATION | {"instance_id": f"i-more{number}",
                            "logical_agent_id": f"more-{number}"},
        )

    with django_assert_max_num_queries(10):
        response = owner_web.get("/instances/")

    assert len(response.context["page"]) == 7


def test_the_detail_shows_pools_with_prices_and_a_simulation(owner_web, priced):
    instance = _primary(priced)

    response = owner_web.get(
        f"/instances/{instance.pk}/?target_pool_id=m5.large.us-east-1b"
    )

    assert response.status_code == 200
    pools = {row["pool_id"]: row for row in response.context["options"]}
    assert pools["m5.large.us-east-1b"]["price"] == 0.03
    assert pools["m5.large.us-east-1a"]["current"] is True
    simulation = response.context["simulation"]
    assert simulation["savings_per_hour"] == 0.01
    assert simulation["downtime_measured"] is False
    assert b'aria-label="Spot price of the current pool' in response.content


def test_a_force_switch_needs_the_confirmation_box(owner_web, priced):
    instance = _primary(priced)

    owner_web.post(
        f"/instances/{instance.pk}/force-switch",
        {"target_pool_id": "m5.large.us-east-1b"},
    )

    assert not Switch.objects.exists()


def test_a_confirmed_force_switch_runs_at_manual_priority_to_completion(
    owner, owner_web, priced
):
    instance = _primary(priced)

    response = owner_web.post(
        f"/instances/{instance.pk}/force-switch",
        {"target_pool_id": "m5.large.us-east-1b", "confirm": "on"},
    )

    assert response.status_code == 302
    switch = Switch.objects.get()
    assert (switch.trigger, switch.to_pool_id) == ("manual", "m5.large.us-east-1b")
    command = only(poll(owner, priced.pk), "LAUNCH_INSTANCE")
    assert command["priority"] == Command.Priority.MANUAL
    launch(owner, priced.pk, command, "i-0forced")
    promote = only(poll(owner, priced.pk), "PROMOTE_REPLICA_TO_PRIMARY")
    execute(owner, priced.pk, promote)
    switch.refresh_from_db()
    assert switch.status == Switch.Status.COMPLETED


def test_terminate_needs_confirmation_and_then_queues_the_command(owner_web, priced):
    instance = _primary(priced)

    owner_web.post(f"/instances/{instance.pk}/terminate", {})
    instance.refresh_from_db()
    assert instance.state == "running_primary"

    owner_web.post(f"/instances/{instance.pk}/terminate", {"confirm": "on"})
    instance.refresh_from_db()
    assert instance.state == "terminating"
    assert Command.objects.filter(
        instance=instance, command_type="TERMINATE_INSTANCE", priority=75
    ).exists()


def test_launch_from_the_page_stages_a_manual_replica(owner_web, priced):
    response = owner_web.post(
        f"/instances/launch/{priced.pk}", {"target_pool_id": "m5.large.us-east-1c"}
    )

    replica = Replica.objects.get()
    assert replica.kind == "manual"
    assert replica.instance.pool.pool_id == "m5.large.us-east-1c"
    assert response.url == f"/instances/{replica.instance_id}/"


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/instances/{instance}/"),
        ("post", "/instances/{instance}/force-switch"),
        ("post", "/instances/{instance}/terminate"),
    ],
)
def test_another_clients_instance_pages_answer_404(
    method, path, outsider_web, priced
):
    url = path.format(instance=_primary(priced).pk)

    response = getattr(outsider_web, method)(url, {"confirm": "on"})

    assert response.status_code == 404
    assert _primary(priced).state == "running_primary"
