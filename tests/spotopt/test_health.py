"""/health: liveness with each dependency's state, never a crash."""

from datetime import timedelta

import pytest
from django.db.utils import OperationalError
from django.test import override_settings
from django.utils import timezone

from spotopt import health

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


@override_settings(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER=True)
def test_the_embedded_deployment_is_healthy_without_redis(client, db):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {
            "database": "ok", "redis": "not_configured",
            "celery_workers": "embedded", "beat": "unknown",
        },
    }


@pytest.mark.parametrize("embedded", [True, False])
def test_a_stopped_redis_is_reported_degraded_not_a_crash(client, db, embedded):
    with override_settings(
        REDIS_URL=CLOSED_PORT_REDIS, CELERY_TASK_ALWAYS_EAGER=embedded
    ):
        response = client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == "down"
    assert body["checks"]["database"] == "ok"


def test_the_operator_health_also_survives_a_stopped_redis(staff_client):
    with override_settings(
        REDIS_URL=CLOSED_PORT_REDIS, CELERY_TASK_ALWAYS_EAGER=False
    ):
        response = staff_client.get("/api/admin/system-health")

    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["celery_workers"] == "unknown"
    assert body["queue_depths"]["celery"] is None


def test_an_unreachable_database_answers_503(client, db, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(health, "connection", BrokenConnection())

    response = client.get("/health")

    assert response.status_code == 503
    assert response.json()["status"] == "down"


@override_settings(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER=True)
def test_a_beat_that_stopped_running_tasks_degrades_health(client, db):
    health.task_run_record(
        name="agents.sweep_agents", state="SUCCESS",
        at=timezone.now() - timedelta(hours=1),
    )

    body = client.get("/health").json()

    assert body["checks"]["beat"] == "late"
    assert body["status"] == "degraded"


@override_settings(REDIS_URL="", CELERY_TASK_ALWAYS_EAGER=True)
def test_a_periodic_task_run_marks_beat_alive(client, db):
    from agents.tasks import sweep_agents_task

    sweep_agents_task.apply()

    assert client.get("/health").json()["checks"]["beat"] == "ok"


@pytest.mark.redis
def test_redis_without_workers_is_degraded(client, db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    body = client.get("/health").json()

    assert body["checks"]["redis"] == "ok"
    assert body["checks"]["celery_workers"] in ("none", "ok")
    if body["checks"]["celery_workers"] == "none":
        assert body["status"] == "degraded"


def test_health_only_answers_get(client, db):
    assert client.post("/health").status_code == 405
