"""What the full heartbeat view leaves for the shortcut: a memo of what the
agent was told, kept only where the shortcut reads it (PostgreSQL). This
file runs on both databases."""

import pytest
from django.core.cache import cache
from django.db import connection

from agents.heartbeats import heartbeat_memo_key
from instances.models import Instance
from tests.conftest import REGISTRATION

pytestmark = pytest.mark.django_db


def test_the_full_view_leaves_a_memo_only_where_the_shortcut_reads_it(
    owner, registered
):
    key = heartbeat_memo_key(registered.pk)
    cache.delete(key)

    response = owner.post(
        f"/api/agents/{registered.pk}/heartbeat", {"status": "online"}
    )

    assert response.status_code == 200
    memo = cache.get(key)
    if connection.vendor == "postgresql":
        _config, notice_status = memo
        assert notice_status == "none"
    else:
        assert memo is None


@pytest.mark.postgres
def test_registration_leaves_the_memo_so_the_first_heartbeat_takes_the_shortcut(
    owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        registered = owner.post("/api/agents/register", REGISTRATION)
    agent_id = registered.json()["agent_id"]
    assert owner.get(f"/api/agents/{agent_id}/commands/pending").status_code == 200

    response = owner.post(f"/api/agents/{agent_id}/heartbeat", {"status": "online"})

    assert response.status_code == 200
    assert "Allow" not in response  # DRF's views add it; the shortcut does not
    assert response.json()["config"] == registered.json()["config"]


@pytest.mark.postgres
def test_a_retired_instance_registering_leaves_no_memo(
    owner, registered, django_capture_on_commit_callbacks
):
    Instance.objects.filter(agent=registered).update(
        state=Instance.State.ZOMBIE, state_reason="replaced by a switch"
    )
    cache.delete(heartbeat_memo_key(registered.pk))

    with django_capture_on_commit_callbacks(execute=True):
        answer = owner.post("/api/agents/register", REGISTRATION)

    assert answer.json()["message"]
    assert cache.get(heartbeat_memo_key(registered.pk)) is None
