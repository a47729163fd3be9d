"""The failover's reads written by hand load what the ORM loads: every
field, converted alike (aware datetimes, decimals, JSON), on both
databases."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from agents.models import Agent
from instances.models import Instance, Replica
from instances.selectors import instance_find, pools_acceptable, takeover_candidates
from instances.services.switching import agent_lock
from pricing.models import SpotPool
from tests.agents.test_agent_api_paths import emergency_replica, launched

pytestmark = pytest.mark.django_db


def fields_of(row) -> dict:
    return {
        field.attname: getattr(row, field.attname)
        for field in type(row)._meta.concrete_fields
    }


def test_the_agent_lock_loads_the_agent_as_the_orm_does(priced):
    Agent.objects.filter(pk=priced.pk).update(
        risk_threshold=0.45, notice_deadline=priced.last_heartbeat_at
    )

    with transaction.atomic():
        locked = agent_lock(priced.pk)

    assert fields_of(locked) == fields_of(Agent.objects.get(pk=priced.pk))
    assert locked.notice_deadline.tzinfo is not None


def test_the_agent_lock_of_no_agent_raises_does_not_exist(db):
    with transaction.atomic(), pytest.raises(Agent.DoesNotExist):
        agent_lock(10**9)


@pytest.mark.django_db(transaction=True)
def test_the_agent_lock_refuses_to_run_outside_a_transaction(priced):
    with pytest.raises(TransactionManagementError):
        agent_lock(priced.pk)


def test_instance_find_takes_the_newest_instance_with_that_id(priced):
    primary = Instance.objects.get(agent=priced, instance_id="i-0primary")
    earlier = Instance.objects.create(
        agent=priced, client_id=priced.client_id, instance_id="i-0primary",
        temp_instance_id="tmp-earlier", instance_type="m5.large",
        region="us-east-1", az="us-east-1a", state=Instance.State.TERMINATED,
        created_at=primary.created_at - timedelta(hours=1),
    )

    found = instance_find(agent_id=priced.pk, instance_id="i-0primary")
    assert fields_of(found) == fields_of(primary)

    Instance.objects.filter(pk=earlier.pk).update(
        created_at=primary.created_at + timedelta(hours=1)
    )
    assert instance_find(agent_id=priced.pk, instance_id="i-0primary") == earlier


def test_instance_find_finds_nothing_for_no_id_or_another_agents(
    owner, priced, outsider
):
    assert instance_find(agent_id=priced.pk, instance_id="") is None
    assert instance_find(agent_id=priced.pk, instance_id="i-0nobody") is None
    other = outsider.post("/api/agents/register", {
        "logical_agent_id": "other", "instance_id": "i-0other",
        "instance_type": "m5.large", "region": "us-east-1", "az": "us-east-1a",
    })
    assert other.status_code == 200, other.content
    assert instance_find(agent_id=priced.pk, instance_id="i-0other") is None


def test_what_could_take_over_loads_replicas_and_instances_whole(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0ready")
    emergency_replica(owner, priced)

    ready, launching, _ = takeover_candidates(agent_id=priced.pk)

    for replica in (ready, launching):
        assert fields_of(replica) == fields_of(Replica.objects.get(pk=replica.pk))
        assert fields_of(replica.instance) == fields_of(
            Instance.objects.get(pk=replica.instance_id)
        )
    assert ready.instance.ondemand_price is not None
    assert ready.ready_at.tzinfo is not None


def test_acceptable_pools_load_as_the_orm_does(priced):
    SpotPool.objects.filter(pool_id="m5.large.us-east-1a").update(
        avg_boot_seconds=42.5
    )
    pools = pools_acceptable(agent=priced)

    assert len(pools) == 3
    for pool in pools:
        assert fields_of(pool) == fields_of(SpotPool.objects.get(pk=pool.pk))
        assert pool.latest_price_at.tzinfo is not None


def test_acceptable_pools_leave_out_the_pools_and_zones_asked(priced):
    excluded = SpotPool.objects.get(pool_id="m5.large.us-east-1a")

    pools = pools_acceptable(
        agent=priced, exclude_pool_ids=[excluded.pk], exclude_azs=["us-east-1c"]
    )

    assert [pool.pool_id for pool in pools] == ["m5.large.us-east-1b"]
