"""Prometheus metrics: what happened (counters, histograms) and what is.

Counters and histograms move where the event happens. With several worker
processes, PROMETHEUS_MULTIPROC_DIR makes prometheus_client keep them in
shared files, and /metrics merges every process's values. Figures about the
present (agents online, open commands) are read from the database when
scraped, so every process reports the same truth.
"""

import logging
import os
import time

from django.db.models import Count
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "spotopt_http_request_duration_seconds",
    "Time to answer an HTTP request, per route.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
HEARTBEATS = Counter(
    "spotopt_agent_heartbeats_total",
    "Agent heartbeats answered, by HTTP status.",
    ["status"],
)
POLLS = Counter(
    "spotopt_agent_command_polls_total",
    "Agent command-queue polls answered, by HTTP status.",
    ["status"],
)
COMMANDS = Counter(
    "spotopt_commands_total",
    "Commands queued (status=pending) and closed, by type and status.",
    ["command_type", "status"],
)
EMERGENCIES = Counter(
    "spotopt_emergencies_total",
    "Rebalance recommendations and termination notices, one per event.",
    ["kind"],
)
FAILOVER_DURATION = Histogram(
    "spotopt_failover_duration_seconds",
    "From a termination notice to the replica serving as primary.",
    buckets=(1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300),
)
DECISIONS = Counter(
    "spotopt_decisions_total",
    "Decisions made, by engine and recommended action.",
    ["engine", "action"],
)
CELERY_TASKS = Counter(
    "spotopt_celery_tasks_total",
    "Celery task runs, by task name and final state.",
    ["task", "state"],
)

# Routes whose answers are counted as agent activity, by URL name.
_HEARTBEAT_ROUTES = {"agent-heartbeat"}
_POLL_ROUTES = {"agent-pending-commands", "agent-commands-pending"}


def request_observe(*, method: str, route: str, status: int, seconds: float):
    """Record one answered request; route is a URL pattern, never a raw path.

    Raw paths carry ids, and a label per id would grow without bound.
    """
    latency, activity = _request_series(method, route, status)
    latency.observe(seconds)
    if activity is not None:
        activity.inc()


# The series of each (method, route, status) seen, found once: agents poll
# thousands of times a second, and finding a series by its labels cost more
# than recording in it. Routes are patterns, so there are few.
_series_by_labels: dict[tuple[str, str, int], tuple] = {}


def _request_series(method: str, route: str, status: int) -> tuple:
    series = _series_by_labels.get((method, route, status))
    if series is not None:
        return series

    url_name = route.rsplit(":", 1)[-1]
    activity = None
    if url_name in _HEARTBEAT_ROUTES:
        activity = HEARTBEATS.labels(str(status))
    elif url_name in _POLL_ROUTES:
        activity = POLLS.labels(str(status))
    series = (REQUEST_LATENCY.labels(method, route, str(status)), activity)
    _series_by_labels[(method, route, status)] = series
    return series


def command_observe(*, command_type: str, status: str) -> None:
    COMMANDS.labels(command_type, status).inc()


def failover_observe(*, seconds: float) -> None:
    FAILOVER_DURATION.observe(max(0.0, seconds))


class StateCollector:
    """Figures about the present, read from the database at scrape time."""

    def collect(self):
        try:
            families = list(self._families())
        except Exception:
            # A scrape must still answer while the database is down; the
            # missing series and the health check tell the story.
            logger.warning("Metrics: database figures unavailable", exc_info=True)
            return
        yield from families

    def _families(self):
        from agents.models import Agent
        from instances.models import Command, EmergencyEvent

        agents = _counts(Agent.objects.all(), "status")
        commands = _counts(
            Command.objects.filter(
                status__in=[Command.Status.PENDING, Command.Status.DELIVERED]
            ),
            "command_type",
        )
        yield _gauge(
            "spotopt_agents", "Agents by status.", "status",
            agents, [choice for choice, _ in Agent.Status.choices],
        )
        yield _gauge(
            "spotopt_commands_open", "Pending or delivered commands, by type.",
            "command_type", commands,
            [choice for choice, _ in Command.Type.choices],
        )
        yield _gauge(
            "spotopt_emergencies_open", "Emergency events not yet resolved.",
            "kind", _counts(EmergencyEvent.objects.filter(status="open"), "kind"),
            [choice for choice, _ in EmergencyEvent.Kind.choices],
        )
        yield from _consolidation()
        yield _dependencies()


def _counts(queryset, field: str) -> dict:
    rows = queryset.values(field).annotate(total=Count("pk")).order_by()
    return {row[field]: row["total"] for row in rows}


def _gauge(name, documentation, label, counts: dict, known: list):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in sorted(set(known) | set(counts)):
        family.add_metric([value], counts.get(value, 0))
    return family


def _dependencies():
    """1 per dependency that works, 0 per one that is down or missing."""
    from spotopt.health import dependencies_check

    family = GaugeMetricFamily(
        "spotopt_dependency_up",
        "Whether each dependency works (1) or not (0), as /health sees it.",
        labels=["dependency"],
    )
    for name, state in dependencies_check()["checks"].items():
        if state in _DEPENDENCY_DOWN:
            family.add_metric([name], 0)
        elif state != "unknown":
            family.add_metric([name], 1)
    return family


_DEPENDENCY_DOWN = {"down", "none", "late"}


def _consolidation():
    """The last consolidation run, read from its job row.

    Runs happen in a Celery worker, whose own counters may live on another
    host; the job row is the same wherever it is read.
    """
    from spotopt.health import consolidation_job_model

    model = consolidation_job_model()
    if model is None:
        return

    last = (
        model.objects.filter(status="succeeded", finished_at__isnull=False)
        .order_by("-finished_at")
        .first()
    )
    if last is None:
        return
    lag = GaugeMetricFamily(
        "spotopt_consolidation_lag_seconds",
        "Seconds since the last consolidation run finished successfully.",
    )
    lag.add_metric([], (timezone.now() - last.finished_at).total_seconds())
    rows = GaugeMetricFamily(
        "spotopt_consolidation_last_rows",
        "Rows the last successful consolidation run read or wrote, by tier.",
        labels=["tier"],
    )
    for tier in ("raw", "observed", "interpolated", "canonical"):
        rows.add_metric([tier], getattr(last, f"{tier}_rows", 0) or 0)
    duration = GaugeMetricFamily(
        "spotopt_consolidation_last_duration_seconds",
        "Wall time of the last successful consolidation run.",
    )
    duration.add_metric([], (last.duration_ms or 0) / 1000)
    yield from (lag, rows, duration)


def metrics_render() -> tuple[bytes, str]:
    """Return the exposition text of every process plus the database state."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    started = time.monotonic()
    output = generate_latest(registry) + generate_latest(_state_registry())
    logger.debug("Rendered metrics in %.3f s", time.monotonic() - started)
    return output, CONTENT_TYPE_LATEST


def _state_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector())
    return registry
