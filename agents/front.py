"""The agent API's WSGI front: the hot agent calls answered before Django.

spotopt.wsgi wraps Django's WSGI application in AgentHotPath, so an idle
poll or a plain heartbeat (agents.hotpath) costs no request object, no
signals and no middleware; everything else, and every call the hot path
cannot answer, goes on to Django as it came.
"""

import time
from io import BytesIO

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from agents.hotpath import (
    HOT_PATH_TRIED,
    PLAIN_HEARTBEAT_MAX_BYTES,
    HotCall,
    hot_answer,
    hot_route,
)
from spotopt.metrics import request_observe
from spotopt.throttling import RATE_WAIT


class AgentHotPath:
    """WSGI middleware: the hot calls answered before Django's handler.

    An answer carries what Django's security middleware would have added;
    a call it cannot answer goes on to Django marked as tried, with its
    rate count, its body still readable. A request whose host Django would
    refuse, or that Django would redirect to HTTPS, is left to Django.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        route = hot_route(environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"])
        if route is None or not _is_plain_request(environ):
            return self.application(environ, start_response)

        started = time.perf_counter()
        call = _call_of(environ, *route)
        body = None if call is None else hot_answer(call)
        if body is None:
            environ[HOT_PATH_TRIED] = True
            environ[RATE_WAIT] = None if call is None else call.rate_wait
            return self.application(environ, start_response)

        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *_security_headers(_is_secure(environ)),
        ]
        start_response("200 OK", headers)
        request_observe(
            method=environ["REQUEST_METHOD"], route=call.route_label,
            status=200, seconds=time.perf_counter() - started,
        )
        return [body]


def _call_of(environ, agent_id: int, route: str) -> HotCall | None:
    """The call of a WSGI request; None for a body the front will not read
    (too large, or of no declared length). A body it read is put back for
    Django to read again."""
    body = b""
    if route == "heartbeat":
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if not 0 < length <= PLAIN_HEARTBEAT_MAX_BYTES:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = BytesIO(body)
    return HotCall(
        agent_id=agent_id,
        route=route,
        path=environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"],
        authorization=environ.get("HTTP_AUTHORIZATION", ""),
        request_id=environ.get("HTTP_X_REQUEST_ID", ""),
        content_type=environ.get("CONTENT_TYPE", ""),
        body=body,
    )


_allowed_hosts: dict[str, bool] = {}


def _is_plain_request(environ) -> bool:
    """Whether Django would serve the request as it is: a Host header it
    allows (judged by Django once per host), no redirect to HTTPS to make."""
    host = environ.get("HTTP_HOST")
    if host is None or settings.USE_X_FORWARDED_HOST:
        return False
    if settings.SECURE_SSL_REDIRECT and not _is_secure(environ):
        return False
    allowed = _allowed_hosts.get(host)
    if allowed is None:
        try:
            WSGIRequest(environ).get_host()
            allowed = True
        except DisallowedHost:
            allowed = False
        if len(_allowed_hosts) < 64:  # The hosts a load balancer sends.
            _allowed_hosts[host] = allowed
    return allowed


def _is_secure(environ) -> bool:
    header = settings.SECURE_PROXY_SSL_HEADER
    if header:
        name, secure_value = header
        value = environ.get(name)
        if value is not None:
            return value.split(",", 1)[0].strip() == secure_value
    return environ.get("wsgi.url_scheme") == "https"


_headers_by_security: dict[bool, list[tuple[str, str]]] = {}


def _security_headers(secure: bool) -> list[tuple[str, str]]:
    """The headers Django's SecurityMiddleware adds to an answer, made by
    that middleware itself once, so the two doors answer alike."""
    headers = _headers_by_security.get(secure)
    if headers is None:
        request = HttpRequest()
        request.is_secure = lambda: secure
        response = SecurityMiddleware(lambda _request: None).process_response(
            request, HttpResponse()
        )
        headers = _headers_by_security[secure] = [
            (name, value) for name, value in response.items()
            if name != "Content-Type"
        ]
    return headers


@receiver(setting_changed)
def _settings_forget(**kwargs) -> None:
    _allowed_hosts.clear()
    _headers_by_security.clear()
