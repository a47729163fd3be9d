"""The idle command poll, answered before URL resolution and DRF.

Every agent polls its queue every few seconds and almost every answer is
empty, so the empty answer is given here from memory and the cache: the
token's client (remembered per process for a few seconds), the agent's
owner (remembered once seen), the rate limit and the queue's idle marker,
or when the marker has expired, one read of the open commands. Anything
else, including every refusal and a queue with something to deliver, falls
through to the full view, which gives the answer and the error the protocol
specifies.
"""

import re

from django.db import DatabaseError
from django.http import JsonResponse
from rest_framework.settings import api_settings

from agents.authentication import agent_is_owned, client_for_token
from instances.services.commands import (
    command_queue_idle_confirm,
    idle_marker_keys,
    idle_marker_read,
)
from spotopt.throttling import rate_parse, window_hit_reading

IDLE_POLL_PATH = re.compile(
    r"^/api/agents/(?P<agent_id>[0-9]{1,18})/"
    r"(?P<path>commands/pending|pending-commands)$"
)
ROUTE_LABELS = {
    "commands/pending": "agents-api:agent-commands-pending",
    "pending-commands": "agents-api:agent-pending-commands",
}


class IdlePollMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET":
            match = IDLE_POLL_PATH.match(request.path_info)
            if match and _may_answer_idle_safely(request, int(match["agent_id"])):
                request.route_label = ROUTE_LABELS[match["path"]]
                body = [] if match["path"] == "pending-commands" else {"commands": []}
                return JsonResponse(body, safe=False)
        return self.get_response(request)


def _may_answer_idle_safely(request, agent_id: int) -> bool:
    try:
        return _may_answer_idle(request, agent_id)
    except DatabaseError:
        # The full view answers a database outage with its 503.
        return False


def _may_answer_idle(request, agent_id: int) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token or " " in token:
        return False

    client = client_for_token(token)
    if client is None or not client.is_active:
        return False
    if not agent_is_owned(client_id=client.pk, agent_id=agent_id):
        return False

    rate = api_settings.DEFAULT_THROTTLE_RATES.get("agent")
    if rate:
        # The rate count and the idle marker travel in one cache round trip.
        limit, window = rate_parse(rate)
        wait, cached = window_hit_reading(
            key=f"agent:{client.pk}:{agent_id}", limit=limit,
            window_seconds=window, read_keys=idle_marker_keys(agent_id),
        )
        if wait:
            return False
    else:
        cached = idle_marker_read(agent_id)

    return command_queue_idle_confirm(agent_id=agent_id, cached=cached)
