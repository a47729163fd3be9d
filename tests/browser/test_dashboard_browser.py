"""The dashboard in a real browser: sign in, live updates, a force-switch
driven to completion through the agent API, a CSV export, screenshots."""

import csv
import io
import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import Agent, ClientMembership
from agents.services.lifecycle import agents_mark_offline
from instances.models import Instance, Switch
from tests.conftest import REGISTRATION

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pass-1"


@pytest.fixture
def member(owner, django_user_model):
    user = django_user_model.objects.create_user(
        username="ana@example.com", email="ana@example.com", password=PASSWORD
    )
    ClientMembership.objects.create(user=user, client=owner.client)
    return user


@pytest.fixture
def agent_api(owner, server_url):
    """The agent's side, over HTTP to the same server the browser uses."""
    with httpx.Client(
        base_url=f"{server_url}/api/agents",
        headers={"Authorization": f"Bearer {owner.token}"}, timeout=10,
    ) as api:
        yield api


def _sign_in(page, member):
    page.goto("/accounts/login/")
    page.get_by_label("Email or user name").fill(member.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#live-state")).to_have_text("live")


def test_an_agent_goes_online_on_the_open_overview_when_it_heartbeats(
    page, member, priced, agent_api, artifacts
):
    silent_since = timezone.now() - timedelta(seconds=121)
    Agent.objects.filter(pk=priced.pk).update(
        last_heartbeat_at=silent_since, offline_after=silent_since
    )
    agents_mark_offline()
    _sign_in(page, member)
    status = page.locator(f'[data-agent-status="{priced.pk}"]')
    expect(status).to_have_text("offline")

    agent_api.post(f"/{priced.pk}/heartbeat", json={"status": "online"})

    expect(status).to_have_text("online")
    expect(page.locator('[data-count="agents-online"]')).to_have_text("1")
    expect(page.locator("#unread-count")).not_to_have_text("0")
    page.screenshot(path=artifacts / "overview.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "overview-phone.png", full_page=True)


def test_a_termination_notice_shows_a_live_countdown(
    page, member, priced, agent_api
):
    _sign_in(page, member)

    agent_api.post(
        f"/{priced.pk}/termination-imminent",
        json={"instance_id": REGISTRATION["instance_id"], "action": "terminate"},
    )

    countdown = page.locator("#emergencies .countdown")
    expect(countdown).to_have_text(re.compile(r"^[0-2]:\d\d left$"))
    first = countdown.inner_text()
    page.wait_for_timeout(1500)
    assert countdown.inner_text() != first


def _poll(agent_api, agent_id, command_type) -> dict:
    commands = agent_api.get(f"/{agent_id}/commands/pending").json()["commands"]
    return next(c for c in commands if c["command_type"] == command_type)


def test_a_force_switch_started_on_the_page_completes_live(
    page, member, priced, agent_api, artifacts
):
    primary = Instance.objects.get(agent=priced, state="running_primary")
    _sign_in(page, member)
    page.goto(f"/instances/{primary.pk}/")

    form = page.get_by_role("form", name="Force a switch")
    form.get_by_label("Target pool").select_option("m5.large.us-east-1b")
    form.get_by_label("Yes, switch this workload now").check()
    form.get_by_role("button", name="Switch now").click()
    expect(page.locator(".messages")).to_contain_text("to m5.large.us-east-1b started")
    expect(page.locator("#live-state")).to_have_text("live")

    launch = _poll(agent_api, priced.pk, "LAUNCH_INSTANCE")
    agent_api.post(
        f"/{priced.pk}/instance-launched",
        json={"instance_id": "i-0browser",
              "temp_instance_id": launch["params"]["temp_instance_id"],
              "instance_type": "m5.large", "az": "us-east-1b",
              "request_id": launch["request_id"]},
    )
    promote = _poll(agent_api, priced.pk, "PROMOTE_REPLICA_TO_PRIMARY")
    agent_api.post(
        f"/{priced.pk}/commands/{promote['id']}/executed", json={"success": True}
    )

    expect(page.locator("#switch-status")).to_contain_text(
        "Switch to m5.large.us-east-1b completed"
    )
    assert Switch.objects.get().status == "completed"
    page.screenshot(path=artifacts / "instance.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "instance-phone.png", full_page=True)


def test_the_switch_history_exports_as_csv(page, member, priced, artifacts):
    Switch.objects.create(
        agent=priced, client=priced.client, trigger="manual",
        status="completed", from_pool_id="m5.large.us-east-1a",
        to_pool_id="m5.large.us-east-1b", downtime_ms=1200,
    )
    _sign_in(page, member)
    page.get_by_role("link", name="Savings").click()

    with page.expect_download() as download:
        page.get_by_role("link", name="Switch history (CSV)").click()

    page.screenshot(path=artifacts / "savings.png", full_page=True)
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][0:3] == ["id", "agent", "trigger"]
    assert rows[1][4:6] == ["m5.large.us-east-1a", "m5.large.us-east-1b"]
