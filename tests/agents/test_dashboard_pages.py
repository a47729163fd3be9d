"""The overview and agent pages: sign-in, wiring, isolation, query counts."""

import pytest

from agents.models import Agent
from instances.models import Command
from tests.conftest import REGISTRATION


def test_a_visitor_who_is_not_signed_in_is_sent_to_the_login_page(db, client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_signed_in_user_of_no_client_gets_404(nonstaff_client):
    assert nonstaff_client.get("/").status_code == 404


def test_the_login_page_signs_a_member_in(owner_web, client):
    response = client.post(
        "/accounts/login/",
        {"username": owner_web.user.username, "password": "x-pass-3"},
    )

    assert response.status_code == 302
    assert response.url == "/"


def test_the_overview_counts_agents_and_instances(owner_web, registered):
    response = owner_web.get("/")

    assert response.status_code == 200
    assert response.context["agent_counts"]["online"] == 1
    assert response.context["instance_counts"]["running_primary"] == 1
    assert b'data-agent-status="%d"' % registered.pk in response.content
    assert b'data-client-id="%d"' % registered.client_id in response.content


def test_the_overview_shows_an_open_termination_notice_with_its_deadline(
    owner, owner_web, registered
):
    owner.post(
        f"/api/agents/{registered.pk}/termination-imminent",
        {"instance_id": REGISTRATION["instance_id"], "action": "terminate"},
    )

    response = owner_web.get("/")

    assert len(response.context["emergencies"]) == 1
    assert b'class="countdown" data-deadline=' in response.content


def _more_agents(owner, count):
    for number in range(count):
        owner.post(
            "/api/agents/register",
            REGISTRATION | {"instance_id": f"i-extra{number}",
                            "logical_agent_id": f"extra-{number}"},
        )


def test_the_overview_runs_a_fixed_number_of_queries(
    owner, owner_web, registered, django_assert_max_num_queries
):
    _more_agents(owner, 5)

    with django_assert_max_num_queries(14):
        response = owner_web.get("/")

    assert response.status_code == 200


def test_the_agent_list_filters_by_status(owner, owner_web, registered):
    _more_agents(owner, 2)
    Agent.objects.filter(logical_agent_id="extra-0").update(status="offline")

    response = owner_web.get("/agents/?status=offline")

    assert [agent.logical_agent_id for agent in response.context["page"]] == [
        "extra-0"
    ]


def test_an_invalid_filter_value_is_named_and_not_applied(
    owner, owner_web, registered
):
    _more_agents(owner, 2)

    response = owner_web.get("/agents/?status=bogus")

    assert len(response.context["page"]) == 3
    assert b'class="field-error" role="alert"' in response.content
    assert b"bogus is not one of the available choices" in response.content


def test_the_agent_list_runs_a_fixed_number_of_queries(
    owner, owner_web, registered, django_assert_max_num_queries
):
    _more_agents(owner, 6)

    with django_assert_max_num_queries(10):
        response = owner_web.get("/agents/")

    assert len(response.context["page"]) == 7


def test_saving_agent_settings_updates_the_agent_and_tells_it(owner_web, registered):
    form = registered.config() | {
        "auto_switch_enabled": "on", "min_savings_percent": "15",
        "replica_count": "1",
    }
    form = {key: value for key, value in form.items() if value is not False}

    response = owner_web.post(f"/agents/{registered.pk}/", form)

    assert response.status_code == 302
    registered.refresh_from_db()
    assert registered.auto_switch_enabled is True
    assert registered.min_savings_percent == 15
    assert Command.objects.filter(
        agent=registered, command_type="APPLY_CONFIG"
    ).exists()


def test_invalid_agent_settings_are_shown_and_not_saved(owner_web, registered):
    form = registered.config() | {"risk_threshold": "7"}

    response = owner_web.post(f"/agents/{registered.pk}/", form)

    assert response.status_code == 200
    assert "risk_threshold" in response.context["form"].errors
    registered.refresh_from_db()
    assert registered.risk_threshold == 0.3


@pytest.mark.parametrize("path", ["/agents/{agent}/", "/instances/launch/{agent}"])
def test_another_clients_agent_pages_answer_404(
    path, outsider_web, registered
):
    url = path.format(agent=registered.pk)

    assert outsider_web.get(url).status_code in (404, 405)
    assert outsider_web.post(url, {}).status_code == 404
