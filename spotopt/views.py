"""Service-wide endpoints: liveness and readiness."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

logger = logging.getLogger(__name__)


def _database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.warning("Health check: database unreachable", exc_info=True)
        return "down"


def _redis_state() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        import redis

        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1).ping()
        return "ok"
    except Exception:
        logger.warning("Health check: Redis unreachable", exc_info=True)
        return "down"


def health(request):
    """200 while the database answers; Redis down degrades, never crashes."""
    checks = {"database": _database_state(), "redis": _redis_state()}
    if checks["database"] != "ok":
        status, code = "down", 503
    elif checks["redis"] == "down":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
