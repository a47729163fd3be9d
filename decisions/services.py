"""Decisions: where should an agent run now, and may it act on the answer.

Until the learned engines arrive, the answer comes from the cheapest-spot
baseline over the latest stored prices.
"""

import logging
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from decisions.models import DecisionLog
from instances.models import Instance
from instances.selectors import agent_acceptable_types
from instances.services.lifecycle import instance_current_primary
from pricing.selectors import ondemand_price_get, pools_priced

logger = logging.getLogger(__name__)

BASELINE_ENGINE = "cheapest"
BASELINE_VERSION = "1"
# Prior probability of an interruption within the horizon when nothing
# better is known; the learned engines replace it per pool.
DEFAULT_INTERRUPTION_PRIOR = 0.05


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

    def as_response(self) -> dict:
        body = asdict(self)
        body.pop("alternatives")
        body.pop("current_pool")
        return body


def _as_float(value) -> float | None:
    return float(value) if value is not None else None


def decision_make(
    *, agent, instance_override: dict | None = None,
    pricing_override: dict | None = None, log: bool = True,
) -> Decision:
    """Rank the acceptable pools by price and compare with the current one."""
    instance = instance_current_primary(agent_id=agent.pk)
    instance_type = (instance.instance_type if instance else agent.instance_type)
    region = instance.region if instance else agent.region
    pools = list(
        pools_priced(region=region, instance_types=agent_acceptable_types(agent=agent))
    )
    current_price = _current_price(instance, pricing_override)
    ondemand = _as_float(
        (pricing_override or {}).get("on_demand_price")
        or ondemand_price_get(instance_type=instance_type, region=region)
    )
    decision = _baseline(agent, instance, pools, current_price, ondemand)
    if instance_override and instance_override.get("instance_id"):
        decision.instance_id = str(instance_override["instance_id"])
    if log:
        decision_log(agent=agent, decision=decision, inputs={
            "current_price": current_price,
            "on_demand_price": ondemand,
            "pools": [(p.pool_id, float(p.latest_price)) for p in pools[:20]],
        })
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


def _baseline(agent, instance, pools, current_price, ondemand) -> Decision:
    current_pool = instance.pool_key if instance else None
    model = {"name": BASELINE_ENGINE, "version": BASELINE_VERSION}
    alternatives = [
        {
            "pool_id": pool.pool_id,
            "az": pool.az,
            "spot_price": float(pool.latest_price),
            "risk_score": DEFAULT_INTERRUPTION_PRIOR,
        }
        for pool in pools
        if pool.pool_id != current_pool
    ]
    stay = Decision(
        instance_id=instance.instance_id if instance else None,
        recommended_action="stay",
        recommended_mode=instance.mode if instance else "spot",
        recommended_pool_id=current_pool,
        expected_savings_per_hour=0.0,
        risk_score=DEFAULT_INTERRUPTION_PRIOR,
        confidence=0.5,
        allowed=False,
        reason="",
        model=model,
        current_pool=current_pool,
        alternatives=alternatives,
    )
    if not pools:
        stay.reason = "no recent spot prices for the acceptable pools"
        return stay

    cheapest = pools[0]
    reference = current_price if current_price is not None else ondemand
    if cheapest.pool_id == current_pool or reference is None:
        stay.reason = "already in the cheapest pool" if reference else (
            "current price unknown"
        )
        return stay

    savings = reference - float(cheapest.latest_price)
    percent = savings / reference * 100 if reference else 0.0
    if percent < agent.min_savings_percent:
        stay.reason = (
            f"cheapest pool {cheapest.pool_id} saves {percent:.1f}%, under the "
            f"{agent.min_savings_percent:.1f}% minimum"
        )
        return stay

    stay.recommended_action = "switch"
    stay.recommended_mode = "spot"
    stay.recommended_pool_id = cheapest.pool_id
    stay.expected_savings_per_hour = round(savings, 6)
    stay.confidence = 0.6
    stay.allowed = bool(agent.enabled and agent.auto_switch_enabled)
    stay.reason = f"{cheapest.pool_id} is {percent:.1f}% cheaper"
    if not stay.allowed:
        stay.reason += "; auto-switch is off"
    return stay


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
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    return value
