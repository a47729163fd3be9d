"""The two hottest agent calls, answered before URL resolution and DRF.

Every agent polls its queue every few seconds and heartbeats every 30 s, and
almost every answer is the same: an empty queue, an unchanged agent. Those
answers are given here from memory and the cache: the token's client
(remembered per process for a few seconds), the agent's owner (remembered
once seen, in the process and the cache), then in one cache round trip the
rate limit and the queue's idle marker; then, for a poll whose marker has
expired, one read of the open commands, and for a heartbeat, on
PostgreSQL, one statement (agents.heartbeats). Anything else, including
every refusal, a queue with something to deliver and a heartbeat that
moves something, falls through to the full view, which gives the answer
and the error the protocol specifies.
"""

import json
import re

from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from rest_framework.settings import api_settings

from agents.api.serializers import HeartbeatIn
from agents.authentication import agent_is_owned, client_for_token
from agents.heartbeats import (
    heartbeat_memo_key,
    heartbeat_record_unchanged,
    heartbeat_shortcut_available,
    running_instance_ids,
)
from agents.idempotency import body_digest, request_key_of
from instances.services.commands import (
    command_queue_idle_confirm,
    command_queue_waiting_cached,
    idle_marker_keys,
)
from spotopt.cache import cache_safely
from spotopt.throttling import rate_parse, window_hit_reading

AGENT_HOT_PATH = re.compile(
    r"^/api/agents/(?P<agent_id>[0-9]{1,18})/"
    r"(?P<path>commands/pending|pending-commands|heartbeat)$"
)
ROUTE_LABELS = {
    "commands/pending": "agents-api:agent-commands-pending",
    "pending-commands": "agents-api:agent-pending-commands",
    "heartbeat": "agents-api:agent-heartbeat",
}
HOT_METHODS = {
    "commands/pending": "GET", "pending-commands": "GET", "heartbeat": "POST",
}
# A plain heartbeat is a few hundred bytes; a larger one takes the full view.
PLAIN_HEARTBEAT_MAX_BYTES = 16_384
INSTANCE_ID_MAX_LENGTH = HeartbeatIn().fields["instance_id"].max_length


class AgentHotPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        match = AGENT_HOT_PATH.match(request.path_info)
        if match and request.method == HOT_METHODS[match["path"]]:
            response = _hot_answer_safely(
                request, int(match["agent_id"]), match["path"]
            )
            if response is not None:
                request.route_label = ROUTE_LABELS[match["path"]]
                return response
        return self.get_response(request)


def _hot_answer_safely(request, agent_id: int, path: str):
    try:
        return _hot_answer(request, agent_id, path)
    except DatabaseError:
        # The full view answers a database outage with its 503.
        return None


def _hot_answer(request, agent_id: int, path: str):
    if path == "heartbeat" and not heartbeat_shortcut_available():
        return None
    client_id = _owner_checked(request, agent_id)
    if client_id is None:
        return None
    read_keys = idle_marker_keys(agent_id)
    if path == "heartbeat":
        read_keys.append(heartbeat_memo_key(agent_id))
    cached = _rate_counted_reading(request, client_id, agent_id, read_keys)
    if cached is None:
        return None

    if path == "heartbeat":
        return _heartbeat_answer(request, client_id, agent_id, cached)
    if not command_queue_idle_confirm(agent_id=agent_id, cached=cached):
        return None
    body = [] if path == "pending-commands" else {"commands": []}
    return JsonResponse(body, safe=False)


def _owner_checked(request, agent_id: int) -> int | None:
    """The caller's client id when its token is good and owns the agent."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        return None

    client = client_for_token(token)
    if client is None or not client.is_active:
        return None
    if not agent_is_owned(client_id=client.pk, agent_id=agent_id):
        return None
    return client.pk


def _rate_counted_reading(
    request, client_id: int, agent_id: int, read_keys: list[str]
) -> dict | None:
    """Count the call against the agent's rate limit and read the cache keys
    the answer needs, in one round trip; None when over the limit."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("agent")
    if not rate:
        return cache_safely(
            lambda: cache.get_many(read_keys), {}, about="the agent hot path"
        )

    limit, window = rate_parse(rate)
    wait, cached = window_hit_reading(
        key=f"agent:{client_id}:{agent_id}", limit=limit,
        window_seconds=window, read_keys=read_keys,
    )
    # Counted once: the full view's throttle reads this instead of counting.
    request.agent_rate_wait = wait
    return None if wait else cached


def _heartbeat_answer(request, client_id: int, agent_id: int, cached: dict):
    pending = command_queue_waiting_cached(agent_id=agent_id, cached=cached)
    if pending is None or not _is_utf8_json(request):
        return None
    body = plain_heartbeat_body(request.body)
    if body is None:
        return None

    key = request_key_of(request.headers.get("X-Request-ID", ""), body)
    rendered = heartbeat_record_unchanged(
        client_id=client_id,
        agent_id=agent_id,
        running=running_instance_ids(body.get("inventory_snapshot")),
        pending_commands=pending,
        told=cached.get(heartbeat_memo_key(agent_id)),
        request_path=request.path,
        request_key=key,
        body_digest=body_digest(body) if key else "",
    )
    if rendered is None:
        return None
    return HttpResponse(rendered, content_type="application/json")


def _is_utf8_json(request) -> bool:
    # DRF decodes with the declared charset; this path knows only UTF-8.
    charset = request.content_params.get("charset", "utf-8").lower()
    return request.content_type == "application/json" and charset in (
        "utf-8", "utf8",
    )


def plain_heartbeat_body(raw: bytes) -> dict | None:
    """The body of a heartbeat saying only "online", with fields of the
    shapes agents send; None for anything else, the full view's to judge."""
    if not raw or len(raw) > PLAIN_HEARTBEAT_MAX_BYTES:
        return None
    try:
        body = json.loads(raw.decode(), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError included
        return None
    if not isinstance(body, dict) or "request_id" in body:
        return None
    if body.get("status", "online") != "online":
        return None
    instance_id = body.get("instance_id")
    instance_id = "" if instance_id is None else instance_id
    if not isinstance(instance_id, str) or len(instance_id) > INSTANCE_ID_MAX_LENGTH:
        return None
    if not instance_id.isprintable():
        return None  # The serializer refuses NULs and lone surrogates.
    if not isinstance(body.get("health_metrics"), (dict, type(None))):
        return None
    if not isinstance(body.get("reconnect", False), bool):
        return None
    if not _plain_snapshot(body.get("inventory_snapshot")):
        return None
    return body


def _plain_snapshot(snapshot) -> bool:
    if snapshot is None:
        return True
    if not isinstance(snapshot, dict):
        return False
    count = snapshot.get("count", 0)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        return False
    return isinstance(snapshot.get("instances", []), list)


def _refuse_constant(name: str):
    # NaN and Infinity are not JSON; DRF's parser refuses them too.
    raise ValueError(name)
