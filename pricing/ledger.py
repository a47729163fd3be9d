"""The savings ledger: what every instance-hour cost, and its roll-ups.

Savings are measured, never credited per switch: each hour an instance
ran is costed at the price in force for its pool at that time and set
against the on-demand price of the same type and region. Replica hours and
on-demand fallback hours are the cost of safety.
"""

import logging
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, Sum, Value, When
from django.db.models.functions import TruncDay, TruncMonth
from django.utils import timezone

from instances.models import Instance
from pricing.models import (
    ConsolidatedPrice,
    LedgerHour,
    LedgerRollup,
    OnDemandPrice,
    RawPriceReport,
)

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
SIX_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class Segment:
    """A stretch of time one instance ran in one role."""

    start: datetime
    end: datetime
    role: str


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def ledger_rebuild(*, since: datetime | None = None) -> dict:
    """Rebuild the ledger hours and every roll-up from `since` (or all)."""
    hours = ledger_hours_rebuild(since=since)
    day = since.date() if since else None
    month = day.replace(day=1) if day else None
    return {
        "hours": hours,
        "days": ledger_rollups_rebuild(period=LedgerRollup.Period.DAY, since=day),
        "months": ledger_rollups_rebuild(
            period=LedgerRollup.Period.MONTH, since=month
        ),
    }


def ledger_hours_rebuild(
    *, since: datetime | None = None, until: datetime | None = None
) -> int:
    """Recompute the ledger rows of the hours from `since` to `until`.

    The rows of those hours are deleted and written again in one
    transaction, so a rerun gives the same ledger. The current hour is
    written up to `until` (now) and completed by the next run.
    """
    until = until or timezone.now()
    since = hour_floor(since) if since else None
    instances = _instances_overlapping(since, until)
    claims = _primary_claims(instances)
    rows = []
    for instance in instances:
        segments = instance_segments(
            instance=instance, until=until, next_claim=claims.get(instance.pk)
        )
        rows += _hour_rows(instance, segments, since)

    with transaction.atomic():
        stale = LedgerHour.objects.all()
        if since is not None:
            stale = stale.filter(hour__gte=since)
        stale.delete()
        LedgerHour.objects.bulk_create(rows, batch_size=1000)
    logger.info("Ledger rebuilt from %s: %s instance-hour rows", since, len(rows))
    return len(rows)


def _instances_overlapping(since, until) -> list[Instance]:
    instances = Instance.objects.filter(
        confirmed_at__isnull=False, confirmed_at__lt=until
    )
    if since is not None:
        instances = instances.exclude(terminated_at__lte=since)
    return list(instances.order_by("agent_id", "confirmed_at", "pk"))


def _claim_start(instance: Instance) -> datetime | None:
    """When the instance became its agent's primary, if it ever did."""
    if instance.promoted_at is not None:
        return max(instance.promoted_at, instance.confirmed_at)
    if instance.role_hint == Instance.Role.PRIMARY:
        return instance.confirmed_at
    return None


def _primary_claims(instances: list[Instance]) -> dict[int, datetime]:
    """Each instance's end of primacy: when the agent's next primary took over."""
    by_agent: dict[int, list[tuple[datetime, int]]] = {}
    for instance in instances:
        start = _claim_start(instance)
        if start is not None:
            by_agent.setdefault(instance.agent_id, []).append((start, instance.pk))

    ends = {}
    for claims in by_agent.values():
        claims.sort()
        for (_, pk), (next_start, _) in zip(claims, claims[1:], strict=False):
            ends[pk] = next_start
    return ends


def instance_segments(
    *, instance: Instance, until: datetime, next_claim: datetime | None = None
) -> list[Segment]:
    """Split an instance's running time into primary and replica stretches.

    1. It ran from confirmation to termination (a zombie: to when it was
       set aside; one still running: to `until`).
    2. An on-demand instance is a fallback for all of that time.
    3. Otherwise it was a primary from its claim (promotion or confirmed
       launch as primary) until the agent's next primary took over, and a
       replica before and after: standby and switch overlap cost safety.
    """
    end = instance.terminated_at
    if end is None and instance.state == Instance.State.ZOMBIE:
        end = instance.state_changed_at
    end = min(end or until, until)
    start = instance.confirmed_at
    if end <= start:
        return []
    if instance.mode == Instance.Mode.ONDEMAND:
        return [Segment(start, end, LedgerHour.Role.ONDEMAND)]

    claim = _claim_start(instance)
    if claim is None or claim >= end:
        return [Segment(start, end, LedgerHour.Role.REPLICA)]
    primary_end = min(next_claim or end, end)
    pieces = [
        Segment(start, claim, LedgerHour.Role.REPLICA),
        Segment(claim, primary_end, LedgerHour.Role.PRIMARY),
        Segment(primary_end, end, LedgerHour.Role.REPLICA),
    ]
    return [piece for piece in pieces if piece.end > piece.start]


def _hour_rows(instance, segments, since) -> list[LedgerHour]:
    if not segments:
        return []

    ondemand = _ondemand_price(instance)
    prices = PriceSeries.for_instance(instance, segments[0].start, segments[-1].end)
    totals: dict[tuple[datetime, str], list] = {}
    for segment in segments:
        for hour, start, seconds in _hours_of(segment):
            if since is not None and hour < since:
                continue
            price = ondemand if segment.role == "ondemand" else prices.at(start)
            entry = totals.setdefault((hour, segment.role), [0, price])
            entry[0] += seconds
    return [
        _ledger_row(instance, hour, role, seconds, price, ondemand)
        for (hour, role), (seconds, price) in totals.items()
    ]


def _hours_of(segment: Segment):
    """Yield (clock hour, start within it, seconds) across the segment."""
    start = segment.start
    while start < segment.end:
        hour = hour_floor(start)
        stop = min(hour + HOUR, segment.end)
        yield hour, start, (stop - start).total_seconds()
        start = stop


def _ledger_row(instance, hour, role, seconds, price, ondemand) -> LedgerHour:
    fraction = (Decimal(seconds) / 3600).quantize(SIX_PLACES)
    price = price if price is not None else ondemand or Decimal(0)
    actual = (price * fraction).quantize(SIX_PLACES)
    if role == LedgerHour.Role.REPLICA:
        counterfactual = Decimal(0)
    elif ondemand is None:
        # Without an on-demand price no saving can be shown, so none is.
        counterfactual = actual
    else:
        counterfactual = (ondemand * fraction).quantize(SIX_PLACES)
    return LedgerHour(
        instance=instance, agent_id=instance.agent_id,
        client_id=instance.client_id, pool_id=instance.pool_id, hour=hour,
        role=role, fraction=fraction, price=price, ondemand_price=ondemand,
        actual_cost=actual, ondemand_cost=counterfactual,
    )


def _ondemand_price(instance: Instance) -> Decimal | None:
    listed = (
        OnDemandPrice.objects.filter(
            instance_type=instance.instance_type, region=instance.region
        )
        .values_list("price", flat=True)
        .first()
    )
    return listed if listed is not None else instance.ondemand_price


class PriceSeries:
    """The prices of one pool over a stretch of time, as steps.

    Built from the consolidated tier, falling back to the raw tier where
    nothing is consolidated yet, and to the price recorded on the instance
    when the pool has no known price at all.
    """

    def __init__(self, points: list[tuple[datetime, Decimal]], default):
        self.times = [moment for moment, _ in points]
        self.prices = [price for _, price in points]
        self.default = default

    @classmethod
    def for_instance(cls, instance: Instance, start: datetime, end: datetime):
        points = []
        if instance.pool_id is not None:
            points = _consolidated_points(instance.pool_id, start, end)
            if not points:
                points = _raw_points(instance.pool_id, start, end)
        return cls(points, instance.spot_price)

    def at(self, moment: datetime) -> Decimal | None:
        index = bisect_right(self.times, moment)
        if index > 0:
            return self.prices[index - 1]
        # Nothing known yet: the price recorded at launch, else the next one.
        if self.default is not None or not self.prices:
            return self.default
        return self.prices[0]


def _consolidated_points(pool_id: int, start, end) -> list:
    rows = ConsolidatedPrice.objects.filter(pool_id=pool_id)
    before = rows.filter(bucket__lte=start).order_by("-bucket").values_list(
        "bucket", "price"
    )[:1]
    inside = rows.filter(bucket__gt=start, bucket__lt=end).order_by(
        "bucket"
    ).values_list("bucket", "price")
    return [*before, *inside]


def _raw_points(pool_id: int, start, end) -> list:
    rows = RawPriceReport.objects.filter(
        pool_id=pool_id, price_type=RawPriceReport.PriceType.SPOT
    )
    before = rows.filter(observed_at__lte=start).order_by(
        "-observed_at", "-id"
    ).values_list("observed_at", "price")[:1]
    inside = rows.filter(observed_at__gt=start, observed_at__lt=end).order_by(
        "observed_at", "id"
    ).values_list("observed_at", "price")
    return [*before, *inside]


def ledger_rollups_rebuild(*, period: str, since: date | None = None) -> int:
    """Recompute the day or month roll-ups from the ledger hours."""
    trunc = TruncDay if period == LedgerRollup.Period.DAY else TruncMonth
    hours = LedgerHour.objects.all()
    if since is not None:
        hours = hours.filter(hour__gte=_day_start(since))
    money = DecimalField(max_digits=14, decimal_places=6)
    zero = Value(Decimal(0), output_field=money)
    groups = (
        hours.annotate(start=trunc("hour"))
        .values("agent_id", "client_id", "start")
        .annotate(
            instance_hours=Sum("fraction"),
            actual=Sum("actual_cost"),
            ondemand=Sum("ondemand_cost"),
            replica=Sum(Case(When(role="replica", then="actual_cost"),
                             default=zero, output_field=money)),
            fallback=Sum(Case(When(role="ondemand", then="actual_cost"),
                              default=zero, output_field=money)),
        )
    )
    rows = [_rollup_row(period, group) for group in groups]

    with transaction.atomic():
        stale = LedgerRollup.objects.filter(period=period)
        if since is not None:
            stale = stale.filter(period_start__gte=since)
        stale.delete()
        LedgerRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _rollup_row(period: str, group: dict) -> LedgerRollup:
    start = group["start"]
    return LedgerRollup(
        agent_id=group["agent_id"], client_id=group["client_id"], period=period,
        period_start=start.date() if isinstance(start, datetime) else start,
        instance_hours=group["instance_hours"], actual_cost=group["actual"],
        ondemand_cost=group["ondemand"], replica_cost=group["replica"],
        fallback_cost=group["fallback"],
    )


def ledger_refresh(*, hours_back: int = 2) -> dict:
    """The hourly job: the last hours, then today's and this month's sums."""
    since = hour_floor(timezone.now()) - timedelta(hours=hours_back)
    written = ledger_hours_rebuild(since=since)
    day = since.date()
    return {
        "hours": written,
        "days": ledger_rollups_rebuild(period=LedgerRollup.Period.DAY, since=day),
        "months": ledger_rollups_rebuild(
            period=LedgerRollup.Period.MONTH, since=day.replace(day=1)
        ),
    }


def ledger_close_day() -> dict:
    """The daily job: yesterday in full, so late data settles into it."""
    yesterday = hour_floor(timezone.now()).replace(hour=0) - timedelta(days=1)
    return ledger_rebuild(since=yesterday)

