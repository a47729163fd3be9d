"""Fleet-wide reads for operators: global figures, growth and activity.

They cross every app, so they live with the project rather than with any
one app; the admin index, the system-health page and the operator API all
read them from here.
"""

from datetime import date, timedelta

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from agents.models import Agent, Client
from instances.models import AuditEvent, EmergencyEvent, Instance, Switch
from spotopt.health import agents_by_status

RUNNING_STATES = (Instance.State.RUNNING_PRIMARY, Instance.State.RUNNING_REPLICA)


def global_stats() -> dict:
    """The figures an operator wants first: fleet size, health, activity."""
    since = timezone.now() - timedelta(hours=24)
    clients = Client.objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(status=Client.Status.ACTIVE)),
        suspended=Count("pk", filter=Q(status=Client.Status.SUSPENDED)),
    )
    instances = Instance.objects.aggregate(
        running=Count("pk", filter=Q(state__in=RUNNING_STATES)),
        primaries=Count("pk", filter=Q(state=Instance.State.RUNNING_PRIMARY)),
        replicas=Count("pk", filter=Q(state=Instance.State.RUNNING_REPLICA)),
        zombies=Count("pk", filter=Q(state=Instance.State.ZOMBIE)),
        spot=Count(
            "pk",
            filter=Q(state=Instance.State.RUNNING_PRIMARY, mode=Instance.Mode.SPOT),
        ),
    )
    switches = Switch.objects.filter(initiated_at__gte=since).aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(status=Switch.Status.COMPLETED)),
        failed=Count("pk", filter=Q(status=Switch.Status.FAILED)),
    )
    emergencies = EmergencyEvent.objects.filter(received_at__gte=since).aggregate(
        total=Count("pk"),
        terminations=Count("pk", filter=Q(kind=EmergencyEvent.Kind.TERMINATION)),
        rebalances=Count("pk", filter=Q(kind=EmergencyEvent.Kind.REBALANCE)),
    )
    return {
        "clients": clients,
        "agents": agents_by_status(),
        "instances": instances,
        "switches_24h": switches,
        "emergencies_24h": emergencies,
        "hourly_savings": _hourly_savings(),
    }


def _hourly_savings() -> float:
    """On-demand minus spot price over the running spot primaries, per hour.

    The money ledger is the authority on savings; this is the instant view.
    """
    totals = Instance.objects.filter(
        state=Instance.State.RUNNING_PRIMARY,
        mode=Instance.Mode.SPOT,
        spot_price__isnull=False,
        ondemand_price__isnull=False,
    ).aggregate(ondemand=Sum("ondemand_price"), spot=Sum("spot_price"))
    if totals["ondemand"] is None:
        return 0.0
    return round(float(totals["ondemand"] - totals["spot"]), 6)


def clients_growth(*, days: int = 30, today: date | None = None) -> list[dict]:
    """New clients per day and the running total, oldest day first."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    before = Client.objects.filter(created_at__date__lt=first).count()
    per_day = dict(
        Client.objects.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(total=Count("pk"))
        .order_by()
    )
    series, running = [], before
    for offset in range(days):
        day = first + timedelta(days=offset)
        running += per_day.get(day, 0)
        series.append(
            {"date": day.isoformat(), "new": per_day.get(day, 0), "total": running}
        )
    return series


def clients_with_counts():
    """Clients with their agent and running-instance counts, for lists.

    Counted by subqueries: joining agents and instances together would
    multiply the rows of a large client before counting.
    """
    return Client.objects.annotate(
        agent_count=_per_client(Agent.objects.all()),
        agents_online=_per_client(Agent.objects.filter(status=Agent.Status.ONLINE)),
        running_instances=_per_client(
            Instance.objects.filter(state__in=RUNNING_STATES)
        ),
    ).order_by("name", "pk")


def _per_client(queryset):
    counted = (
        queryset.filter(client=OuterRef("pk"))
        .order_by()
        .values("client")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted[:1]), 0)


def activity_list(*, limit: int = 100):
    """The latest recorded changes across every client, newest first."""
    return AuditEvent.objects.select_related("client", "agent", "instance")[:limit]
