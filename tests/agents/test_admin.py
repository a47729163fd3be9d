"""The client and agent pages of the operator console, and their actions."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from agents.models import Agent, Client
from agents.tokens import token_hash
from instances.models import AuditEvent, Command

CHANGELIST = "admin:agents_client_changelist"
AGENTS = "admin:agents_agent_changelist"


def _action(browser, changelist: str, action: str, *pks):
    return browser.post(
        reverse(changelist),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def _shown_tokens(response) -> list[str]:
    text = " ".join(str(message) for message in get_messages(response.wsgi_request))
    return re.findall(r"<code class='client-token'>([^<]+)</code>", text)


def test_creating_a_client_shows_its_token_once_and_stores_only_the_hash(
    staff_client,
):
    response = staff_client.post(
        reverse("admin:agents_client_add"),
        {"name": "Acme", "email": "ops@acme.example"},
        follow=True,
    )

    assert response.status_code == 200
    client = Client.objects.get(name="Acme")
    [token] = re.findall(r"client-token'>([^<]+)<", response.content.decode())
    assert client.token_hash == token_hash(token)
    assert token not in client.token_hash
    again = staff_client.get(reverse("admin:agents_client_change", args=[client.pk]))
    assert token not in again.content.decode()


def test_the_api_answers_the_token_shown_at_creation(staff_client, db):
    response = staff_client.post(
        reverse("admin:agents_client_add"), {"name": "Beta"}, follow=True
    )
    [token] = re.findall(r"client-token'>([^<]+)<", response.content.decode())

    answer = staff_client.get(
        "/api/agents/0/config", HTTP_AUTHORIZATION=f"Bearer {token}"
    )

    assert answer.status_code == 404  # known token, unknown agent


def test_regenerating_a_token_replaces_it_and_shows_the_new_one(
    staff_client, owner
):
    old_hash = owner.client.token_hash

    response = _action(staff_client, CHANGELIST, "token_regenerate", owner.client.pk)

    owner.client.refresh_from_db()
    [token] = re.findall(r"client-token'>([^<]+)<", response.content.decode())
    assert owner.client.token_hash == token_hash(token) != old_hash
    assert owner.get("/api/agents/0/config").status_code == 401


def test_suspending_a_client_locks_its_agents_out(staff_client, owner, registered):
    _action(staff_client, CHANGELIST, "clients_suspend", owner.client.pk)

    owner.client.refresh_from_db()
    assert owner.client.status == Client.Status.SUSPENDED
    assert owner.get(f"/api/agents/{registered.pk}/config").status_code == 403

    _action(staff_client, CHANGELIST, "clients_reactivate", owner.client.pk)
    assert owner.get(f"/api/agents/{registered.pk}/config").status_code == 200


def test_disabling_an_agent_queues_apply_config(staff_client, registered):
    _action(staff_client, AGENTS, "agents_disable", registered.pk)

    registered.refresh_from_db()
    assert registered.enabled is False
    command = Command.objects.get(agent=registered)
    assert command.command_type == Command.Type.APPLY_CONFIG
    assert command.params == {"config_updates": {"enabled": False}}


def test_enabling_an_agent_again_queues_apply_config(staff_client, registered):
    Agent.objects.filter(pk=registered.pk).update(enabled=False)

    _action(staff_client, AGENTS, "agents_enable", registered.pk)

    registered.refresh_from_db()
    assert registered.enabled is True
    command = Command.objects.get(agent=registered)
    assert command.params == {"config_updates": {"enabled": True}}


def test_pushing_the_config_sends_every_setting(staff_client, registered):
    _action(staff_client, AGENTS, "config_push", registered.pk)

    command = Command.objects.get(agent=registered)
    assert command.command_type == Command.Type.APPLY_CONFIG
    assert command.params["config_updates"] == registered.config()


def test_self_destruct_queues_the_command_and_records_who_asked(
    staff_client, registered
):
    _action(staff_client, AGENTS, "self_destruct", registered.pk)

    command = Command.objects.get(agent=registered)
    assert command.command_type == Command.Type.SELF_DESTRUCT
    assert command.priority == Command.Priority.MANUAL
    event = AuditEvent.objects.get(event_type="agent_self_destruct")
    assert event.cause == "operator operator"
    assert event.request_id == command.request_id


def test_editing_the_config_in_the_form_queues_only_the_change(
    staff_client, registered
):
    url = reverse("admin:agents_agent_change", args=[registered.pk])
    form = staff_client.get(url).context["adminform"].form
    data = {
        name: value for name, value in form.initial.items()
        if name in form.fields and value is not None
    }
    data = {key: value for key, value in data.items() if value is not False}
    data["risk_threshold"] = "0.5"

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    registered.refresh_from_db()
    assert registered.risk_threshold == 0.5
    command = Command.objects.get(agent=registered)
    assert command.params == {"config_updates": {"risk_threshold": 0.5}}


def test_the_agent_form_shows_its_recent_history(staff_client, registered):
    response = staff_client.get(
        reverse("admin:agents_agent_change", args=[registered.pk])
    )

    assert b"registered by the agent" in response.content
    assert not response.context["adminform"].form.fields.get("status")


@pytest.mark.parametrize("action", ["agents_disable", "self_destruct"])
def test_agent_actions_are_refused_to_non_staff(nonstaff_client, registered, action):
    response = nonstaff_client.post(
        reverse(AGENTS), {"action": action, "_selected_action": [registered.pk]}
    )

    assert response.status_code == 302
    assert not Command.objects.exists()
    assert Agent.objects.get(pk=registered.pk).enabled is True


def test_resending_an_invitation_mails_a_password_link(
    staff_client, owner, django_user_model, mailoutbox
):
    from agents.models import ClientMembership

    user = django_user_model.objects.create_user(
        username="teammate", email="teammate@example.com", password="x-pass-3"
    )
    membership = ClientMembership.objects.create(user=user, client=owner.client)

    _action(
        staff_client, "admin:agents_clientmembership_changelist",
        "invitation_resend", membership.pk,
    )

    assert [mail.to for mail in mailoutbox] == [["teammate@example.com"]]
