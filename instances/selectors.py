"""Reads about instances and the pools an agent may run in."""

import functools
from datetime import timedelta
from typing import NamedTuple

from django.db import connection
from django.db.models import Avg, Count
from django.utils import timezone

from instances.models import (
    AuditEvent,
    EmergencyEvent,
    Instance,
    Replica,
    Switch,
)
from pricing.models import OnDemandPrice, RawPriceReport, SpotPool
from pricing.selectors import pool_boot_seconds
from spotopt.sql import all_columns, column, row_as_model, table

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
    """Pools of the agent's acceptable types in its region, in one statement
    (the reported types are a subquery): failovers read this. Each pool
    carries `ondemand_price`, its type's in its region (None: unknown),
    which a launch in it records."""
    exclude_pool_ids, exclude_azs = list(exclude_pool_ids), list(exclude_azs)
    since = timezone.now() - timedelta(hours=ACCEPTABLE_TYPES_LOOKBACK_HOURS)
    pools = list(SpotPool.objects.raw(
        _pools_acceptable_sql(len(exclude_pool_ids), len(exclude_azs)),
        [
            agent.region, agent.instance_type,
            agent.pk, RawPriceReport.PriceType.SPOT, since,
            *exclude_pool_ids, *exclude_azs,
        ],
    ))
    price_field = OnDemandPrice._meta.get_field("price")
    for pool in pools:  # A raw annotation comes as the driver gives it.
        pool.ondemand_price = price_field.to_python(pool.ondemand_price)
    return pools


@functools.cache
def _pools_acceptable_sql(excluded_pools: int, excluded_azs: int) -> str:
    """Written by hand: the ORM took 1.3 ms of CPU to build this query
    (in-process, PostgreSQL), a failover's largest read."""
    pool, price, report = (
        lambda name: f'"p".{column(SpotPool, name)}',
        lambda name: f'"o".{column(OnDemandPrice, name)}',
        lambda name: f'"r".{column(RawPriceReport, name)}',
    )
    excluded = ""
    if excluded_pools:
        marks = ", ".join(["%s"] * excluded_pools)
        excluded += f" AND {pool('id')} NOT IN ({marks})"
    if excluded_azs:
        excluded += f" AND {pool('az')} NOT IN ({', '.join(['%s'] * excluded_azs)})"
    return f"""
        SELECT {all_columns(SpotPool, "p")}, (
            SELECT {price("price")} FROM {table(OnDemandPrice)} "o"
            WHERE {price("instance_type")} = {pool("instance_type")}
              AND {price("region")} = {pool("region")}
            LIMIT 1
        ) AS "ondemand_price"
        FROM {table(SpotPool)} "p"
        WHERE {pool("region")} = %s AND (
            {pool("instance_type")} = %s
            OR {pool("instance_type")} IN (
                SELECT {report("instance_type")} FROM {table(RawPriceReport)} "r"
                WHERE {report("agent")} = %s AND {report("price_type")} = %s
                  AND {report("received_at")} >= %s
            )
        ){excluded}
        ORDER BY {pool("pool_id")}
    """


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
    found = list(Instance.objects.raw(_instance_find_sql(), [agent_id, instance_id]))
    return found[0] if found else None


@functools.cache
def _instance_find_sql() -> str:
    """Written by hand: every notice, result and switch report looks its
    instance up, and the ORM spent 0.6 ms of CPU building the query."""
    return f"""
        SELECT {all_columns(Instance)} FROM {table(Instance)}
        WHERE {column(Instance, "agent")} = %s
          AND {column(Instance, "instance_id")} = %s
        ORDER BY {column(Instance, "created_at")} DESC, {column(Instance, "id")} DESC
        LIMIT 1
    """


class Takeover(NamedTuple):
    """What could serve in place of a reclaimed primary, best first."""

    ready: Replica | None  # The newest ready replica: promoted at once.
    launching: Replica | None  # The newest launching one: promoted on launch.
    switching: Instance | None  # A switch's new instance, still launching.


def takeover_candidates(*, agent_id: int) -> Takeover:
    """The agent's instances that could take over, in one statement:
    replicas ready or launching, and the new instance of a switch still
    launching."""
    with connection.cursor() as cursor:
        cursor.execute(_takeover_sql(), [
            agent_id,
            Replica.Status.READY, Instance.State.RUNNING_REPLICA,
            Replica.Status.LAUNCHING,
            Instance.State.LAUNCHING, Switch.Status.LAUNCHING,
        ])
        rows = cursor.fetchall()
    ready, launching, switching = [], [], []
    for row in rows:
        instance, rest = row_as_model(Instance, row)
        replica, _ = row_as_model(Replica, rest)
        if replica is None:
            switching.append(instance)
            continue
        replica.instance = instance
        if replica.status == Replica.Status.READY:
            ready.append(replica)
        else:
            launching.append(replica)
    return Takeover(
        ready=_newest(ready, lambda r: (r.ready_at is not None, r.ready_at)),
        launching=_newest(launching, lambda r: (True, None)),
        switching=_newest(switching, lambda i: (True, None)),
    )


@functools.cache
def _takeover_sql() -> str:
    """Written by hand: the ORM took 1.8 ms of CPU to build this query, a
    tenth of a failover's (in-process, PostgreSQL)."""
    instance, replica, switch = (
        lambda name: f'"i".{column(Instance, name)}',
        lambda name: f'"r".{column(Replica, name)}',
        lambda name: f'"s".{column(Switch, name)}',
    )
    return f"""
        SELECT {all_columns(Instance, "i")}, {all_columns(Replica, "r")}
        FROM {table(Instance)} "i"
        LEFT JOIN {table(Replica)} "r" ON {replica("instance")} = {instance("id")}
        WHERE {instance("agent")} = %s AND (
            ({replica("status")} = %s AND {instance("state")} = %s)
            OR {replica("status")} = %s
            OR ({instance("state")} = %s AND EXISTS (
                SELECT 1 FROM {table(Switch)} "s"
                WHERE {switch("new_instance")} = {instance("id")}
                  AND {switch("status")} = %s
            ))
        )
    """


def _newest(rows, first_key):
    """The newest row by `first_key`, then creation, then id."""
    return max(
        rows,
        key=lambda row: (*first_key(row), row.created_at, row.pk),
        default=None,
    )


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
