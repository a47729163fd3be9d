import pytest

from agents.models import Agent
from instances.models import Instance, Replica
from instances.services.replicas import replicas_reconcile, replicas_reconcile_all

pytestmark = pytest.mark.django_db


def test_manual_replicas_are_launched_up_to_the_configured_count(priced):
    Agent.objects.filter(pk=priced.pk).update(
        manual_replica_enabled=True, replica_count=2
    )

    assert replicas_reconcile(agent_id=priced.pk) == 2
    assert replicas_reconcile(agent_id=priced.pk) == 0

    replicas = Replica.objects.filter(agent=priced, kind="manual")
    assert replicas.count() == 2
    assert {r.instance.az for r in replicas} == {"us-east-1b"}


def test_manual_replicas_no_longer_wanted_are_retired(owner, priced):
    Agent.objects.filter(pk=priced.pk).update(
        manual_replica_enabled=True, replica_count=1
    )
    replicas_reconcile(agent_id=priced.pk)
    launch = priced.commands.get(command_type="LAUNCH_INSTANCE")
    owner.post(
        f"/api/agents/{priced.pk}/instance-launched",
        {"instance_id": "i-manual", "request_id": launch.request_id},
    )
    Agent.objects.filter(pk=priced.pk).update(manual_replica_enabled=False)

    assert replicas_reconcile_all() == 1

    replica = Replica.objects.get(instance__instance_id="i-manual")
    assert replica.status == Replica.Status.RETIRED
    assert replica.instance.state == Instance.State.TERMINATING
    assert Instance.objects.get(instance_id="i-0primary").state == "running_primary"


def test_a_terminated_instance_seen_running_becomes_a_zombie(owner, registered):
    Instance.objects.filter(instance_id="i-0primary").update(state="terminated")

    owner.post(
        f"/api/agents/{registered.pk}/heartbeat",
        {"inventory_snapshot": {"instances": [
            {"instance_id": "i-0primary", "state": "running"}, "i-unknown",
        ], "count": 2}},
    )

    assert Instance.objects.get(instance_id="i-0primary").state == "zombie"
    to_terminate = owner.get(
        f"/api/agents/{registered.pk}/instances-to-terminate"
    ).json()["instances"]
    assert [i["instance_id"] for i in to_terminate] == ["i-0primary"]
