"""/metrics exposes the operator's series, and they move with the events."""

from prometheus_client import REGISTRY

from agents.tasks import sweep_agents_task
from instances.models import Command
from instances.services.commands import command_close, command_enqueue
from pricing.consolidation import consolidation_run

SERIES = [
    "spotopt_http_request_duration_seconds",
    "spotopt_agent_heartbeats_total",
    "spotopt_agent_command_polls_total",
    "spotopt_commands_total",
    "spotopt_emergencies_total",
    "spotopt_failover_duration_seconds",
    "spotopt_decisions_total",
    "spotopt_celery_tasks_total",
    "spotopt_agents",
    "spotopt_commands_open",
    "spotopt_emergencies_open",
    "spotopt_consolidation_lag_seconds",
    "spotopt_consolidation_last_rows",
    "spotopt_consolidation_last_duration_seconds",
    "spotopt_dependency_up",
]


def poll_one(owner, agent_id, command_type) -> dict:
    response = owner.get(f"/api/agents/{agent_id}/commands/pending")
    [command] = [
        command for command in response.json()["commands"]
        if command["command_type"] == command_type
    ]
    return command


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_expose_every_listed_series(client, priced):
    consolidation_run()

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for name in SERIES:
        assert f"# TYPE {name} " in text, name
    assert 'spotopt_agents{status="online"} 1.0' in text
    assert 'spotopt_dependency_up{dependency="database"} 1.0' in text


def test_request_latency_is_labelled_by_route_not_by_path(owner, registered):
    route = "agents-api:agent-heartbeat"
    before = value(
        "spotopt_http_request_duration_seconds_count",
        method="POST", route=route, status="200",
    )

    owner.post(f"/api/agents/{registered.pk}/heartbeat", {})

    after = value(
        "spotopt_http_request_duration_seconds_count",
        method="POST", route=route, status="200",
    )
    assert after == before + 1


def test_heartbeats_and_polls_are_counted(owner, registered):
    beats = value("spotopt_agent_heartbeats_total", status="200")
    polls = value("spotopt_agent_command_polls_total", status="200")

    owner.post(f"/api/agents/{registered.pk}/heartbeat", {})
    owner.get(f"/api/agents/{registered.pk}/pending-commands")
    owner.get(f"/api/agents/{registered.pk}/commands/pending")

    assert value("spotopt_agent_heartbeats_total", status="200") == beats + 1
    assert value("spotopt_agent_command_polls_total", status="200") == polls + 2


def test_commands_are_counted_by_type_and_status(registered):
    queued = value(
        "spotopt_commands_total", command_type="APPLY_CONFIG", status="pending"
    )
    done = value(
        "spotopt_commands_total", command_type="APPLY_CONFIG", status="succeeded"
    )

    command = command_enqueue(agent=registered, command_type="APPLY_CONFIG")
    command_close(command=command, succeeded=True)

    assert value(
        "spotopt_commands_total", command_type="APPLY_CONFIG", status="pending"
    ) == queued + 1
    assert value(
        "spotopt_commands_total", command_type="APPLY_CONFIG", status="succeeded"
    ) == done + 1


def test_a_failover_counts_an_emergency_and_times_the_failover(owner, priced):
    agent_id = priced.pk
    notices = value("spotopt_emergencies_total", kind="termination")
    failovers = value("spotopt_failover_duration_seconds_count")

    owner.post(
        f"/api/agents/{agent_id}/termination-imminent", {"instance_id": "i-0primary"}
    )
    owner.post(
        f"/api/agents/{agent_id}/termination-imminent", {"instance_id": "i-0primary"}
    )
    params = poll_one(owner, agent_id, Command.Type.LAUNCH_INSTANCE)["params"]
    owner.post(
        f"/api/agents/{agent_id}/instance-launched",
        {"instance_id": "i-new", "temp_instance_id": params["temp_instance_id"]},
    )
    promote = poll_one(owner, agent_id, Command.Type.PROMOTE_REPLICA_TO_PRIMARY)
    owner.post(
        f"/api/agents/{agent_id}/commands/{promote['id']}/executed", {"success": True}
    )

    assert value("spotopt_emergencies_total", kind="termination") == notices + 1
    assert value("spotopt_failover_duration_seconds_count") == failovers + 1


def test_decisions_are_counted_by_engine(owner, priced):
    before = sum(
        sample.value
        for metric in REGISTRY.collect() if metric.name == "spotopt_decisions"
        for sample in metric.samples if sample.name == "spotopt_decisions_total"
    )

    response = owner.post(f"/api/agents/{priced.pk}/decide", {})

    assert response.status_code == 200
    after = value(
        "spotopt_decisions_total",
        engine=response.json()["model"]["name"],
        action=response.json()["recommended_action"],
    )
    assert after >= 1
    total = sum(
        sample.value
        for metric in REGISTRY.collect() if metric.name == "spotopt_decisions"
        for sample in metric.samples if sample.name == "spotopt_decisions_total"
    )
    assert total == before + 1


def test_celery_task_outcomes_are_counted(db):
    before = value(
        "spotopt_celery_tasks_total", task="agents.sweep_agents", state="SUCCESS"
    )

    sweep_agents_task.apply()

    assert value(
        "spotopt_celery_tasks_total", task="agents.sweep_agents", state="SUCCESS"
    ) == before + 1


def test_consolidation_rows_and_duration_come_from_the_last_job(client, priced):
    job = consolidation_run()

    text = client.get("/metrics").content.decode()

    assert f'spotopt_consolidation_last_rows{{tier="observed"}} ' \
           f'{float(job.observed_rows)}' in text
    assert "spotopt_consolidation_lag_seconds " in text


def test_metrics_still_answer_when_the_database_figures_fail(
    client, db, monkeypatch
):
    from spotopt import metrics

    def fail(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(metrics, "_counts", fail)

    response = client.get("/metrics")

    assert response.status_code == 200
    assert "spotopt_agents{" not in response.content.decode()
    assert "spotopt_http_request_duration_seconds" in response.content.decode()


def test_several_worker_processes_are_merged_through_the_multiprocess_dir(
    tmp_path,
):
    """Two processes count into PROMETHEUS_MULTIPROC_DIR; one render sums them."""
    import os
    import subprocess
    import sys

    # No django.setup(): the counters need none, and each start costs seconds.
    count = (
        "from spotopt.metrics import command_observe;"
        "command_observe(command_type='SELF_DESTRUCT', status='pending')"
    )
    render = (
        "from unittest import mock; from spotopt import metrics;"
        "mock.patch.object(metrics.StateCollector, 'collect',"
        " lambda self: iter(())).start();"
        "print(metrics.metrics_render()[0].decode())"
    )
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "spotopt.settings.test",
    }
    for _ in range(2):
        subprocess.run([sys.executable, "-c", count], env=env, check=True)

    output = subprocess.run(
        [sys.executable, "-c", render], env=env, check=True,
        capture_output=True, text=True,
    ).stdout

    assert (
        'spotopt_commands_total{command_type="SELF_DESTRUCT",status="pending"} 2.0'
        in output
    )


def test_a_configured_metrics_token_is_required(client, db, settings):
    settings.METRICS_TOKEN = "scrape-secret"

    refused = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")

    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert allowed.status_code == 200
