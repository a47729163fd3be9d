"""The hot agent calls for requests that reach Django directly.

Behind the WSGI workers agents.hotpath.AgentHotPath answers these calls
before Django does; this middleware gives the same answers where no such
front stands (the ASGI server, the test client), and steps aside for a call
the front has tried already.
"""

from django.http import HttpResponse

from agents.hotpath import (
    HOT_PATH_TRIED,
    PLAIN_HEARTBEAT_MAX_BYTES,
    HotCall,
    hot_answer,
    hot_route,
)


class AgentHotPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        route = hot_route(request.path_info, request.method)
        if route is None or HOT_PATH_TRIED in request.META:
            return self.get_response(request)

        request.get_host()  # A host Django refuses is a 400, here as anywhere.
        call = _call_of(request, *route)
        body = hot_answer(call)
        if body is None:
            # Counted once: the full view's throttle reads this.
            request.agent_rate_wait = call.rate_wait
            return self.get_response(request)
        request.route_label = call.route_label
        return HttpResponse(body, content_type="application/json")


def _call_of(request, agent_id: int, route: str) -> HotCall:
    body = b""
    if route == "heartbeat" and _declared_length(request) <= PLAIN_HEARTBEAT_MAX_BYTES:
        body = request.body
    return HotCall(
        agent_id=agent_id,
        route=route,
        path=request.path,
        authorization=request.headers.get("Authorization", ""),
        request_id=request.headers.get("X-Request-ID", ""),
        content_type=request.META.get("CONTENT_TYPE", ""),
        body=body,
    )


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return PLAIN_HEARTBEAT_MAX_BYTES + 1
