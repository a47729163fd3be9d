"""Server-sent events: the websocket's feed for consumers that prefer HTTP.

The view is async and reads the channel layer directly, so an open stream
holds no thread. It accepts the client token or the dashboard session.
"""

import asyncio
import json
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import Http404, StreamingHttpResponse

from agents.authentication import client_for_token
from spotopt.events import client_group
from spotopt.tenancy import client_of

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15


def _caller_client_id(request) -> int | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token:
        client = client_for_token(token.strip())
        return client.pk if client and client.is_active else None
    client = client_of(getattr(request, "user", None))
    return client.pk if client else None


async def event_stream(request, client_id: int):
    caller = await sync_to_async(_caller_client_id)(request)
    if caller is None or caller != client_id:
        raise Http404
    layer = get_channel_layer()
    if layer is None:
        raise Http404

    response = StreamingHttpResponse(
        _events(layer, client_id), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(layer, client_id: int):
    channel = await layer.new_channel()
    group = client_group(client_id)
    await layer.group_add(group, channel)
    try:
        yield "retry: 3000\n\n"
        while True:
            try:
                message = await asyncio.wait_for(
                    layer.receive(channel), timeout=KEEPALIVE_SECONDS
                )
            except TimeoutError:
                # A comment line keeps proxies from closing an idle stream.
                yield ": keep-alive\n\n"
                continue
            if message.get("type") != "client.event":
                continue
            data = {"type": message["event"], "payload": message["payload"],
                    "at": message["at"]}
            yield f"event: {message['event']}\ndata: {json.dumps(data)}\n\n"
    finally:
        await layer.group_discard(group, channel)
