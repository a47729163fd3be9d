"""The client API about the client and its agents, by literal paths."""

from agents.models import Agent
from decisions.models import DecisionLog
from instances.models import Command
from tests.conftest import REGISTRATION


def test_validate_answers_for_a_token_and_for_a_session(owner, owner_web):
    by_token = owner.get("/api/client/validate")
    by_session = owner_web.get("/api/client/validate")

    assert by_token.json()["client_id"] == owner.client.pk
    assert by_session.json()["client_id"] == owner.client.pk


def test_validate_refuses_a_missing_token(db, client):
    assert client.get("/api/client/validate").status_code == 401


def test_a_session_of_no_client_is_refused(nonstaff_client):
    assert nonstaff_client.get("/api/client/validate").status_code == 403


def test_the_client_detail_describes_the_client(owner):
    body = owner.get(f"/api/client/{owner.client.pk}").json()

    assert body["name"] == "owner"
    assert "token_hash" not in body


def test_the_agent_list_is_paginated_filtered_and_ordered(owner, registered):
    for number in range(3):
        owner.post(
            "/api/agents/register",
            REGISTRATION | {"instance_id": f"i-x{number}",
                            "logical_agent_id": f"x-{number}"},
        )
    Agent.objects.filter(logical_agent_id="x-1").update(status="offline")
    base = f"/api/client/{owner.client.pk}/agents"

    page = owner.get(f"{base}?limit=2&ordering=-logical_agent_id").json()
    offline = owner.get(f"{base}?status=offline").json()

    assert page["count"] == 4
    assert [a["logical_agent_id"] for a in page["results"]] == ["x-2", "x-1"]
    assert [a["logical_agent_id"] for a in offline["results"]] == ["x-1"]
    assert offline["results"][0]["config"]["min_savings_percent"] == 10.0


def test_the_agent_list_runs_a_fixed_number_of_queries(
    owner, registered, django_assert_max_num_queries
):
    for number in range(5):
        owner.post(
            "/api/agents/register",
            REGISTRATION | {"instance_id": f"i-q{number}",
                            "logical_agent_id": f"q-{number}"},
        )

    with django_assert_max_num_queries(4):
        response = owner.get(f"/api/client/{owner.client.pk}/agents")

    assert response.json()["count"] == 6


def test_decisions_and_history_list_the_clients_records(
    owner, priced, django_assert_max_num_queries
):
    owner.get(f"/api/agents/{priced.pk}/switch-recommendation")
    owner.post(f"/api/client/agents/{priced.pk}/toggle-enabled")

    with django_assert_max_num_queries(4):
        decisions = owner.get(f"/api/client/{owner.client.pk}/agents/decisions")
    with django_assert_max_num_queries(4):
        history = owner.get(
            f"/api/client/{owner.client.pk}/agents/history?event_type=agent_config"
        )

    assert decisions.json()["count"] == DecisionLog.objects.count() >= 1
    assert history.json()["results"][0]["details"]["after"]["enabled"] is False


def test_toggle_enabled_flips_the_switch_and_tells_the_agent(owner, registered):
    first = owner.post(f"/api/client/agents/{registered.pk}/toggle-enabled")
    second = owner.post(f"/api/client/agents/{registered.pk}/toggle-enabled")

    assert first.json()["enabled"] is False
    assert second.json()["enabled"] is True
    assert Command.objects.filter(command_type="APPLY_CONFIG").count() == 2


def test_settings_and_config_change_only_the_fields_sent(owner, registered):
    owner.post(
        f"/api/client/agents/{registered.pk}/settings", {"replica_count": 2}
    )
    response = owner.post(
        f"/api/client/agents/{registered.pk}/config",
        {"auto_switch_enabled": True, "unknown": 1},
    )

    assert response.status_code == 200
    config = response.json()["config"]
    assert (config["replica_count"], config["auto_switch_enabled"]) == (2, True)
    assert config["min_savings_percent"] == 10.0


def test_a_malformed_config_value_gives_the_error_shape(owner, registered):
    response = owner.post(
        f"/api/client/agents/{registered.pk}/config", {"risk_threshold": 3}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "risk_threshold" in response.json()["details"]


def test_delete_retires_the_agent_and_withdraws_its_commands(owner, registered):
    owner.post(f"/api/client/agents/{registered.pk}/toggle-enabled")

    response = owner.api.delete(f"/api/client/agents/{registered.pk}")

    assert response.status_code == 200
    registered.refresh_from_db()
    assert (registered.status, registered.enabled) == ("terminated", False)
    assert not Command.objects.filter(status="pending").exists()


def test_a_session_post_needs_the_csrf_token(owner_web, registered):
    from django.test import Client as BrowserClient

    strict = BrowserClient(enforce_csrf_checks=True)
    strict.force_login(owner_web.user)

    response = strict.post(f"/api/client/agents/{registered.pk}/toggle-enabled")

    assert response.status_code == 403
