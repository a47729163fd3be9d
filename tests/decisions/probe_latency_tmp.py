import time

import numpy as np

from agents.models import Agent
from decisions.registry import artifact_dump
from decisions.services.decide import decision_make
from decisions.services.registry import artifact_activate, artifact_upload
from tests.conftest import DEFAULT_POOLS, REGISTRATION, price_report
from tests.decisions.test_engines import tiny_model


def test_probe(owner):
    agent_id = owner.post("/api/agents/register", REGISTRATION).json()["agent_id"]
    owner.post(f"/api/agents/{agent_id}/pricing-report", price_report(*DEFAULT_POOLS))
    agent = Agent.objects.get(pk=agent_id)
    for label in ("balanced", "learned"):
        if label == "learned":
            artifact_activate(
                artifact_id=artifact_upload(data=artifact_dump(tiny_model())).pk
            )
        times = []
        for _ in range(200):
            started = time.perf_counter()
            decision_make(agent=agent, log=False)
            times.append((time.perf_counter() - started) * 1000)
        print(label, decision_make(agent=agent, log=False).model,
              np.percentile(times, [50, 99]))
