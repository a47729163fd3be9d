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
    ScheduleEntry(
        "consolidate-prices", "pricing.consolidate_prices", 12 * 3600,
        "Every 12 hours: fold new raw prices into the consolidated and "
        "canonical tiers.",
    ),
    ScheduleEntry(
        "prune-raw-prices", "pricing.prune_raw_prices", 24 * 3600,
        "Daily: delete consolidated raw prices past their retention.",
    ),
    ScheduleEntry(
        "ledger-hourly", "pricing.ledger_hourly", 3600,
        "Hourly: cost the last hours of every instance and refresh the "
        "day's and month's roll-ups.",
    ),
    ScheduleEntry(
        "ledger-daily", "pricing.ledger_daily", 24 * 3600,
        "Daily: rebuild yesterday's ledger in full once late prices settled.",
    ),
    ScheduleEntry(
        "auto-switch", "decisions.agents_autoswitch", 15 * 60,
        "Every 15 minutes: decide for each agent with auto-switch on and "
        "start the switches the guard rails allow.",
    ),
]


def celery_beat_schedule() -> dict:
    return {
        entry.name: {"task": entry.task, "schedule": float(entry.every_seconds)}
        for entry in DEFAULT_SCHEDULE
    }
