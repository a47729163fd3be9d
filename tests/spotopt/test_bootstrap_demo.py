"""`bootstrap_demo`: what `make run` prints on first start, and only then."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as BrowserSession

from agents.models import Client, ClientMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_start(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)
    return out.getvalue(), tmp_path


def _login(output: str, label: str) -> tuple[str, str]:
    return re.search(rf"{label} login \([^)]*\): (\S+) / (\S+)", output).groups()


def test_first_start_prints_the_token_and_both_logins_once(first_start):
    output, folder = first_start
    again = StringIO()

    call_command("bootstrap_demo", stdout=again)

    token = re.search(r"token: (\S+)", output).group(1)
    assert (folder / ".demo-token").read_text() == token
    assert _login(output, "Dashboard")[0] == "demo"
    assert _login(output, "Operator")[0] == "operator"
    assert token not in again.getvalue()
    assert _login(output, "Dashboard")[1] not in again.getvalue()
    assert _login(output, "Operator")[1] not in again.getvalue()
    assert Client.objects.filter(name="Demo").count() == 1


def test_the_dashboard_login_sees_the_demo_clients_overview(first_start):
    output, _ = first_start
    username, password = _login(output, "Dashboard")
    browser = BrowserSession()

    assert browser.login(username=username, password=password)
    page = browser.get("/")

    membership = ClientMembership.objects.get(user__username=username)
    assert membership.client.name == "Demo"
    assert page.status_code == 200
    assert page.context["client"] == membership.client


def test_the_operator_login_opens_the_admin(first_start):
    output, _ = first_start
    username, password = _login(output, "Operator")
    browser = BrowserSession()

    assert browser.login(username=username, password=password)

    assert browser.get("/admin/").status_code == 200
