"""Service-wide endpoints: liveness, readiness and Prometheus metrics."""

import hmac

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from spotopt.health import dependencies_check
from spotopt.metrics import metrics_render


@require_GET
def health(request):
    """200 while the database answers; anything else missing only degrades.

    Load balancers take a 503 as "stop sending traffic", which is right
    only when no request could succeed: that is, without the database.
    """
    summary = dependencies_check()
    code = 503 if summary["status"] == "down" else 200
    return JsonResponse(summary, status=code)


@require_GET
def metrics(request):
    """Prometheus exposition; behind METRICS_TOKEN when one is configured."""
    expected = settings.METRICS_TOKEN
    if expected:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return JsonResponse(
                {"error": "unauthorized", "message": "Metrics need a token.",
                 "details": {}},
                status=401,
            )

    body, content_type = metrics_render()
    return HttpResponse(body, content_type=content_type)
