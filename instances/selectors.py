"""Reads about instances and the pools an agent may run in."""

from datetime import timedelta

from django.db.models import Avg, Count, Q
from django.utils import timezone

from instances.models import (
    AuditEvent,
    EmergencyEvent,
    Instance,
    Replica,
    Switch,
)
from pricing.models import RawPriceReport, SpotPool
from pricing.selectors import pool_boot_seconds

ACCEPTABLE_TYPES_LOOKBACK_HOURS = 24


def agent_acceptable_types(*, agent) -> list[str]:
    """The agent's own type plus every type it reported prices for lately."""
    types = {agent.instance_type, *_types_reported(agent)}
    return sorted(t for t in types if t)


def _types_reported(agent):
    since = timezone.now() - timedelta(hours=ACCEPTABLE_TYPES_LOOKBACK_HOURS)
    return (
        RawPriceReport.objects.filter(
            agent_id=agent.pk,
            price_type=RawPriceReport.PriceType.SPOT,
            received_at__gte=since,
        )
        .values_list("instance_type", flat=True)
        .distinct()
    )


def pools_acceptable(*, agent, exclude_pool_ids=(), exclude_azs=()) -> list[SpotPool]:
    """Pools of the agent's acceptable types in its region, in one query (the
    reported types are a subquery): failovers read this."""
    pools = SpotPool.objects.filter(
        Q(instance_type=agent.instance_type)
        | Q(instance_type__in=_types_reported(agent)),
        region=agent.region,
    ).exclude(pk__in=list(exclude_pool_ids))
    if exclude_azs:
        pools = pools.exclude(az__in=list(exclude_azs))
    return list(pools)


def pool_choose_uncorrelated(*, agent, current: Instance | None) -> SpotPool | None:
    """A pool unlikely to be reclaimed with the current one.

    Another availability zone is required; another instance family is
    preferred; then the cheapest known price.
    """
    current_pool = current.pool if current else None
    current_az = current.az if current else agent.az
    family = (current.instance_type if current else agent.instance_type).split(".")[0]
    candidates = [
        pool
        for pool in pools_acceptable(
            agent=agent, exclude_pool_ids=[current_pool.pk] if current_pool else []
        )
        if pool.az != current_az
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda pool: (
            pool.family == family,
            pool.latest_price is None,
            pool.latest_price or 0,
            pool.pool_id,
        ),
    )


def pool_choose_fastest(
    *,
    agent,
    exclude_pool_ids=(),
    preferred_az: str = "",
    exclude_azs=(),
) -> SpotPool | None:
    """The acceptable pool with the fastest measured boot, then the cheapest."""
    candidates = pools_acceptable(
        agent=agent, exclude_pool_ids=exclude_pool_ids, exclude_azs=exclude_azs
    )
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda pool: (
            bool(preferred_az) and pool.az != preferred_az,
            pool_boot_seconds(pool),
            pool.latest_price is None,
            pool.latest_price or 0,
            pool.pool_id,
        ),
    )


def instance_find(*, agent_id: int, instance_id: str) -> Instance | None:
    if not instance_id:
        return None
    return (
        Instance.objects.filter(agent_id=agent_id)
        .filter(instance_id=instance_id)
        .order_by("-created_at", "-id")
        .first()
    )


def replicas_standing_by(*, agent_id: int) -> tuple[Replica | None, Replica | None]:
    """The agent's newest ready replica and its newest launching one, read
    together: a failover takes the first, else the second."""
    candidates = (
        Replica.objects.select_related("instance")
        .filter(
            Q(status=Replica.Status.READY,
              instance__state=Instance.State.RUNNING_REPLICA)
            | Q(status=Replica.Status.LAUNCHING),
            agent_id=agent_id,
        )
        .order_by("-ready_at", "-created_at", "-id")
    )
    ready = launching = None
    for replica in candidates:
        if replica.status == Replica.Status.READY:
            ready = ready or replica
        else:
            launching = launching or replica
    return ready, launching


def replicas_active(*, agent_id: int):
    return Replica.objects.select_related("instance", "instance__pool").filter(
        agent_id=agent_id,
        status__in=[Replica.Status.LAUNCHING, Replica.Status.READY],
    )


def switch_in_progress(*, agent_id: int) -> Switch | None:
    return Switch.objects.filter(
        agent_id=agent_id,
        status__in=[Switch.Status.LAUNCHING, Switch.Status.PROMOTING],
    ).first()


def emergency_open(*, agent_id: int, kind: str) -> EmergencyEvent | None:
    return (
        EmergencyEvent.objects.filter(
            agent_id=agent_id, kind=kind, status=EmergencyEvent.Status.OPEN
        )
        .order_by("-received_at")
        .first()
    )


def instances_to_terminate(*, agent_id: int):
    return Instance.objects.filter(
        agent_id=agent_id,
        state__in=[Instance.State.ZOMBIE, Instance.State.TERMINATING],
        instance_id__isnull=False,
    ).order_by("state_changed_at")


# Reads for the client dashboard and the client API; every one is scoped to
# the client, so another client's ids simply find nothing.


def instance_list(*, client_id: int):
    return Instance.objects.filter(client_id=client_id).select_related(
        "agent", "pool"
    )


def instance_get(*, client_id: int, instance_pk) -> Instance | None:
    if not str(instance_pk).isdigit():
        return None
    return (
        instance_list(client_id=client_id).filter(pk=int(instance_pk)).first()
    )


def instance_state_counts(*, client_id: int) -> dict[str, int]:
    rows = (
        Instance.objects.filter(client_id=client_id)
        .values("state").annotate(total=Count("id")).order_by()
    )
    counts = dict.fromkeys(Instance.State.values, 0)
    counts.update({row["state"]: row["total"] for row in rows})
    return counts


def replica_list(*, client_id: int):
    return Replica.objects.filter(agent__client_id=client_id).select_related(
        "agent", "instance", "instance__pool"
    )


def switch_list(*, client_id: int):
    return Switch.objects.filter(client_id=client_id).select_related("agent")


def emergencies_active(*, client_id: int):
    return EmergencyEvent.objects.filter(
        client_id=client_id, status=EmergencyEvent.Status.OPEN
    ).select_related("agent", "instance")


def instance_event_log(*, instance: Instance, limit: int = 100):
    return AuditEvent.objects.filter(instance=instance)[:limit]


def switch_downtime_average_ms(*, client_id: int | None = None) -> float | None:
    """Mean measured downtime of completed switches, the client's if it has any.

    A client with no switch yet borrows the fleet-wide figure, which beats
    guessing a constant.
    """
    completed = Switch.objects.filter(
        status=Switch.Status.COMPLETED, downtime_ms__isnull=False
    )
    if client_id is not None:
        own = completed.filter(client_id=client_id).aggregate(
            value=Avg("downtime_ms")
        )["value"]
        if own is not None:
            return float(own)
    value = completed.aggregate(value=Avg("downtime_ms"))["value"]
    return float(value) if value is not None else None
