"""Selectors for the state of the service and its dependencies.

`/health`, the admin's system-health page and the operator API read the
same figures from here. Every probe answers a state instead of raising: a
health check that crashes when Redis is down reports nothing at all.
"""

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 2.0
WORKER_PING_TIMEOUT_SECONDS = 0.5
WORKER_STATE_CACHE_SECONDS = 15
# Beat counts as stopped after missing this many runs of its most frequent
# entry; one late run is normal jitter.
BEAT_MISSED_RUNS = 3
CELERY_DEFAULT_QUEUE = "celery"
TASK_RUN_KEY = "health:task-run:{name}"
TASK_RUN_TTL_SECONDS = 7 * 24 * 3600


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception:
        logger.warning("Health check: database unreachable", exc_info=True)
        return "down"


def _redis():
    import redis

    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
    )


def redis_state() -> str:
    if not settings.REDIS_URL:
        return "not_configured"
    try:
        _redis().ping()
        return "ok"
    except Exception:
        logger.warning("Health check: Redis unreachable", exc_info=True)
        return "down"


def is_embedded() -> bool:
    """True when tasks run in the web process and there is no worker."""
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def celery_workers_state(*, redis: str) -> dict:
    """Ping the workers, unless there are none to have or no broker to ask.

    A ping waits its whole timeout for replies, so the answer is cached.
    """
    if is_embedded():
        return {"state": "embedded", "workers": []}
    if redis != "ok":
        return {"state": "unknown", "workers": []}

    cached = _cache_get("health:celery-workers")
    if cached is not None:
        return cached
    from spotopt.celery import app

    try:
        replies = app.control.inspect(timeout=WORKER_PING_TIMEOUT_SECONDS).ping()
    except Exception:
        logger.warning("Health check: Celery ping failed", exc_info=True)
        replies = None
    workers = sorted(replies or {})
    answer = {"state": "ok" if workers else "none", "workers": workers}
    _cache_set("health:celery-workers", answer, WORKER_STATE_CACHE_SECONDS)
    return answer


def task_run_record(*, name: str, state: str, at: datetime | None = None) -> None:
    """Remember a task's last run; beat and in-process runs both land here."""
    at = at or timezone.now()
    _cache_set(
        TASK_RUN_KEY.format(name=name),
        {"at": at.isoformat(), "state": state},
        TASK_RUN_TTL_SECONDS,
    )


def task_run_last(*, name: str) -> dict | None:
    return _cache_get(TASK_RUN_KEY.format(name=name))


def beat_state(*, now: datetime | None = None) -> dict:
    """When the periodic schedule last ran a task, and whether that is late."""
    from spotopt.schedule import DEFAULT_SCHEDULE

    now = now or timezone.now()
    keys = [TASK_RUN_KEY.format(name=entry.task) for entry in DEFAULT_SCHEDULE]
    runs = _cache_get_many(keys).values()
    times = [datetime.fromisoformat(run["at"]) for run in runs]
    beat_table_last = _periodic_task_last_run()
    if beat_table_last is not None:
        times.append(beat_table_last)
    if not times:
        return {"state": "unknown", "last_run_at": None}

    last = max(times)
    shortest = min(entry.every_seconds for entry in DEFAULT_SCHEDULE)
    late = now - last > timedelta(seconds=shortest * BEAT_MISSED_RUNS)
    return {"state": "late" if late else "ok", "last_run_at": last.isoformat()}


def _periodic_task_last_run() -> datetime | None:
    from django_celery_beat.models import PeriodicTask

    try:
        return PeriodicTask.objects.filter(enabled=True).aggregate(
            last=Max("last_run_at")
        )["last"]
    except Exception:
        logger.warning("Health check: beat table unreadable", exc_info=True)
        return None


def queue_depths(*, redis: str) -> dict:
    """Messages waiting for a Celery worker, and commands waiting for agents."""
    from instances.models import Command

    depths = {"celery": None}
    if not is_embedded() and redis == "ok":
        try:
            depths["celery"] = _redis_for_broker().llen(CELERY_DEFAULT_QUEUE)
        except Exception:
            logger.warning("Health check: queue length unreadable", exc_info=True)
    open_commands = (
        Command.objects.filter(
            status__in=[Command.Status.PENDING, Command.Status.DELIVERED]
        )
        .values("status")
        .annotate(total=Count("pk"))
        .order_by()
    )
    for row in open_commands:
        depths[f"commands_{row['status']}"] = row["total"]
    depths.setdefault("commands_pending", 0)
    depths.setdefault("commands_delivered", 0)
    return depths


def _redis_for_broker():
    import redis

    return redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_timeout=PROBE_TIMEOUT_SECONDS,
        socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
    )


def consolidation_job_model():
    """The pricing app's job model, when this version of it has one."""
    try:
        return apps.get_model("pricing", "ConsolidationJob")
    except LookupError:
        return None


def consolidation_last_finished() -> datetime | None:
    model = consolidation_job_model()
    if model is None:
        return None
    return model.objects.filter(
        status="succeeded", finished_at__isnull=False
    ).aggregate(last=Max("finished_at"))["last"]


def consolidation_lag_seconds(*, now: datetime | None = None) -> float | None:
    finished = consolidation_last_finished()
    if finished is None:
        return None
    return ((now or timezone.now()) - finished).total_seconds()


def agents_by_status() -> dict:
    from agents.models import Agent

    rows = Agent.objects.values("status").annotate(total=Count("pk")).order_by()
    counts = {choice: 0 for choice, _ in Agent.Status.choices}
    counts.update({row["status"]: row["total"] for row in rows})
    return counts


def emergencies_recent(*, hours: int = 24) -> dict:
    from instances.models import EmergencyEvent

    since = timezone.now() - timedelta(hours=hours)
    rows = (
        EmergencyEvent.objects.filter(received_at__gte=since)
        .values("kind")
        .annotate(total=Count("pk"))
        .order_by()
    )
    counts = {choice: 0 for choice, _ in EmergencyEvent.Kind.choices}
    counts.update({row["kind"]: row["total"] for row in rows})
    return counts


def dependencies_check() -> dict:
    """Each dependency's state, for /health: cheap enough to poll."""
    database = database_state()
    redis = redis_state()
    checks = {
        "database": database,
        "redis": redis,
        "celery_workers": celery_workers_state(redis=redis)["state"],
        "beat": beat_state()["state"] if database == "ok" else "unknown",
    }
    return {"status": overall_status(checks), "checks": checks}


def overall_status(checks: dict) -> str:
    """down without the database; degraded when anything else is missing."""
    if checks["database"] != "ok":
        return "down"
    if checks["redis"] == "down" or checks["celery_workers"] in ("none", "unknown"):
        return "degraded"
    if checks["beat"] == "late":
        return "degraded"
    return "ok"


def system_health() -> dict:
    """The operator's full picture: dependencies plus the fleet's figures."""
    summary = dependencies_check()
    if summary["checks"]["database"] != "ok":
        return summary

    redis = summary["checks"]["redis"]
    summary.update(
        celery_workers=celery_workers_state(redis=redis),
        beat=beat_state(),
        queue_depths=queue_depths(redis=redis),
        consolidation_lag_seconds=consolidation_lag_seconds(),
        agents=agents_by_status(),
        emergencies_24h=emergencies_recent(hours=24),
        checked_at=timezone.now().isoformat(),
    )
    return summary


def _cache_get(key: str):
    # The cache lives in Redis when scaled out; a dead Redis must not turn
    # a health probe into an error.
    try:
        return cache.get(key)
    except Exception:
        return None


def _cache_get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception:
        return {}


def _cache_set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except Exception:
        logger.debug("Health: cache write of %s failed", key, exc_info=True)
