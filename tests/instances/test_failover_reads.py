"""What a failover reads before it acts: the replicas standing by, the pools
it may launch in, and the one event it writes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from instances.models import AuditEvent, Command, EmergencyEvent, Replica
from instances.selectors import Takeover, pools_acceptable, takeover_candidates
from pricing.models import RawPriceReport
from tests.agents.test_agent_api_paths import (
    emergency_replica,
    enable_auto_switch,
    launched,
    ok_object,
)
from tests.conftest import as_decimal, price_report

pytestmark = pytest.mark.django_db


def test_nothing_standing_by(priced):
    assert takeover_candidates(agent_id=priced.pk) == Takeover(None, None, None)


def test_a_ready_replica_and_a_launching_one_are_told_apart(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0ready")
    still_launching = emergency_replica(owner, priced)

    with CaptureQueriesContext(connection) as captured:
        ready, launching, switching = takeover_candidates(agent_id=priced.pk)
        ready_id, launching_pk = ready.instance.instance_id, launching.instance.pk

    assert ready_id == "i-0ready"
    assert launching_pk == still_launching.instance_id
    assert switching is None
    assert len(captured.captured_queries) == 1


def test_a_ready_replica_whose_instance_left_is_not_standing_by(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0gone")
    Replica.objects.filter(agent=priced).update(status=Replica.Status.READY)
    replica = Replica.objects.get(agent=priced)
    type(replica.instance).objects.filter(pk=replica.instance_id).update(
        state="terminated"
    )

    assert takeover_candidates(agent_id=priced.pk) == Takeover(None, None, None)


def test_a_notice_during_a_switch_hurries_the_switch_launch(owner, priced):
    enable_auto_switch(priced)
    switch = ok_object(owner.post(
        f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b"},
    ), 201)

    takeover = takeover_candidates(agent_id=priced.pk)
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-imminent",
        {"instance_id": "i-0primary"},
    ))

    assert (takeover.ready, takeover.launching) == (None, None)
    launch = Command.objects.get(pk=switch["command_id"])
    assert takeover.switching == launch.instance
    assert (body["action"], body["command_id"]) == ("launch_replica", launch.pk)
    assert body["target_pool_id"] == "m5.large.us-east-1b"
    assert launch.priority == Command.Priority.EMERGENCY
    assert not Replica.objects.filter(agent=priced).exists()


def test_a_notice_promotes_the_ready_replica_not_the_launching_one(owner, priced):
    launched(owner, priced, emergency_replica(owner, priced), "i-0ready")
    emergency_replica(owner, priced)

    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-imminent",
        {"instance_id": "i-0primary"},
    ))

    assert body["action"] == "promote_replica"
    assert body["replica_instance_id"] == "i-0ready"


def test_acceptable_pools_take_the_types_reported_lately_in_one_query(
    owner, priced, django_assert_num_queries
):
    owner.post(
        f"/api/agents/{priced.pk}/pricing-report",
        price_report(("c5.large.us-east-1a", "0.05"), ("r5.large.us-east-1a", "0.06")),
    )
    RawPriceReport.objects.filter(instance_type="r5.large").update(
        received_at=timezone.now() - timedelta(hours=25)
    )

    with django_assert_num_queries(1):
        pools = pools_acceptable(agent=priced, exclude_azs=["us-east-1c"])

    # Each carries its type's on-demand price; c5.large's is not known.
    assert sorted((pool.pool_id, pool.ondemand_price) for pool in pools) == [
        ("c5.large.us-east-1a", None),
        ("m5.large.us-east-1a", as_decimal("0.096")),
        ("m5.large.us-east-1b", as_decimal("0.096")),
    ]


def test_a_failover_writes_its_event_once_with_what_it_did(owner, priced):
    body = ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-imminent",
        {"instance_id": "i-0primary"},
    ))

    event = EmergencyEvent.objects.get(agent=priced)
    assert event.kind == "termination" and event.status == "open"
    assert (event.action, event.command_id) == ("launch_replica", body["command_id"])
    assert event.replica.instance == Command.objects.get(pk=body["command_id"]).instance
    assert event.target_pool_id == body["target_pool_id"]
    assert event.replica.instance.ondemand_price == as_decimal("0.096")
    noticed = event.instance
    assert AuditEvent.objects.filter(
        instance=event.replica.instance,
        cause=f"termination notice for instance {noticed.pk}",
    ).exists()


def test_a_notice_reads_the_open_events_once_and_updates_none_it_has_not(
    owner, priced
):
    with CaptureQueriesContext(connection) as captured:
        ok_object(owner.post(
            f"/api/agents/{priced.pk}/termination-imminent",
            {"instance_id": "i-0primary"},
        ))

    statements = [query["sql"].strip() for query in captured.captured_queries]
    event_statements = [
        sql for sql in statements
        if 'FROM "instances_emergencyevent"' in sql
        or sql.startswith('UPDATE "instances_emergencyevent"')
    ]
    # No open event to find, none to resolve: the delay's UPDATE comes
    # after the commit, outside this request's statements in a test.
    assert len(event_statements) == 1
    assert event_statements[0].startswith("SELECT")


def test_a_notice_resolves_the_open_rebalance_event_as_an_interruption(
    owner, priced
):
    ok_object(owner.post(
        f"/api/agents/{priced.pk}/rebalance-recommendation",
        {"instance_id": "i-0primary"},
    ))
    ok_object(owner.post(
        f"/api/agents/{priced.pk}/termination-imminent",
        {"instance_id": "i-0primary"},
    ))

    rebalance = EmergencyEvent.objects.get(agent=priced, kind="rebalance")
    assert (rebalance.status, rebalance.became_interruption) == ("resolved", True)
    assert rebalance.resolved_at is not None
    # The rebalance's replica, still launching, takes over when launched.
    termination = EmergencyEvent.objects.get(agent=priced, kind="termination")
    assert (termination.status, termination.action) == ("open", "launch_replica")
    assert termination.replica == rebalance.replica
