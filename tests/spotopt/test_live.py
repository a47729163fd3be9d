"""Live events over the websocket and server-sent events, on a real Redis
channel layer: each client hears its own events and never another's."""

import asyncio
import os
import uuid
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections, transaction
from django.test import AsyncRequestFactory
from django.utils import timezone

from agents.models import Agent
from agents.services.lifecycle import agents_mark_offline, heartbeat_record
from notifications.services import notification_create
from pricing.models import LedgerRollup
from pricing.reports import savings_updated_publish
from spotopt.asgi import application
from spotopt.events import event_publish
from spotopt.streams import event_stream

pytestmark = [
    pytest.mark.redis,
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def redis_layer(settings, monkeypatch):
    # Consumers reach the database from worker threads; closing those
    # connections after each call lets the test database be dropped.
    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [os.environ.get("REDIS_URL", "")],
                # Parallel test workers share the Redis database.
                "prefix": f"test-{uuid.uuid4().hex[:8]}",
            },
        }
    }


async def _socket(browser, client_id) -> WebsocketCommunicator:
    cookie = f"sessionid={browser.cookies['sessionid'].value}".encode()
    return WebsocketCommunicator(
        application, f"/ws/client/{client_id}/",
        headers=[(b"cookie", cookie), (b"origin", b"http://localhost")],
    )


async def _connected(browser, client_id) -> WebsocketCommunicator:
    socket = await _socket(browser, client_id)
    connected, _ = await socket.connect(timeout=5)
    assert connected
    hello = await socket.receive_json_from(timeout=5)
    assert hello == {"type": "hello", "payload": {"client_id": client_id}}
    return socket


def _take_offline(agent_id: int) -> None:
    Agent.objects.filter(pk=agent_id).update(
        last_heartbeat_at="2000-01-01T00:00Z", offline_after="2000-01-01T00:00Z"
    )
    agents_mark_offline()


async def test_an_agent_status_change_reaches_only_its_own_client(
    owner, outsider, owner_web, outsider_web, registered
):
    own = await _connected(owner_web, owner.client.pk)
    other = await _connected(outsider_web, outsider.client.pk)

    await sync_to_async(_take_offline)(registered.pk)

    event = await own.receive_json_from(timeout=5)
    while event["type"] != "agent.status":
        event = await own.receive_json_from(timeout=5)
    assert event["payload"]["agent_id"] == registered.pk
    assert event["payload"]["status"] == "offline"
    assert await other.receive_nothing(timeout=0.5)
    await own.disconnect()
    await other.disconnect()


async def test_a_heartbeat_after_offline_pushes_online_and_a_notification(
    owner, owner_web, registered
):
    await sync_to_async(_take_offline)(registered.pk)
    own = await _connected(owner_web, owner.client.pk)

    await sync_to_async(heartbeat_record)(
        client_id=owner.client.pk, agent_id=registered.pk
    )

    # The offline events are published from a worker thread, so they may
    # still arrive after the socket connected: wait for the online ones.
    statuses, kinds = [], []
    for _ in range(6):
        event = await own.receive_json_from(timeout=5)
        if event["type"] == "agent.status":
            statuses.append(event["payload"]["status"])
        elif event["type"] == "notification.created":
            kinds.append(event["payload"]["kind"])
        if "online" in statuses and "agent_online" in kinds:
            break
    assert statuses[-1] == "online", statuses
    assert "agent_online" in kinds, kinds
    await own.disconnect()


async def test_a_session_of_another_client_is_refused(owner, outsider_web):
    socket = await _socket(outsider_web, owner.client.pk)

    connected, code = await socket.connect(timeout=5)

    assert not connected
    assert code == 4404


async def test_an_anonymous_socket_is_refused(owner):
    socket = WebsocketCommunicator(
        application, f"/ws/client/{owner.client.pk}/",
        headers=[(b"origin", b"http://localhost")],
    )

    connected, _ = await socket.connect(timeout=5)

    assert not connected


async def test_an_event_is_sent_only_after_the_transaction_commits(
    owner, owner_web
):
    own = await _connected(owner_web, owner.client.pk)

    def publish_then_roll_back():
        with transaction.atomic():
            event_publish(client_id=owner.client.pk, event_type="x.rolled",
                          payload={})
            transaction.set_rollback(True)
        event_publish(client_id=owner.client.pk, event_type="x.kept", payload={})

    await sync_to_async(publish_then_roll_back)()

    event = await own.receive_json_from(timeout=5)
    assert event["type"] == "x.kept"
    await own.disconnect()


async def test_server_sent_events_carry_the_same_events_for_a_token(
    owner, outsider
):
    request = AsyncRequestFactory().get(
        f"/api/events/stream/{owner.client.pk}",
        headers={"Authorization": f"Bearer {owner.token}"},
    )
    response = await event_stream(request, client_id=owner.client.pk)
    stream = aiter(response.streaming_content)
    assert (await anext(stream)).startswith(b"retry:")

    next_chunk = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.2)
    await sync_to_async(notification_create)(
        client_id=outsider.client.pk, kind="agent_online", title="Not yours"
    )
    await sync_to_async(notification_create)(
        client_id=owner.client.pk, kind="agent_online", title="Agent web-1 is online"
    )
    chunk = (await asyncio.wait_for(next_chunk, timeout=5)).decode()

    assert chunk.startswith("event: notification.created\n")
    assert "Agent web-1 is online" in chunk
    assert "Not yours" not in chunk
    await stream.aclose()


async def test_a_ledger_run_pushes_the_new_savings_to_its_client(
    owner, owner_web, registered
):
    today = timezone.now().date()
    await LedgerRollup.objects.acreate(
        agent=registered, client=owner.client, period="month",
        period_start=today.replace(day=1), instance_hours=Decimal(5),
        actual_cost=Decimal("0.2"), ondemand_cost=Decimal("0.5"),
        replica_cost=Decimal(0), fallback_cost=Decimal(0),
    )
    await LedgerRollup.objects.acreate(
        agent=registered, client=owner.client, period="day", period_start=today,
        instance_hours=Decimal(5), actual_cost=Decimal("0.2"),
        ondemand_cost=Decimal("0.5"), replica_cost=Decimal(0),
        fallback_cost=Decimal(0),
    )
    own = await _connected(owner_web, owner.client.pk)

    published = await sync_to_async(savings_updated_publish)(since=today)

    event = await own.receive_json_from(timeout=5)
    assert published == 1
    assert event["type"] == "savings.updated"
    assert event["payload"]["month"]["savings"] == 0.3
    await own.disconnect()


async def test_events_from_a_thread_without_a_loop_arrive_in_order(owner):
    # A WSGI worker's thread has no event loop: its events go through the
    # process's publisher loop instead of a new loop and thread per event.
    from channels.layers import get_channel_layer

    from spotopt import events

    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.client_group(owner.client.pk), channel)

    def publish_all():
        try:
            for number in range(20):
                event_publish(client_id=owner.client.pk,
                              event_type=f"test.{number}",
                              payload={"number": number})
        finally:
            # on_commit() asked this thread's connection for its autocommit.
            connections.close_all()

    await asyncio.to_thread(publish_all)
    # What an exiting process waits for: everything queued has been sent.
    flushed = await asyncio.to_thread(events._publisher_instance.flush)

    received = [await asyncio.wait_for(layer.receive(channel), 5)
                for _ in range(20)]
    assert flushed
    assert [message["event"] for message in received] == [
        f"test.{number}" for number in range(20)
    ]
