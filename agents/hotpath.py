"""The two hottest agent calls, answered without Django's request cycle.

Every agent polls its queue every 5 s and heartbeats every 30 s, and almost
every answer is the same: an empty queue, an unchanged agent. Those answers
are given here from this process's memory where it can: the token's client
(for a few seconds), the agent's owner, its idle queue (see
instances.queue_watch), what it was last told and its rate count (up to an
allowance). What memory lacks comes in one cache round trip (the owner, the
queue's idle marker, the memo, the shared rate count); where the marker has
expired, one count of the open commands renews it; and a heartbeat is, on
PostgreSQL, one statement (agents.heartbeats). Anything else, including
every refusal, a queue with something to deliver and a heartbeat that moves
something, falls through to the full view, which gives the answer and the
error the protocol specifies.

Two doors lead here: agents.front wraps the WSGI application, so the agent
API's workers answer these calls before Django builds a request (at 10,000
agents that is 2,000 polls a second, and Django's handler, signals and
middleware cost more than the answer); agents.middleware does the same for
requests that reach Django another way (ASGI, the test client). A call the
front let through is not tried again, and its rate count is not repeated.
"""

import json
import logging
import re
from dataclasses import dataclass

from django.core.cache import cache
from django.db import DatabaseError
from django.utils.http import parse_header_parameters
from redis.exceptions import RedisError
from rest_framework.settings import api_settings

from agents.api.serializers import HeartbeatIn
from agents.authentication import (
    agent_owned_in_memory,
    agent_owner_confirm,
    agent_owner_key,
    client_for_token,
)
from agents.heartbeats import (
    heartbeat_memo_key,
    heartbeat_record_unchanged,
    heartbeat_shortcut_available,
    running_instance_ids,
)
from agents.idempotency import body_digest, request_key_of
from instances.queue_watch import queue_watch, queue_watch_reset
from instances.services.commands import (
    command_queue_waiting,
    idle_marker_keys,
    idle_marker_lifetime,
)
from spotopt.cache import cache_safely
from spotopt.throttling import (
    process_allowance,
    process_window_hit,
    process_windows_clear,
    rate_parse,
    window_hit_reading,
)

logger = logging.getLogger(__name__)

AGENT_HOT_PATH = re.compile(
    r"^/api/agents/(?P<agent_id>[0-9]{1,18})/"
    r"(?P<route>commands/pending|pending-commands|heartbeat)$"
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
# The WSGI environ key by which a door tells Django it tried a call.
HOT_PATH_TRIED = "spotopt.hot_path_tried"
# What each agent was last told, as this process last read it from the
# shared cache: the heartbeat's statement checks it against the agent's row,
# so a stale one only sends that heartbeat to the full view.
_memos: dict[int, tuple] = {}
MEMOS_MAX = 200_000


@dataclass(slots=True)
class HotCall:
    """What the hot path reads of a request, whichever door it came in by."""

    agent_id: int
    route: str
    path: str
    authorization: str
    request_id: str
    content_type: str
    body: bytes = b""
    # Seconds the rate limit asks to wait, once the call has been counted.
    rate_wait: int | None = None

    @property
    def route_label(self) -> str:
        return ROUTE_LABELS[self.route]


def hot_route(path: str, method: str) -> tuple[int, str] | None:
    """(agent id, route) when the request is one the hot path may answer."""
    match = AGENT_HOT_PATH.match(path)
    if match is None or HOT_METHODS[match["route"]] != method:
        return None
    return int(match["agent_id"]), match["route"]


def hot_answer(call: HotCall) -> bytes | None:
    """The JSON body of a 200 answer, or None: the full view must answer.

    Never raises for a database or cache outage: the full view answers
    those with its 503 or works without the cache.
    """
    try:
        return _answer(call)
    except (DatabaseError, RedisError, OSError):
        return None


def _answer(call: HotCall) -> bytes | None:
    if call.route == "heartbeat" and not heartbeat_shortcut_available():
        return None
    client_id = _client_checked(call)
    if client_id is None:
        return None
    owned = agent_owned_in_memory(client_id=client_id, agent_id=call.agent_id)
    watch = queue_watch()
    token = watch.mark()
    waiting = watch.waiting(call.agent_id)
    told = _memos.get(call.agent_id) if call.route == "heartbeat" else None
    read_keys = idle_marker_keys(call.agent_id) if waiting is None else []
    if call.route == "heartbeat" and told is None:
        read_keys.append(heartbeat_memo_key(call.agent_id))
    if not owned:
        read_keys.append(agent_owner_key(call.agent_id))
    cached = _rate_counted_reading(call, client_id, read_keys)
    if cached is None:
        return None
    if not owned and not agent_owner_confirm(
        client_id=client_id, agent_id=call.agent_id,
        shared=cached.get(agent_owner_key(call.agent_id)),
    ):
        return None  # Another client's agent, or none: the full view's 404.

    if waiting is None:
        waiting = command_queue_waiting(agent_id=call.agent_id, cached=cached)
        if waiting is None:
            return None  # Something to hand out: the full view delivers it.
        if not waiting:
            watch.remember(call.agent_id, 0, idle_marker_lifetime(), token)
    if call.route == "heartbeat":
        if told is None:
            told = cached.get(heartbeat_memo_key(call.agent_id))
        return _heartbeat_answer(call, client_id, waiting, told)
    return b"[]" if call.route == "pending-commands" else b'{"commands":[]}'


def _client_checked(call: HotCall) -> int | None:
    """The id of the caller's client when its token is good and active."""
    scheme, _, token = call.authorization.partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        return None

    client = client_for_token(token)
    if client is None or not client.is_active:
        return None
    return client.pk


def _rate_counted_reading(
    call: HotCall, client_id: int, read_keys: list[str]
) -> dict | None:
    """Count the call against the agent's rate limit and read the cache keys
    the answer needs, in one round trip, or none at all while the call is
    within this process's allowance and nothing is to be read; None when
    over the limit."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("agent")
    if not rate:
        if not read_keys:
            return {}
        return cache_safely(
            lambda: cache.get_many(read_keys), {}, about="the agent hot path"
        )

    limit, window = rate_parse(rate)
    key = f"agent:{client_id}:{call.agent_id}"
    in_process = process_window_hit(key, window)
    allowance = process_allowance(limit)
    shared = 0
    if in_process > allowance:
        # Past the allowance, counted in the shared cache, the first time
        # with the calls let through before.
        shared = in_process if in_process == allowance + 1 else 1
    wait, cached = 0, {}
    if shared or read_keys:
        wait, cached = window_hit_reading(
            key=key, limit=limit, window_seconds=window, read_keys=read_keys,
            hits=shared,
        )
    # Counted once: the full view's throttle reads this instead of counting.
    call.rate_wait = wait
    return None if wait else cached


def _heartbeat_answer(call: HotCall, client_id: int, pending: int, told):
    if not _is_utf8_json(call.content_type):
        return None
    body = plain_heartbeat_body(call.body)
    if body is None:
        return None

    key = request_key_of(call.request_id, body)
    rendered = heartbeat_record_unchanged(
        client_id=client_id,
        agent_id=call.agent_id,
        running=running_instance_ids(body.get("inventory_snapshot")),
        pending_commands=pending,
        told=told,
        request_path=call.path,
        request_key=key,
        body_digest=body_digest(body) if key else "",
    )
    if rendered is None:
        _memos.pop(call.agent_id, None)  # Stale, or the full view's case.
    elif len(_memos) < MEMOS_MAX:
        _memos[call.agent_id] = told
    return rendered


_utf8_json_types: dict[str, bool] = {}


def _is_utf8_json(content_type: str) -> bool:
    # DRF decodes with the declared charset; this path knows only UTF-8.
    known = _utf8_json_types.get(content_type)
    if known is None:
        media_type, params = parse_header_parameters(content_type)
        known = media_type == "application/json" and params.get(
            "charset", "utf-8"
        ).lower() in ("utf-8", "utf8")
        if len(_utf8_json_types) < 64:  # Agents send one or two spellings.
            _utf8_json_types[content_type] = known
    return known


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


def hot_path_memory_clear() -> None:
    """Forget what this process remembers for the hot calls (tests)."""
    _memos.clear()
    process_windows_clear()
    queue_watch_reset()
