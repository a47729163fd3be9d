"""One error shape for every API response: error, message, details."""

import logging

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)

DEPENDENCY_ERRORS = (OperationalError, InterfaceError, RedisConnectionError,
                     RedisTimeoutError)
DEPENDENCY_RETRY_AFTER_SECONDS = 5

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid_request",
    status.HTTP_401_UNAUTHORIZED: "unauthorized",
    status.HTTP_403_FORBIDDEN: "forbidden",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_409_CONFLICT: "conflict",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_422_UNPROCESSABLE_ENTITY: "unprocessable",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": code, "message": message, "details": details or {}}


def _message_and_details(detail) -> tuple[str, dict]:
    if isinstance(detail, dict):
        details = field_errors_flatten(detail)
        names = sorted(details)
        shown = ", ".join(names[:FIELDS_NAMED_MAX])
        if len(names) > FIELDS_NAMED_MAX:
            shown += f" and {len(names) - FIELDS_NAMED_MAX} more"
        return f"Invalid input: {shown}.", details
    if isinstance(detail, list):
        return "; ".join(str(item) for item in detail), {}
    return str(detail), {}


# A message names this many fields at most; details has them all.
FIELDS_NAMED_MAX = 5


def field_errors_flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as {"field.sub.0.name": [problems]}.

    A nested object's own errors (non-field errors) stand under the name of
    the field that holds it, so a mistyped object is named as the field.
    """
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, errors in detail.items():
            own = key == api_settings.NON_FIELD_ERRORS_KEY and prefix
            path = prefix if own else _path_join(prefix, str(key))
            _merge(flat, field_errors_flatten(errors, path))
        return flat
    if isinstance(detail, list):
        flat = {}
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                _merge(flat, field_errors_flatten(item, _path_join(prefix, str(index))))
            else:
                _merge(flat, {prefix: [str(item)]})
        return flat
    return {prefix: [str(detail)]}


def _path_join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, problems in more.items():
        into.setdefault(name, []).extend(problems)


def api_exception_handler(exc, context):
    """Render DRF and Django errors in the protocol's error shape."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, DEPENDENCY_ERRORS):
        # The database or Redis is down or restarting: the client should
        # come back shortly, which a 503 with Retry-After says and a 500
        # does not.
        logger.warning("Dependency unavailable in %s: %s", context.get("view"), exc)
        return Response(
            error_body("service_unavailable", "A dependency is unavailable; retry."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER_SECONDS)},
        )

    if not isinstance(exc, exceptions.APIException):
        logger.exception("Unhandled API error in %s", context.get("view"))
        return Response(
            error_body("server_error", "Internal error; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ParseError):
        code = "invalid_json"
    elif isinstance(exc, exceptions.ValidationError):
        code = "validation_error"
    else:
        code = _CODES.get(exc.status_code, "error")
    message, details = _message_and_details(exc.detail)
    headers = {}
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    return Response(
        error_body(code, message, details), status=exc.status_code, headers=headers
    )


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request):
    return JsonResponse(
        error_body("server_error", "Internal error; it has been logged."), status=500
    )


def json_bad_request(request, exception=None):
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)
