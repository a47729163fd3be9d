"""Every client path answers 404 to another client, by token or by session,
and changes nothing."""

import pytest

from agents.models import Agent
from instances.models import Command, Instance, Switch
from notifications.models import Notification

CLIENT_PATHS = [
    ("get", "/api/client/{client}"),
    ("get", "/api/client/{client}/agents"),
    ("get", "/api/client/{client}/agents/decisions"),
    ("get", "/api/client/{client}/agents/history"),
    ("post", "/api/client/agents/{agent}/toggle-enabled"),
    ("post", "/api/client/agents/{agent}/settings"),
    ("post", "/api/client/agents/{agent}/config"),
    ("delete", "/api/client/agents/{agent}"),
    ("get", "/api/client/{client}/instances"),
    ("get", "/api/client/{client}/replicas"),
    ("get", "/api/client/instances/{instance}/pricing"),
    ("get", "/api/client/instances/{instance}/metrics"),
    ("get", "/api/client/instances/{instance}/price-history"),
    ("get", "/api/client/instances/{instance}/available-options"),
    ("get", "/api/client/instances/{instance}/logs"),
    ("get", "/api/client/instances/{instance}/pool-volatility"),
    ("post", "/api/client/instances/{instance}/simulate-switch"),
    ("post", "/api/client/instances/{instance}/force-switch"),
    ("post", "/api/client/instances/{instance}/terminate"),
    ("post", "/api/client/instances/launch"),
    ("get", "/api/client/{client}/savings"),
    ("get", "/api/client/{client}/switch-history"),
    ("get", "/api/client/{client}/stats/charts"),
    ("get", "/api/client/{client}/export/savings"),
    ("get", "/api/client/{client}/export/switch-history"),
    ("post", "/api/notifications/{notification}/mark-read"),
    ("get", "/api/events/stream/{client}"),
]


@pytest.fixture
def owned(owner, priced) -> dict:
    notification = Notification.objects.create(
        client=owner.client, kind="agent_online", title="Agent web-1 is online"
    )
    instance = Instance.objects.get(agent=priced, state="running_primary")
    return {
        "client": owner.client.pk, "agent": priced.pk, "instance": instance.pk,
        "notification": notification.pk,
    }


def _body(owned) -> dict:
    return {"agent_id": owned["agent"], "target_pool_id": "m5.large.us-east-1b",
            "enabled": False}


def _state() -> tuple:
    return (
        list(Agent.objects.values_list("status", "enabled")),
        Command.objects.count(),
        Switch.objects.count(),
        Notification.objects.filter(read_at__isnull=False).count(),
    )


@pytest.mark.parametrize("method, path", CLIENT_PATHS)
def test_another_clients_token_gets_404(method, path, owned, outsider):
    before = _state()

    response = getattr(outsider.api, method)(
        path.format(**owned), _body(owned), format="json"
    )

    assert response.status_code == 404, response.content
    assert response.json()["error"] == "not_found"
    assert _state() == before


@pytest.mark.parametrize("method, path", CLIENT_PATHS)
def test_another_clients_session_gets_404(method, path, owned, outsider_web):
    before = _state()

    response = getattr(outsider_web, method)(
        path.format(**owned), _body(owned), content_type="application/json"
    )

    assert response.status_code == 404, response.content
    assert _state() == before
