"""Races on PostgreSQL with real threads: one request id is one effect, and
whatever promotions or sagas race, an agent keeps at most one primary.

Each thread sends its request through its own API client, waits at a
barrier so the requests leave together, and closes its database connection
when it ends.
"""

import threading
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from agents.models import Agent, IdempotencyKey
from instances.models import Command, EmergencyEvent, Instance, Switch
from instances.services.launches import instance_promote_request
from pricing.models import RawPriceReport
from tests.conftest import DEFAULT_POOLS, REGISTRATION, price_report

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPLAYED = "Idempotent-Replayed"
THREAD_TIMEOUT_SECONDS = 60


def race(calls) -> list:
    """Run the calls in threads released together; return their results."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=THREAD_TIMEOUT_SECONDS)
            results[index] = call()
        except BaseException as error:  # reported by the assertion below
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, call))
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT_SECONDS)
    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, failures
    return results


def poster(persona, path: str, body: dict, **headers):
    """A call that posts with a client of its own, for use in a thread."""

    def call():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {persona.token}")
        return api.post(path, body, format="json", headers=headers or None)

    return call


def primaries_of(agent: Agent) -> list[str]:
    return list(
        Instance.objects.filter(
            agent=agent, state=Instance.State.RUNNING_PRIMARY
        ).values_list("instance_id", flat=True)
    )


def statuses(responses) -> Counter:
    return Counter(response.status_code for response in responses)


def first_answers(responses) -> list:
    """The responses that did the work, not replays or conflicts."""
    return [
        response for response in responses
        if response.status_code < 300 and REPLAYED not in response.headers
    ]


def test_fifty_switch_commands_with_one_request_id_start_one_switch(owner, priced):
    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)
    call = poster(
        owner, f"/api/agents/{priced.pk}/issue-switch-command",
        {"target_mode": "spot", "target_pool_id": "m5.large.us-east-1b"},
        **{"X-Request-ID": "switch-once"},
    )

    responses = race([call] * 50)

    assert set(statuses(responses)) <= {201, 409}, statuses(responses)
    assert len(first_answers(responses)) == 1
    created = first_answers(responses)[0].json()
    for response in responses:
        if response.status_code == 201:
            assert response.json() == created
    assert Switch.objects.filter(agent=priced).count() == 1
    assert Command.objects.filter(
        agent=priced, command_type=Command.Type.LAUNCH_INSTANCE
    ).count() == 1
    retry = call()
    assert retry.headers.get(REPLAYED) == "true"
    assert retry.json() == created


def test_fifty_pricing_reports_with_one_request_id_store_once(owner, registered):
    report = price_report(*DEFAULT_POOLS)
    call = poster(
        owner, f"/api/agents/{registered.pk}/pricing-report", report,
        **{"X-Request-ID": "prices-once"},
    )

    responses = race([call] * 50)

    assert set(statuses(responses)) <= {200, 409}, statuses(responses)
    assert len(first_answers(responses)) == 1
    assert RawPriceReport.objects.filter(agent=registered).count() == len(
        report["pricing_data_array"]
    )
    retry = call()
    assert retry.headers.get(REPLAYED) == "true"
    assert retry.json() == first_answers(responses)[0].json()


def test_fifty_warm_heartbeats_with_one_request_id_are_one_heartbeat(
    owner, registered
):
    path = f"/api/agents/{registered.pk}/heartbeat"
    body = {"status": "online", "instance_id": "i-0primary",
            "inventory_snapshot": {"instances": ["i-0primary"], "count": 1}}
    owner.get(f"/api/agents/{registered.pk}/commands/pending")
    warm = owner.post(path, body)
    assert warm.status_code == 200  # registration left the memo: all are warm
    call = poster(owner, path, body, **{"X-Request-ID": "beat-once"})

    responses = race([call] * 50)

    assert set(statuses(responses)) <= {200, 409}, statuses(responses)
    firsts = first_answers(responses)
    assert len(firsts) == 1
    assert "Allow" not in firsts[0]  # recorded by the one-statement shortcut
    assert IdempotencyKey.objects.filter(key="beat-once").count() == 1
    beat_at = Agent.objects.get(pk=registered.pk).last_heartbeat_at
    for response in responses:
        if response.status_code == 200:
            assert response.json() == firsts[0].json()
    retry = call()
    assert retry.headers.get(REPLAYED) == "true"
    assert Agent.objects.get(pk=registered.pk).last_heartbeat_at == beat_at


def test_twenty_concurrent_promotions_leave_one_primary(owner, registered):
    old_primary = Instance.objects.get(agent=registered)
    promotions = []
    for number in range(20):
        replica = Instance.objects.create(
            agent=registered, client=owner.client,
            instance_id=f"i-0replica{number:02}",
            temp_instance_id=f"tmp-replica{number:02}",
            instance_type="m5.large", region="us-east-1", az="us-east-1b",
            role_hint=Instance.Role.REPLICA,
            state=Instance.State.RUNNING_REPLICA,
        )
        promotions.append(instance_promote_request(
            instance=replica, old_primary=old_primary,
            priority=Command.Priority.MANUAL, cause="race test",
        ))
    calls = [
        poster(owner,
               f"/api/agents/{registered.pk}/commands/{command.pk}/executed",
               {"success": True})
        for command in promotions
    ]

    responses = race(calls)

    assert statuses(responses) == {200: 20}
    assert len(primaries_of(registered)) == 1
    assert not Instance.objects.filter(
        agent=registered, state=Instance.State.PROMOTING
    ).exists()
    assert Command.objects.filter(
        pk__in=[command.pk for command in promotions],
        status=Command.Status.SUCCEEDED,
    ).count() == 20


def test_two_switches_started_at_once_run_one_at_a_time(owner, priced):
    Agent.objects.filter(pk=priced.pk).update(auto_switch_enabled=True)
    path = f"/api/agents/{priced.pk}/issue-switch-command"

    responses = race([
        poster(owner, path, {"target_pool_id": "m5.large.us-east-1b"}),
        poster(owner, path, {"target_pool_id": "m5.large.us-east-1c"}),
    ])

    assert statuses(responses) == {201: 1, 409: 1}
    assert Switch.objects.filter(agent=priced).count() == 1
    assert primaries_of(priced) == ["i-0primary"]


def _launched(owner, agent, launch: Command, instance_id: str) -> None:
    response = owner.post(
        f"/api/agents/{agent.pk}/instance-launched",
        {"instance_id": instance_id,
         "temp_instance_id": launch.params["temp_instance_id"]},
    )
    assert response.status_code == 200, response.content


def _switch_promoting(owner, agent) -> Command:
    """A switch saga up to its promotion: launched in another pool."""
    Agent.objects.filter(pk=agent.pk).update(auto_switch_enabled=True)
    issued = owner.post(
        f"/api/agents/{agent.pk}/issue-switch-command",
        {"target_pool_id": "m5.large.us-east-1b"},
    )
    assert issued.status_code == 201, issued.content
    _launched(owner, agent, Command.objects.get(pk=issued.json()["command_id"]),
              "i-0switched")
    return Command.objects.get(
        agent=agent, command_type=Command.Type.PROMOTE_REPLICA_TO_PRIMARY,
        instance__instance_id="i-0switched",
    )


def _failover_promoting(owner, agent) -> Command:
    """A failover saga up to its promotion: a ready replica, then a notice."""
    replica = owner.post(f"/api/agents/{agent.pk}/create-emergency-replica", {})
    assert replica.status_code == 201, replica.content
    _launched(owner, agent, Command.objects.get(pk=replica.json()["command_id"]),
              "i-0spare")
    notice = owner.post(
        f"/api/agents/{agent.pk}/termination-report",
        {"instance_id": "i-0primary", "notice_type": "TERMINATION"},
    )
    assert notice.json()["action"] == "promote_replica", notice.content
    return Command.objects.get(pk=notice.json()["command_id"])


def test_a_switch_and_a_failover_racing_leave_one_primary(owner, priced):
    switch_promote = _switch_promoting(owner, priced)
    failover_promote = _failover_promoting(owner, priced)
    assert Instance.objects.filter(
        agent=priced, state=Instance.State.PROMOTING
    ).count() == 2

    responses = race([
        poster(owner,
               f"/api/agents/{priced.pk}/commands/{command.pk}/executed",
               {"success": True})
        for command in (switch_promote, failover_promote)
    ])

    assert statuses(responses) == {200: 2}
    primaries = primaries_of(priced)
    assert len(primaries) == 1
    assert primaries[0] in {"i-0switched", "i-0spare"}
    assert Instance.objects.get(instance_id="i-0primary").state in {
        Instance.State.TERMINATING, Instance.State.TERMINATED,
    }


def test_a_switch_promotion_and_a_notice_racing_leave_one_primary(owner, priced):
    switch_promote = _switch_promoting(owner, priced)

    responses = race([
        poster(owner,
               f"/api/agents/{priced.pk}/commands/{switch_promote.pk}/executed",
               {"success": True}),
        poster(owner, f"/api/agents/{priced.pk}/termination-imminent",
               {"instance_id": "i-0primary"}),
    ])

    assert statuses(responses) == {200: 2}
    assert len(primaries_of(priced)) == 1
    assert EmergencyEvent.objects.filter(
        agent=priced, kind=EmergencyEvent.Kind.TERMINATION
    ).count() == 1


def test_twenty_registrations_of_a_new_agent_give_one_primary(owner):
    calls = [
        poster(owner, "/api/agents/register",
               {**REGISTRATION, "instance_id": f"i-0racer{number:02}"})
        for number in range(20)
    ]

    responses = race(calls)

    assert statuses(responses) == {200: 20}
    assert len({response.json()["agent_id"] for response in responses}) == 1
    agent = Agent.objects.get(client=owner.client)
    assert len(primaries_of(agent)) == 1
    assert Instance.objects.filter(
        agent=agent, state=Instance.State.RUNNING_REPLICA
    ).count() == 19


def test_ten_notices_at_once_are_one_failover(owner, priced):
    call = poster(
        owner, f"/api/agents/{priced.pk}/termination-report",
        {"instance_id": "i-0primary", "notice_type": "TERMINATION"},
    )

    responses = race([call] * 10)

    assert statuses(responses) == {200: 10}
    actions = Counter(response.json()["action"] for response in responses)
    assert actions == {"launch_replica": 1, "already_handled": 9}
    assert len({response.json()["command_id"] for response in responses}) == 1
    event = EmergencyEvent.objects.get(agent=priced)
    assert event.notice_count == 10
    assert Command.objects.filter(agent=priced).count() == 1


def test_price_reports_listing_pools_in_other_orders_never_deadlock(
    owner, registered
):
    forward = price_report(*DEFAULT_POOLS)
    backward = price_report(*reversed(DEFAULT_POOLS))
    path = f"/api/agents/{registered.pk}/pricing-report"
    calls = [
        poster(owner, path, forward if number % 2 else backward)
        for number in range(20)
    ]

    responses = race(calls)

    assert statuses(responses) == {200: 20}
    assert RawPriceReport.objects.filter(agent=registered).count() == 20 * len(
        forward["pricing_data_array"]
    )
