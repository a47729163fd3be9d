"""While Redis or the database is down, agents get a retryable answer."""

from unittest import mock

from django.db import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from agents.authentication import client_cache_clear
from instances.models import Command
from instances.services.commands import command_enqueue, command_poll


def test_the_command_queue_is_read_from_the_database_while_the_cache_is_down(
    registered,
):
    command = command_enqueue(
        agent=registered, command_type=Command.Type.APPLY_CONFIG
    )
    refused = RedisConnectionError("Connection refused")

    with mock.patch("instances.services.commands.cache") as cache:
        cache.get_many.side_effect = refused
        cache.set.side_effect = refused
        cache.add.side_effect = refused
        polled = command_poll(agent_id=registered.pk)

    assert [item.pk for item in polled] == [command.pk]


def test_a_database_outage_answers_503_with_retry_after(owner, registered):
    with mock.patch(
        "agents.api.views.heartbeat_record",
        side_effect=OperationalError("the database system is shutting down"),
    ):
        response = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "service_unavailable"


def test_a_database_outage_during_an_idle_poll_answers_503(owner, registered):
    # No idle marker yet: the poll must read the queue from the database,
    # counted by the hot path, read whole by the full view.
    down = OperationalError("the database system is shutting down")
    with mock.patch(
        "instances.services.commands._open_counts", side_effect=down
    ), mock.patch(
        "instances.services.commands._ready_commands", side_effect=down
    ):
        response = owner.get(f"/api/agents/{registered.pk}/commands/pending")

    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"


def test_a_database_outage_when_the_token_must_be_read_again_answers_503(
    owner, registered
):
    # The poll's token and ownership checks read the database when their
    # memory has expired; an outage then is a 503, never a 500.
    url = f"/api/agents/{registered.pk}/commands/pending"
    client_cache_clear()
    with mock.patch(
        "agents.authentication.Client.objects.filter",
        side_effect=OperationalError("the database system is shutting down"),
    ):
        response = owner.get(url)

    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
