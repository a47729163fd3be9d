"""The default periodic schedule, declared once.

Celery beat reads it as CELERY_BEAT_SCHEDULE; `sync_schedule` copies it into
django-celery-beat's tables so operators can pause or retime entries in the
admin; the embedded scheduler runs the same entries in-process.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleEntry:
    name: str
    task: str
    every_seconds: int
    note: str


DEFAULT_SCHEDULE = [
    ScheduleEntry(
        "sweep-agents", "agents.sweep_agents", 60,
        "Every minute: mark silent agents offline, expire commands.",
    ),
    ScheduleEntry(
        "prune-idempotency-keys", "agents.prune_idempotency_keys", 3600,
        "Hourly: forget request ids older than the retention window.",
    ),
]


def celery_beat_schedule() -> dict:
    return {
        entry.name: {"task": entry.task, "schedule": float(entry.every_seconds)}
        for entry in DEFAULT_SCHEDULE
    }
