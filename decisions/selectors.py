"""Reads for decisions and the figures agents and clients are shown."""

from decimal import Decimal

from django.utils import timezone

from instances.models import Instance

_SERVING_STATES = (
    Instance.State.RUNNING_PRIMARY,
    Instance.State.RUNNING_REPLICA,
    Instance.State.PROMOTING,
    Instance.State.TERMINATING,
    Instance.State.ZOMBIE,
    Instance.State.TERMINATED,
)


def agent_savings(*, agent) -> dict:
    """Measured spend against the on-demand counterfactual, per instance.

    Each confirmed instance is costed at the price recorded on it for the
    hours it ran; the pricing ledger refines this per instance-hour.
    """
    now = timezone.now()
    actual = ondemand = Decimal(0)
    hours_total = 0.0
    instances = Instance.objects.filter(
        agent=agent, confirmed_at__isnull=False, state__in=_SERVING_STATES
    ).only(
        "mode", "spot_price", "ondemand_price", "confirmed_at", "terminated_at"
    )
    for instance in instances:
        hours = ((instance.terminated_at or now) - instance.confirmed_at)
        hours = Decimal(max(0.0, hours.total_seconds()) / 3600)
        price = (
            instance.ondemand_price if instance.mode == Instance.Mode.ONDEMAND
            else instance.spot_price
        )
        if price is None or instance.ondemand_price is None:
            continue
        actual += price * hours
        ondemand += instance.ondemand_price * hours
        hours_total += float(hours)
    return {
        "instance_hours": round(hours_total, 3),
        "actual_cost": round(float(actual), 4),
        "on_demand_cost": round(float(ondemand), 4),
        "savings": round(float(ondemand - actual), 4),
        "currency": "USD",
    }
