"""The usual heartbeat answered in one statement before DRF (PostgreSQL):
the same answer as the full view, the same idempotency, and every heartbeat
that moves something still recorded by the full view."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.heartbeats import heartbeat_memo_key
from agents.idempotency import body_digest
from agents.models import Agent, IdempotencyKey
from agents.services.lifecycle import agents_mark_offline
from instances.models import AuditEvent, Command, Instance
from instances.services.commands import command_enqueue

pytestmark = pytest.mark.postgres

REPLAYED = "Idempotent-Replayed"
AGENT_BODY = {  # what spotagent sends every 30 s
    "status": "online",
    "instance_id": "i-0primary",
    "reconnect": False,
    "inventory_snapshot": {"instances": ["i-0primary"], "count": 1},
    "health_metrics": {"agent_version": "2.1.0"},
}


def _heartbeat(owner, agent, body=None, **headers):
    return owner.post(
        f"/api/agents/{agent.pk}/heartbeat", AGENT_BODY if body is None else body,
        **headers,
    )


def _warm(owner, agent):
    """A poll marks the queue idle; a full heartbeat leaves the memo."""
    assert owner.get(f"/api/agents/{agent.pk}/commands/pending").status_code == 200
    full = _heartbeat(owner, agent)
    assert "Allow" in full, "the first heartbeat goes through the full view"
    return full


def _took_shortcut(response) -> bool:
    # DRF's views answer with an Allow header; the middleware does not.
    return response.status_code == 200 and "Allow" not in response


def _statements(captured) -> list[str]:
    return [
        query["sql"].split()[0] for query in captured.captured_queries
        if "SAVEPOINT" not in query["sql"]
    ]


def test_a_warm_heartbeat_is_one_statement_with_the_full_views_answer(
    owner, registered
):
    full = _warm(owner, registered)
    before = Agent.objects.get(pk=registered.pk).last_heartbeat_at

    with CaptureQueriesContext(connection) as captured:
        quick = _heartbeat(owner, registered, **{"X-Request-ID": "beat-1"})

    assert _took_shortcut(quick)
    assert _statements(captured) == ["WITH"]
    assert quick["Content-Type"] == "application/json"
    answer = quick.json()
    assert set(answer) == set(full.json())
    assert {**answer, "server_time": None} == {**full.json(), "server_time": None}
    after = Agent.objects.get(pk=registered.pk)
    assert after.last_heartbeat_at > before
    assert after.offline_after > after.last_heartbeat_at


def test_the_shortcut_stores_the_answer_a_repeat_replays(owner, registered):
    _warm(owner, registered)
    headers = {"X-Request-ID": "beat-once"}
    first = _heartbeat(owner, registered, **headers)
    beat_at = Agent.objects.get(pk=registered.pk).last_heartbeat_at

    repeat = _heartbeat(owner, registered, **headers)

    assert _took_shortcut(first)
    key = IdempotencyKey.objects.get(key="beat-once")
    assert key.state == IdempotencyKey.State.DONE
    assert key.response_status == 200
    assert key.response_body == first.json()
    assert key.body_hash == body_digest(AGENT_BODY)
    assert key.path == f"/api/agents/{registered.pk}/heartbeat"
    assert repeat.headers.get(REPLAYED) == "true"
    assert repeat.json() == first.json()
    assert Agent.objects.get(pk=registered.pk).last_heartbeat_at == beat_at


def test_a_repeat_with_another_body_is_refused_and_changes_nothing(
    owner, registered
):
    _warm(owner, registered)
    headers = {"X-Request-ID": "beat-reused"}
    _heartbeat(owner, registered, **headers)
    beat_at = Agent.objects.get(pk=registered.pk).last_heartbeat_at

    reused = _heartbeat(owner, registered, {**AGENT_BODY, "reconnect": True},
                        **headers)

    assert reused.status_code == 422
    assert Agent.objects.get(pk=registered.pk).last_heartbeat_at == beat_at


def test_a_repeat_while_the_first_is_running_is_a_409_and_changes_nothing(
    owner, registered
):
    _warm(owner, registered)
    IdempotencyKey.objects.create(
        client=owner.client, path=f"/api/agents/{registered.pk}/heartbeat",
        key="in-flight", body_hash=body_digest(AGENT_BODY),
    )
    beat_at = Agent.objects.get(pk=registered.pk).last_heartbeat_at

    response = _heartbeat(owner, registered, **{"X-Request-ID": "in-flight"})

    assert response.status_code == 409
    assert Agent.objects.get(pk=registered.pk).last_heartbeat_at == beat_at


def test_a_config_changed_elsewhere_is_answered_at_once(owner, registered):
    _warm(owner, registered)
    Agent.objects.filter(pk=registered.pk).update(
        auto_switch_enabled=True, min_savings_percent=25.5
    )

    changed = _heartbeat(owner, registered)
    next_one = _heartbeat(owner, registered)

    assert not _took_shortcut(changed)
    assert changed.json()["config"]["auto_switch_enabled"] is True
    assert changed.json()["config"]["min_savings_percent"] == 25.5
    assert _took_shortcut(next_one)
    assert next_one.json()["config"] == changed.json()["config"]


def test_a_notice_raised_elsewhere_is_answered_at_once(owner, registered):
    _warm(owner, registered)
    Agent.objects.filter(pk=registered.pk).update(notice_status="rebalance")

    response = _heartbeat(owner, registered)

    assert not _took_shortcut(response)
    assert response.json()["notice_status"] == "rebalance"


def test_an_agent_marked_offline_comes_back_online_with_its_event(
    owner, registered
):
    _warm(owner, registered)
    silent_since = timezone.now() - timezone.timedelta(seconds=121)
    Agent.objects.filter(pk=registered.pk).update(
        last_heartbeat_at=silent_since, offline_after=silent_since
    )
    assert agents_mark_offline() == 1

    response = _heartbeat(owner, registered)

    assert not _took_shortcut(response)
    assert Agent.objects.get(pk=registered.pk).status == Agent.Status.ONLINE
    assert AuditEvent.objects.filter(
        agent_id=registered.pk, event_type="agent_status", state_after="online"
    ).exists()


def test_a_terminated_instance_reported_running_is_still_found_a_zombie(
    owner, registered
):
    _warm(owner, registered)
    Instance.objects.filter(agent=registered, instance_id="i-0primary").update(
        state=Instance.State.TERMINATED
    )

    response = _heartbeat(owner, registered)

    assert not _took_shortcut(response)
    assert Instance.objects.get(instance_id="i-0primary").state == (
        Instance.State.ZOMBIE
    )


def test_a_queued_command_is_counted(owner, registered):
    _warm(owner, registered)
    command_enqueue(agent=registered, command_type=Command.Type.APPLY_CONFIG)

    response = _heartbeat(owner, registered)

    assert response.json()["pending_commands"] == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "stopped"}, 200),
        ({"instance_id": False}, 400),
        ({"instance_id": "i-" + "0" * 70}, 400),
        ({"instance_id": "i-\u0000"}, 400),
        ({"reconnect": "maybe"}, 400),
        ({"health_metrics": ["not", "an", "object"]}, 400),
        ({"inventory_snapshot": {"instances": "i-1", "count": 1}}, 400),
        ({"inventory_snapshot": {"instances": [], "count": -1}}, 400),
        ({"inventory_snapshot": {"instances": [], "count": True}}, 400),
        ({"request_id": "in-the-body"}, 200),
    ],
)
def test_bodies_the_shortcut_does_not_take_get_the_full_views_answer(
    owner, registered, body, status
):
    _warm(owner, registered)

    response = _heartbeat(owner, registered, {**AGENT_BODY, **body})

    assert response.status_code == status, response.content
    assert "Allow" in response


def test_a_body_in_another_charset_is_the_full_views_to_decode(owner, registered):
    _warm(owner, registered)

    response = owner.api.post(
        f"/api/agents/{registered.pk}/heartbeat",
        '{"status": "online"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )

    assert "Allow" in response
    assert response.status_code == 200, response.content


def test_another_clients_token_is_404_with_the_memo_warm(
    owner, outsider, registered
):
    _warm(owner, registered)

    response = _heartbeat(outsider, registered)

    assert response.status_code == 404


def test_a_memo_that_is_not_one_is_ignored(owner, registered):
    _warm(owner, registered)
    cache.set(heartbeat_memo_key(registered.pk), "garbage")

    response = _heartbeat(owner, registered)

    assert response.status_code == 200
    assert not _took_shortcut(response)


def test_a_call_that_falls_through_is_rate_counted_once(
    owner, registered, settings
):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "agent": "4/min"}

    with override_settings(
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    ):
        # A stopping agent's heartbeat is counted by the middleware, then
        # recorded by the full view; counted twice, the third would be 429.
        statuses = [
            _heartbeat(owner, registered, {"status": "stopped"}).status_code
            for _ in range(5)
        ]

    assert statuses == [200, 200, 200, 200, 429]
