"""The hot paths: an idle command poll runs no query once warm and one when
its idle marker has expired, a heartbeat runs one, and no shortcut weakens
tenant isolation, suspension or the delivery of a freshly queued command."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents import authentication
from agents.models import Client
from agents.services.clients import client_status_set
from instances.models import Command
from instances.services.commands import command_enqueue, idle_marker_keys

POLL_PATHS = ("commands/pending", "pending-commands")


def _commands(response) -> list:
    body = response.json()
    return body["commands"] if isinstance(body, dict) else body


@pytest.mark.parametrize("path", POLL_PATHS)
def test_a_warm_idle_poll_runs_no_query(
    owner, registered, path, django_assert_num_queries
):
    url = f"/api/agents/{registered.pk}/{path}"
    assert owner.get(url).status_code == 200

    with django_assert_num_queries(0):
        response = owner.get(url)

    assert response.status_code == 200
    assert _commands(response) == []


def _idle_marker_expire(agent_id: int) -> None:
    cache.delete(idle_marker_keys(agent_id)[1])


def test_an_idle_poll_whose_marker_expired_reads_the_queue_once(
    owner, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    _idle_marker_expire(registered.pk)

    with CaptureQueriesContext(connection) as expired:
        response = owner.get(url)
    with CaptureQueriesContext(connection) as renewed:
        owner.get(url)

    assert _commands(response) == []
    assert _tables_read(expired) == ['"instances_command"']
    assert renewed.captured_queries == []


def test_a_command_hidden_behind_an_expired_marker_is_delivered(owner, registered):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    # A command whose queue bump was lost while the cache flickered.
    command = command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)
    generation_key, idle_key = idle_marker_keys(registered.pk)
    cache.set(idle_key, (cache.get(generation_key, 0), 0))
    assert _commands(owner.get(url)) == []
    _idle_marker_expire(registered.pk)

    response = owner.get(url)

    assert [item["id"] for item in _commands(response)] == [command.pk]
    command.refresh_from_db()
    assert command.status == Command.Status.DELIVERED


@pytest.mark.parametrize("path", POLL_PATHS)
def test_a_command_queued_after_a_warm_idle_poll_is_seen_on_the_next_poll(
    owner, registered, path
):
    url = f"/api/agents/{registered.pk}/{path}"
    owner.get(url)
    owner.get(url)

    command = command_enqueue(
        agent=registered, command_type=Command.Type.APPLY_CONFIG,
        params={"config_updates": {"enabled": False}},
    )
    response = owner.get(url)

    assert [item["request_id"] for item in _commands(response)] == [
        command.request_id
    ]


def test_a_command_still_open_is_handed_out_again_after_its_result_is_missing(
    owner, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    command = command_enqueue(
        agent=registered, command_type=Command.Type.APPLY_CONFIG
    )
    owner.get(url)

    response = owner.get(url)

    assert [item["id"] for item in _commands(response)] == [command.pk]


def test_another_clients_token_gets_404_after_the_owner_warmed_the_cache(
    owner, outsider, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    owner.get(url)

    response = outsider.get(url)

    assert response.status_code == 404


def test_a_suspension_in_this_process_stops_a_warm_poll_at_once(owner, registered):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)

    client_status_set(client=owner.client, status=Client.Status.SUSPENDED)
    response = owner.get(url)

    assert response.status_code == 403


def test_a_suspension_by_another_process_stops_polls_within_the_auth_cache_time(
    owner, registered, monkeypatch
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    Client.objects.filter(pk=owner.client.pk).update(
        status=Client.Status.SUSPENDED
    )
    started = authentication.time.monotonic()
    later = started + authentication.AUTH_CACHE_SECONDS + 0.1
    monkeypatch.setattr(authentication.time, "monotonic", lambda: later)

    response = owner.get(url)

    assert response.status_code == 403


def test_a_poll_for_an_unknown_agent_id_is_404_every_time(owner, registered):
    url = f"/api/agents/{registered.pk + 1000}/commands/pending"

    first, second = owner.get(url), owner.get(url)

    assert (first.status_code, second.status_code) == (404, 404)


def test_a_warm_heartbeat_of_an_idle_agent_runs_one_query(owner, registered):
    owner.get(f"/api/agents/{registered.pk}/commands/pending")

    with CaptureQueriesContext(connection) as captured:
        response = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    # The test wraps every request in a transaction, so the view's atomic
    # block shows up as a savepoint; in production it is BEGIN and COMMIT.
    statements = [
        query["sql"].split()[0] for query in captured.captured_queries
        if "SAVEPOINT" not in query["sql"]
    ]
    assert statements == ["UPDATE"]
    assert response.json()["pending_commands"] == 0


def test_a_heartbeat_counts_a_command_queued_after_the_idle_poll(owner, registered):
    owner.get(f"/api/agents/{registered.pk}/commands/pending")

    command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)
    response = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert response.json()["pending_commands"] == 1


def test_a_delayed_command_is_counted_but_not_handed_out_before_its_time(
    owner, registered
):
    command_enqueue(
        agent=registered, command_type=Command.Type.TERMINATE_INSTANCE,
        delay_seconds=300,
    )
    polled = owner.get(f"/api/agents/{registered.pk}/commands/pending")

    beat = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert _commands(polled) == []
    assert beat.json()["pending_commands"] == 1


@pytest.mark.parametrize("raw_id", ["%C2%B2", "9" * 30])
def test_an_agent_id_that_is_no_bigint_is_404_not_500(owner, registered, raw_id):
    poll = owner.get(f"/api/agents/{raw_id}/commands/pending")
    config = owner.get(f"/api/agents/{raw_id}/config")

    assert (poll.status_code, config.status_code) == (404, 404)


def test_an_owner_read_by_one_worker_spares_the_others_the_query(
    owner, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    # A second worker, or one started by a deploy: nothing in its memory.
    authentication.client_cache_clear()

    with CaptureQueriesContext(connection) as captured:
        response = owner.get(url)

    assert _commands(response) == []
    # The token, not the agent.
    assert _tables_read(captured) == ['"agents_client"']


def test_a_shared_owner_naming_another_client_is_checked_in_the_database(
    owner, outsider, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    owner.get(url)
    cache.set(authentication.agent_owner_key(registered.pk), outsider.client.pk)
    authentication.client_cache_clear()

    with CaptureQueriesContext(connection) as captured:
        response = owner.get(url)

    assert response.status_code == 200
    assert any('"agents_agent"' in query["sql"]
               for query in captured.captured_queries)


def test_a_freshly_registered_agents_first_poll_reads_only_the_token(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = owner.post("/api/agents/register", {
            "instance_id": "i-0fresh", "instance_type": "m5.large",
            "region": "us-east-1", "az": "us-east-1a",
        })
    url = f"/api/agents/{answer.json()['agent_id']}/commands/pending"
    # A worker that has seen nothing of it: the owner and the idle queue
    # were told to the cache at registration.
    authentication.client_cache_clear()

    with CaptureQueriesContext(connection) as captured:
        response = owner.get(url)

    assert _commands(response) == []
    # The token, not the agent or its queue.
    assert _tables_read(captured) == ['"agents_client"']


def _tables_read(captured) -> list[str]:
    return [query["sql"].split(" FROM ")[1].split()[0]
            for query in captured.captured_queries]
