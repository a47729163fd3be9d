"""Request-wide middleware: request ids, a body size limit, metrics, CSP and
the login attempt limit."""

import time
import uuid

from django.conf import settings
from django.http import JsonResponse

from spotopt.logging import current_request_id

REQUEST_ID_MAX_LENGTH = 128


class RequestIdMiddleware:
    """Tag the request and its log records with the caller's X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")[:REQUEST_ID_MAX_LENGTH]
        request.log_id = supplied or uuid.uuid4().hex
        token = current_request_id.set(request.log_id)
        try:
            return self.get_response(request)
        finally:
            current_request_id.reset(token)


class BodySizeLimitMiddleware:
    """Refuse oversized bodies before anything reads them.

    Django only checks form bodies; a JSON body is read whole by the parser,
    so the declared length is checked here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.REQUEST_BODY_MAX_BYTES:
            return JsonResponse(
                {
                    "error": "payload_too_large",
                    "message": "Request body exceeds "
                    f"{settings.REQUEST_BODY_MAX_BYTES} bytes.",
                    "details": {},
                },
                status=413,
            )
        return self.get_response(request)


class MetricsMiddleware:
    """Time every request and label it with its route, not its raw path.

    The start is kept as `request.arrival_clock` (a perf_counter reading):
    the emergency path measures its delay from it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from spotopt.metrics import request_observe

        started = request.arrival_clock = time.perf_counter()
        response = self.get_response(request)
        request_observe(
            method=request.method,
            route=route_name(request),
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response


def route_name(request) -> str:
    """The namespaced URL name, else the URL pattern; never ids from the path."""
    label = getattr(request, "route_label", None)
    if label:
        return label
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    if match.url_name:
        return match.view_name
    return match.route or "unmatched"


class ContentSecurityPolicyMiddleware:
    """Send the CONTENT_SECURITY_POLICY setting with every response.

    Off (empty) by default; production turns it on. A view that sets its
    own policy keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class LoginThrottleMiddleware:
    """Limit POSTs to every view named "login": the admin's and the dashboard's.

    Matching the URL name, not a path, covers any login page an app adds.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from spotopt.throttling import login_refusal

        match = request.resolver_match
        if match is None or match.url_name != "login":
            return None
        return login_refusal(request)
