import pytest
from celery import current_app

from spotopt import scheduler
from spotopt.schedule import DEFAULT_SCHEDULE


def test_every_scheduled_task_is_registered_once_modules_are_imported():
    current_app.loader.import_default_modules()

    missing = [e.task for e in DEFAULT_SCHEDULE if e.task not in current_app.tasks]

    assert missing == []


@pytest.mark.django_db
def test_a_due_entry_runs_its_task_and_a_failure_does_not_stop_the_loop(
    monkeypatch,
):
    calls, errors = [], []
    current_app.loader.import_default_modules()
    entry = DEFAULT_SCHEDULE[0]
    monkeypatch.setattr(
        current_app.tasks[entry.task], "apply", lambda: calls.append(entry.name)
    )
    broken = type(entry)("broken", "no.such.task", 60, "")

    # Celery's Django fix-up reconfigures logging on import, so the logger
    # itself is watched rather than a capture handler.
    monkeypatch.setattr(
        scheduler.logger, "exception", lambda message, *args: errors.append(
            message % args
        ),
    )

    scheduler._run(entry)
    scheduler._run(broken)

    assert calls == [entry.name]
    assert errors == ["Periodic task broken failed"]
