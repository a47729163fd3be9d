"""Request-wide middleware: request ids for logs and a body size limit."""

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
