"""The idle poll answered before DRF: the same answers, by the cheap path."""

import pytest
from django.test import override_settings

from agents.services.clients import client_status_set
from instances.models import Command
from instances.services.commands import command_enqueue

POLL_PATHS = ("commands/pending", "pending-commands")


def _warm(owner, url):
    first = owner.get(url)
    assert first.status_code == 200  # the queue was read and marked idle


@pytest.mark.parametrize("path", POLL_PATHS)
def test_a_warm_idle_poll_is_answered_before_the_view(owner, registered, path):
    url = f"/api/agents/{registered.pk}/{path}"
    _warm(owner, url)

    response = owner.get(url)

    assert response.status_code == 200
    assert "Allow" not in response
    assert response.json() == ([] if path == "pending-commands" else {"commands": []})


def test_a_queued_command_goes_through_the_full_view(owner, registered):
    url = f"/api/agents/{registered.pk}/commands/pending"
    _warm(owner, url)
    command_enqueue(agent=registered, command_type=Command.Type.SELF_DESTRUCT)

    response = owner.get(url)

    assert "Allow" in response
    assert [c["command_type"] for c in response.json()["commands"]] == [
        "SELF_DESTRUCT"
    ]


def test_another_clients_token_is_refused_by_the_full_view(
    owner, outsider, registered
):
    url = f"/api/agents/{registered.pk}/commands/pending"
    _warm(owner, url)

    response = outsider.get(url)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_suspended_client_is_refused_even_when_the_queue_is_idle(
    owner, registered
):
    url = f"/api/agents/{registered.pk}/pending-commands"
    _warm(owner, url)

    client_status_set(client=owner.client, status="suspended")

    assert owner.get(url).status_code == 403


def test_an_unknown_token_gets_401(owner, registered):
    url = f"/api/agents/{registered.pk}/commands/pending"
    _warm(owner, url)
    owner.api.credentials(HTTP_AUTHORIZATION="Bearer spo_not-a-real-token")

    assert owner.get(url).status_code == 401


def test_the_rate_limit_still_applies_to_idle_polls(owner, registered, settings):
    url = f"/api/agents/{registered.pk}/commands/pending"
    _warm(owner, url)
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "agent": "3/min"}

    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        statuses = [owner.get(url).status_code for _ in range(4)]

    assert statuses[-1] == 429
    assert 200 in statuses


def test_idle_polls_are_counted_as_polls(owner, registered):
    from spotopt.metrics import POLLS

    url = f"/api/agents/{registered.pk}/commands/pending"
    _warm(owner, url)
    before = POLLS.labels("200")._value.get()

    owner.get(url)

    assert POLLS.labels("200")._value.get() == before + 1
