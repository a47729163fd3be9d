"""Rank an agent's options with the serving engine and apply the guard rails.

1. gather the candidates: the acceptable pools with fresh prices, the
   current pool, and on-demand;
2. the engine estimates each candidate's risk and the shared rule costs it
   over the horizon (`decisions.engines.base`);
3. candidates above the risk threshold or in quarantine are dropped;
4. the guard rails decide whether moving to the best one is allowed.
"""

import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import numpy as np

from decisions import guardrails
from decisions.engines import Candidate, Context, LearnedEngine
from decisions.engines.base import ONDEMAND_POOL_ID
from decisions.models import DecisionLog
from decisions.selectors import (
    agent_guard_facts,
    pool_bands_get,
    pool_features_get,
)
from decisions.services.registry import engine_failed, engine_serving
from instances.models import Instance
from instances.selectors import agent_acceptable_types
from instances.services.lifecycle import instance_current_primary
from pricing.selectors import ondemand_price_get, pools_priced

logger = logging.getLogger(__name__)

HORIZON_HOURS = 24.0
# A replacement runs beside the old instance while it boots and warms up.
SWITCH_COST_HOURS = 0.25
# Without a measured figure, an interruption costs this many hours of the
# on-demand price in lost and repeated work.
DISRUPTION_ONDEMAND_HOURS = 8.0
MAX_LOGGED_CANDIDATES = 30


@dataclass
class Decision:
    """The decision object of the wire protocol."""

    instance_id: str | None
    recommended_action: str
    recommended_mode: str
    recommended_pool_id: str | None
    expected_savings_per_hour: float
    risk_score: float
    confidence: float
    allowed: bool
    reason: str
    model: dict = field(default_factory=dict)
    current_pool: str | None = None
    alternatives: list = field(default_factory=list)
    urgent: bool = False
    inputs: dict = field(default_factory=dict)

    def as_response(self) -> dict:
        body = asdict(self)
        for extra in ("alternatives", "current_pool", "urgent", "inputs"):
            body.pop(extra)
        return body


def _as_float(value) -> float | None:
    return float(value) if value is not None else None


def decision_make(
    *, agent, instance_override: dict | None = None,
    pricing_override: dict | None = None, log: bool = True, outcome: str = "",
) -> Decision:
    """Decide for one agent now; log the decision unless `log` is False."""
    instance = instance_current_primary(agent_id=agent.pk)
    instance_type = instance.instance_type if instance else agent.instance_type
    region = instance.region if instance else agent.region
    pools = list(pools_priced(
        region=region, instance_types=agent_acceptable_types(agent=agent)
    ))
    ondemand = _as_float(
        (pricing_override or {}).get("on_demand_price")
        or ondemand_price_get(instance_type=instance_type, region=region)
    )
    current_price = _current_price(instance, pricing_override)
    engine, model_info = engine_serving()
    try:
        decision, inputs = _decide(agent, instance, _candidates(
            instance, pools, current_price, ondemand, region,
            detail=_detail_needed(engine),
        ), engine, ondemand)
    except Exception as error:
        # A learned model that fails must not stop decisions: fall back.
        if not isinstance(engine, LearnedEngine):
            raise
        logger.exception("Model %s failed for agent %s", model_info, agent.pk)
        engine, model_info = engine_failed(engine=engine, error=error)
        decision, inputs = _decide(agent, instance, _candidates(
            instance, pools, current_price, ondemand, region,
            detail=_detail_needed(engine),
        ), engine, ondemand)
    decision.model = model_info
    decision.inputs = inputs
    if instance_override and instance_override.get("instance_id"):
        decision.instance_id = str(instance_override["instance_id"])
    if log:
        decision_log(agent=agent, decision=decision, inputs=inputs,
                     outcome=outcome)
    return decision


def _current_price(instance: Instance | None, pricing_override) -> float | None:
    override = (pricing_override or {}).get("current_spot_price")
    if override is not None:
        try:
            return float(override)
        except (TypeError, ValueError):
            pass
    if instance is None:
        return None
    if instance.mode == Instance.Mode.ONDEMAND:
        return _as_float(instance.ondemand_price)
    if instance.pool and instance.pool.latest_price is not None:
        return float(instance.pool.latest_price)
    return _as_float(instance.spot_price)


def _detail_needed(engine) -> str:
    """Model features cost several queries; baselines need the band at most."""
    if isinstance(engine, LearnedEngine):
        return "features"
    return "none" if engine.name == "cheapest" else "bands"


def _candidates(instance, pools, current_price, ondemand, region, detail):
    """Spot pools, the current pool (even if its price is stale), on-demand."""
    current_pool = instance.pool_key if instance else None
    found = {}
    if detail == "features":
        found = pool_features_get(pools=pools, region=region)
    elif detail == "bands":
        found = pool_bands_get(pools=pools)
    candidates = []
    for pool in pools:
        price = float(pool.latest_price)
        if pool.pool_id == current_pool and current_price is not None:
            price = current_price
        facts = found.get(pool.pool_id, {})
        candidates.append(Candidate(
            pool_id=pool.pool_id, instance_type=pool.instance_type, az=pool.az,
            price=price, band=facts.get("band"), features=facts,
        ))
    known = {c.pool_id for c in candidates}
    spot_current = instance is not None and instance.mode == Instance.Mode.SPOT
    if spot_current and current_pool not in known and current_price is not None:
        candidates.append(Candidate(
            pool_id=current_pool, instance_type=instance.instance_type,
            az=instance.az, price=current_price,
        ))
    if ondemand is not None:
        candidates.append(Candidate(
            pool_id=ONDEMAND_POOL_ID, instance_type="", az="", price=ondemand,
            mode=Instance.Mode.ONDEMAND,
        ))
    return candidates


def _current_id(instance) -> str | None:
    if instance is None:
        return None
    if instance.mode == Instance.Mode.ONDEMAND:
        return ONDEMAND_POOL_ID
    return instance.pool_key


def _decide(agent, instance, candidates, engine, ondemand):
    current_id = _current_id(instance)
    stay = Decision(
        instance_id=instance.instance_id if instance else None,
        recommended_action="stay",
        recommended_mode=instance.mode if instance else "spot",
        recommended_pool_id=instance.pool_key if instance else None,
        expected_savings_per_hour=0.0, risk_score=0.0, confidence=0.5,
        allowed=False, reason="", current_pool=instance.pool_key if instance
        else None,
    )
    spot = [c for c in candidates if not c.is_ondemand]
    if not spot:
        stay.reason = "no recent spot prices for the acceptable pools"
        return stay, {"candidates": []}

    ranked = engine.rank(candidates, _context(current_id, ondemand))
    stay.alternatives = _alternatives(ranked, instance)
    current = ranked.index_of(current_id)
    if current is not None:
        stay.risk_score = round(float(ranked.risks[current]), 6)
    facts = agent_guard_facts(agent=agent, pool_ids=[c.pool_id for c in spot])
    acceptable = guardrails.candidates_acceptable(
        risks=ranked.risks,
        is_current=[i == current for i in range(len(candidates))],
        quarantined=[c.pool_id in facts.quarantined for c in candidates],
        risk_threshold=agent.risk_threshold,
    )
    best = next((int(i) for i in ranked.order if acceptable[i]), current)
    inputs = _inputs(agent, ranked, acceptable, facts, engine)
    if current is None or best == current:
        stay.reason = (
            "current price unknown" if current is None
            else "already in the best acceptable pool"
        )
        return stay, inputs

    return _proposal(agent, stay, ranked, current, best, facts), inputs


def _context(current_id, ondemand) -> Context:
    return Context(
        current_pool_id=current_id, horizon_hours=HORIZON_HOURS,
        disruption_cost=(ondemand or 0.0) * DISRUPTION_ONDEMAND_HOURS,
        switch_cost_hours=SWITCH_COST_HOURS, ondemand_price=ondemand,
    )


def _proposal(agent, decision, ranked, current, best, facts) -> Decision:
    """Turn the best candidate into a switch and let the guard rails judge."""
    target = ranked.candidates[best]
    allowed, reason, urgent = guardrails.switch_check(
        inputs=guardrails.GuardInputs(
            auto_switch=agent.enabled and agent.auto_switch_enabled,
            switches_last_week=facts.switches_last_week,
            hours_in_pool=facts.hours_in_pool,
            current_cost=float(ranked.costs[current]),
            target_cost=float(ranked.costs[best]),
            current_risk=float(ranked.risks[current]),
            target_is_previous_pool=target.pool_id == facts.previous_pool_id,
        ),
        config=agent.config(),
    )
    saving = ranked.candidates[current].price - target.price
    percent = 100 * (1 - ranked.costs[best] / ranked.costs[current])
    decision.risk_score = round(float(ranked.risks[best]), 6)
    decision.urgent = urgent
    if not allowed and reason in (
        guardrails.REASONS[guardrails.MIN_SAVINGS],
        guardrails.REASONS[guardrails.HYSTERESIS],
    ):
        decision.reason = f"{target.pool_id} saves {percent:.1f}%: {reason}"
        return decision

    decision.recommended_action = "switch"
    decision.recommended_mode = target.mode
    decision.recommended_pool_id = target.pool_id
    decision.expected_savings_per_hour = round(saving, 6)
    decision.confidence = 0.6
    decision.allowed = allowed
    decision.reason = (
        f"{target.pool_id} costs {percent:.1f}% less over "
        f"{HORIZON_HOURS:g} h" + ("" if allowed else f"; {reason}")
        + ("; current pool above the risk threshold" if urgent else "")
    )
    return decision


def _alternatives(ranked, instance) -> list:
    current_pool = instance.pool_key if instance else None
    return [
        {
            "pool_id": candidate.pool_id,
            "az": candidate.az,
            "spot_price": candidate.price,
            "risk_score": round(float(ranked.risks[index]), 6),
        }
        for index, candidate in enumerate(ranked.candidates)
        if not candidate.is_ondemand and candidate.pool_id != current_pool
    ]


def _inputs(agent, ranked, acceptable, facts, engine) -> dict:
    rows = [
        {
            "pool_id": ranked.candidates[i].pool_id,
            "price": ranked.candidates[i].price,
            "risk": round(float(ranked.risks[i]), 6),
            "expected_cost": round(float(ranked.costs[i]), 6),
            "acceptable": bool(acceptable[i]),
        }
        for i in ranked.order[:MAX_LOGGED_CANDIDATES]
    ]
    return {
        "engine": engine.name,
        "config": agent.config(),
        "candidates": rows,
        "switches_last_week": facts.switches_last_week,
        "hours_in_pool": facts.hours_in_pool,
        "quarantined": sorted(facts.quarantined),
    }


def decision_log(*, agent, decision: Decision, inputs: dict, outcome: str = "") -> None:
    DecisionLog.objects.create(
        agent=agent,
        client_id=agent.client_id,
        engine=decision.model.get("name", ""),
        model_version=decision.model.get("version", ""),
        recommended_action=decision.recommended_action,
        recommended_pool_id=decision.recommended_pool_id or "",
        expected_savings_per_hour=decision.expected_savings_per_hour,
        risk_score=decision.risk_score,
        confidence=decision.confidence,
        allowed=decision.allowed,
        inputs=_jsonable(inputs),
        output=decision.as_response(),
        outcome=outcome,
    )


def _jsonable(value):
    if isinstance(value, (Decimal, np.floating)):
        return float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
