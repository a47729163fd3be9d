"""Tenant isolation and authentication on every agent path: another client's
agent is absent (404), a missing or unknown token is 401, a suspended client
is 403."""

import pytest
from rest_framework.test import APIClient

from agents.models import Client
from agents.services.clients import client_status_set, client_token_rotate
from instances.models import Command, Instance
from tests.agents.agent_paths import (
    GET_PATHS,
    POST_BODIES,
    POST_PATHS,
    effects,
    fill,
    launch_queue,
)
from tests.conftest import REGISTRATION

ABSENT_AGENT_IDS = ["999999", "not-an-agent", "99999999999999999999999999"]


@pytest.fixture
def launch(owner, priced) -> Command:
    return launch_queue(owner, priced)


def not_found_body(response) -> dict:
    assert response.status_code == 404, response.content
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    return body


def test_another_clients_agent_is_absent_on_every_get(owner, outsider, launch):
    for name in GET_PATHS:
        foreign = outsider.get(f"/api/agents/{launch.agent_id}/{name}")
        absent = outsider.get(f"/api/agents/999999/{name}")
        mine = owner.get(f"/api/agents/{launch.agent_id}/{name}")

        assert not_found_body(foreign) == not_found_body(absent), name
        assert mine.status_code == 200, (name, mine.content)


@pytest.mark.parametrize("name", POST_PATHS)
def test_another_clients_agent_is_absent_on_post(owner, outsider, launch, name):
    path, body = fill(name, launch), fill(POST_BODIES[name], launch)
    before = effects()

    foreign = outsider.post(f"/api/agents/{launch.agent_id}/{path}", body)
    absent = outsider.post(f"/api/agents/999999/{path}", body)

    assert not_found_body(foreign) == not_found_body(absent)
    assert effects() == before
    accepted = owner.post(f"/api/agents/{launch.agent_id}/{path}", body)
    assert 200 <= accepted.status_code < 300, accepted.content


@pytest.mark.parametrize("agent_id", ABSENT_AGENT_IDS)
def test_an_absent_agent_is_a_404(owner, registered, agent_id):
    base = f"/api/agents/{agent_id}"

    responses = [
        owner.post(f"{base}/heartbeat", {}),
        owner.get(f"{base}/config"),
        owner.get(f"{base}/pending-commands"),
    ]

    for response in responses:
        not_found_body(response)


def test_a_command_of_another_agent_of_the_same_client_is_absent(owner, launch):
    other = owner.post(
        "/api/agents/register",
        {**REGISTRATION, "instance_id": "i-0other", "logical_agent_id": "db-1"},
    ).json()["agent_id"]

    by_id = owner.post(
        f"/api/agents/{other}/commands/{launch.pk}/executed", {"success": True}
    )
    by_request_id = owner.post(
        f"/api/agents/{other}/action-result",
        {"request_id": launch.request_id, "result": "SUCCESS"},
    )

    not_found_body(by_id)
    not_found_body(by_request_id)
    launch.refresh_from_db()
    assert launch.is_open


def test_an_instance_of_another_client_cannot_be_reported_on(
    owner, outsider, launch
):
    outsider_agent = outsider.post(
        "/api/agents/register", {**REGISTRATION, "instance_id": "i-0theirs"}
    ).json()["agent_id"]
    before = effects()

    launched = outsider.post(
        f"/api/agents/{outsider_agent}/instance-launched",
        {"instance_id": "i-0spare",
         "temp_instance_id": launch.params["temp_instance_id"],
         "request_id": launch.request_id},
    )
    terminated = outsider.post(
        f"/api/agents/{outsider_agent}/instance-terminated",
        {"instance_id": "i-0primary"},
    )

    not_found_body(launched)
    not_found_body(terminated)
    assert effects() == before


def test_instances_to_terminate_never_lists_another_clients(owner, outsider, launch):
    Instance.objects.filter(agent_id=launch.agent_id).update(
        state=Instance.State.ZOMBIE
    )
    outsider_agent = outsider.post(
        "/api/agents/register", {**REGISTRATION, "instance_id": "i-0primary"}
    ).json()["agent_id"]

    body = outsider.get(
        f"/api/agents/{outsider_agent}/instances-to-terminate"
    ).json()

    assert body["instances"] == []


def test_the_same_logical_id_of_two_clients_is_two_agents(owner, outsider, launch):
    theirs = outsider.post("/api/agents/register", REGISTRATION).json()

    assert theirs["agent_id"] != launch.agent_id
    assert theirs["client_id"] == outsider.client.pk


ALL_PATHS = (
    [("register", "post")]
    + [(name, "get") for name in GET_PATHS]
    + [(name, "post") for name in POST_PATHS]
)


def _call(api_client, path: str, method: str, body=None):
    if method == "get":
        return api_client.get(path)
    return api_client.post(path, body or {}, format="json")


def _full_path(name: str, launch: Command) -> str:
    if name == "register":
        return "/api/agents/register"
    return f"/api/agents/{launch.agent_id}/{fill(name, launch)}"


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-real-token", "Bearer", "Token abc", "Bearer \xff"],
    ids=["missing", "unknown", "empty", "other-scheme", "junk"],
)
def test_a_missing_or_unknown_token_is_a_401_on_every_path(
    launch, authorization
):
    api = APIClient()
    if authorization is not None:
        api.credentials(HTTP_AUTHORIZATION=authorization)

    answers = {
        name: _call(api, _full_path(name, launch), method)
        for name, method in ALL_PATHS
    }

    for name, response in answers.items():
        assert response.status_code == 401, (name, response.content)
        assert set(response.json()) == {"error", "message", "details"}


def test_a_rotated_token_stops_working_at_once(owner, registered):
    new_token = client_token_rotate(client=owner.client)

    stale = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})
    owner.api.credentials(HTTP_AUTHORIZATION=f"Bearer {new_token}")
    fresh = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert stale.status_code == 401
    assert fresh.status_code == 200


def test_a_suspended_client_is_a_403_on_every_path(owner, launch):
    client_status_set(client=owner.client, status=Client.Status.SUSPENDED)
    before = effects()

    answers = {
        name: _call(owner.api, _full_path(name, launch), method,
                    fill(POST_BODIES.get(name, {}), launch))
        for name, method in ALL_PATHS
    }

    for name, response in answers.items():
        assert response.status_code == 403, (name, response.content)
        assert response.json()["error"] == "forbidden"
    assert effects() == before


def test_a_reactivated_client_is_accepted_again(owner, registered):
    client_status_set(client=owner.client, status=Client.Status.SUSPENDED)
    owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    client_status_set(client=owner.client, status=Client.Status.ACTIVE)
    response = owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    assert response.status_code == 200
