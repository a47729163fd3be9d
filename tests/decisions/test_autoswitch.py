"""Auto-switching: the periodic evaluation starts allowed switches only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Agent
from decisions.models import DecisionLog
from decisions.services.autoswitch import agents_autoswitch
from decisions.services.decide import decision_make
from instances.models import AuditEvent, Command, Switch


def enable(agent, **config):
    Agent.objects.filter(pk=agent.pk).update(auto_switch_enabled=True, **config)
    agent.refresh_from_db()


def test_an_agent_with_auto_switch_moves_to_the_cheapest_safe_pool(priced):
    enable(priced)

    counts = agents_autoswitch()

    switch = Switch.objects.get(agent=priced)
    assert counts == {"started": 1}
    assert (switch.to_pool_id, switch.trigger) == ("m5.large.us-east-1b", "model")
    launch = Command.objects.get(agent=priced, command_type="LAUNCH_INSTANCE")
    assert launch.priority == Command.Priority.MODEL
    log = DecisionLog.objects.get(agent=priced)
    assert log.outcome == f"started switch {switch.pk}"
    assert log.engine == "balanced"
    assert log.inputs["candidates"][0]["pool_id"] == "m5.large.us-east-1b"


def test_agents_without_auto_switch_are_not_evaluated(priced):
    counts = agents_autoswitch()

    assert counts == {}
    assert not Switch.objects.exists()


def test_a_blocked_decision_is_logged_without_a_switch(priced):
    enable(priced, max_switches_per_week=0)

    counts = agents_autoswitch()

    assert counts == {"blocked": 1}
    assert not Switch.objects.exists()
    assert DecisionLog.objects.get(agent=priced).outcome == "blocked"


def test_a_pool_that_failed_a_launch_is_quarantined(priced):
    enable(priced)
    AuditEvent.objects.create(
        client=priced.client, agent=priced, event_type="pool_launch_failed",
        details={"pool_id": "m5.large.us-east-1b"},
    )

    decision = decision_make(agent=priced, log=False)

    assert decision.recommended_pool_id == "m5.large.us-east-1c"
    assert "m5.large.us-east-1b" in decision.inputs["quarantined"]


def test_quarantine_ends_after_its_back_off(priced):
    enable(priced)
    AuditEvent.objects.create(
        client=priced.client, agent=priced, event_type="pool_launch_failed",
        details={"pool_id": "m5.large.us-east-1b"},
        created_at=timezone.now() - timedelta(hours=7),
    )

    decision = decision_make(agent=priced, log=False)

    assert decision.recommended_pool_id == "m5.large.us-east-1b"


def test_a_fresh_switch_back_needs_the_dwell_time(priced):
    enable(priced)
    Switch.objects.create(
        agent=priced, client=priced.client, trigger="model", status="completed",
        from_pool_id="m5.large.us-east-1b", to_pool_id="m5.large.us-east-1a",
        completed_at=timezone.now() - timedelta(minutes=30),
    )

    decision = decision_make(agent=priced, log=False)

    assert decision.recommended_action == "switch"
    assert decision.allowed is False
    assert "minimum time" in decision.reason


def test_an_active_model_decides_from_the_pools_features(priced):
    from decisions.registry import artifact_dump
    from decisions.services.registry import artifact_activate, artifact_upload
    from tests.decisions.test_engines import tiny_model

    artifact = artifact_upload(data=artifact_dump(tiny_model()))
    artifact_activate(artifact_id=artifact.pk)

    decision = decision_make(agent=priced)

    assert decision.model == {"name": "tiny", "version": "t1"}
    log = DecisionLog.objects.get(agent=priced)
    assert (log.engine, log.model_version) == ("tiny", "t1")
    assert all(0 <= row["risk"] <= 1 for row in log.inputs["candidates"])


def test_a_model_failing_while_deciding_falls_back_to_the_baseline(
    priced, monkeypatch
):
    from decisions.engines import LearnedEngine
    from decisions.models import ModelArtifact, RegistryEvent
    from decisions.registry import artifact_dump
    from decisions.services.registry import artifact_activate, artifact_upload
    from tests.decisions.test_engines import tiny_model

    artifact = artifact_upload(data=artifact_dump(tiny_model()))
    artifact_activate(artifact_id=artifact.pk)

    def broken(self, candidates, context):
        raise ValueError("NaN in features")

    monkeypatch.setattr(LearnedEngine, "risks", broken)

    decision = decision_make(agent=priced, log=False)

    assert decision.model["name"] == "balanced"
    artifact.refresh_from_db()
    assert artifact.status == ModelArtifact.Status.FAILED
    assert "NaN in features" in artifact.status_reason
    assert RegistryEvent.objects.filter(artifact=artifact,
                                        event_type="failed").exists()


def test_a_pool_that_interrupted_the_fleet_is_quarantined(priced):
    from instances.models import EmergencyEvent, Instance
    from pricing.models import SpotPool

    enable(priced)
    interrupted = Instance.objects.create(
        agent=priced, client=priced.client, temp_instance_id="tmp-gone",
        pool=SpotPool.objects.get(pool_id="m5.large.us-east-1b"),
        instance_type="m5.large", region="us-east-1", az="us-east-1b",
        state=Instance.State.TERMINATED,
    )
    EmergencyEvent.objects.create(
        agent=priced, client=priced.client, instance=interrupted,
        kind=EmergencyEvent.Kind.TERMINATION, status=EmergencyEvent.Status.RESOLVED,
    )

    decision = decision_make(agent=priced, log=False)

    assert decision.recommended_pool_id == "m5.large.us-east-1c"


@pytest.mark.parametrize("m5a_band, m5_band, expected", [
    (4, 0, "m5.large.us-east-1b"),
    (0, 4, "m5a.large.us-east-1d"),
])
def test_the_default_engine_weighs_the_advisor_bands(
    owner, priced, m5a_band, m5_band, expected
):
    from datetime import date

    from pricing.models import InterruptionBand
    from tests.conftest import price_report

    # m5a is a hair cheaper than the m5.large.us-east-1b pool at 0.0300.
    owner.post(f"/api/agents/{priced.pk}/pricing-report", price_report(
        ("m5a.large.us-east-1d", "0.0299"),
    ))
    for kind, band in (("m5a.large", m5a_band), ("m5.large", m5_band)):
        InterruptionBand.objects.create(
            snapshot_date=date(2026, 1, 1), region="us-east-1",
            instance_type=kind, band=band,
        )

    decision = decision_make(agent=priced, log=False)

    assert decision.model["name"] == "balanced"
    assert decision.recommended_pool_id == expected
