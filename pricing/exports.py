"""CSV exports of savings and switch history, for pages and the API alike."""

import csv
import io
from datetime import date, timedelta

from django.http import HttpResponse
from django.utils import timezone

from pricing.reports import savings_series

SAVINGS_COLUMNS = [
    "period_start", "instance_hours", "actual_cost", "on_demand_cost",
    "savings", "safety_cost",
]
SWITCH_COLUMNS = [
    "id", "agent", "trigger", "status", "from_pool_id", "to_pool_id",
    "old_price", "new_price", "ondemand_price", "initiated_at", "completed_at",
    "downtime_ms", "failure_reason",
]


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def savings_csv(*, client_id: int, period: str = "day", days: int = 90) -> HttpResponse:
    since = timezone.now().date() - timedelta(days=days)
    if period == "month":
        since = date(since.year, since.month, 1)
    series = savings_series(client_id=client_id, period=period, since=since)
    rows = ([row[column] for column in SAVINGS_COLUMNS] for row in series)
    return _csv_response(f"savings-{period}.csv", SAVINGS_COLUMNS, rows)


def switches_csv(*, switches) -> HttpResponse:
    rows = (
        [
            switch.pk, switch.agent.logical_agent_id, switch.trigger,
            switch.status, switch.from_pool_id, switch.to_pool_id,
            switch.old_price, switch.new_price, switch.ondemand_price,
            switch.initiated_at.isoformat(),
            switch.completed_at.isoformat() if switch.completed_at else "",
            switch.downtime_ms if switch.downtime_ms is not None else "",
            switch.failure_reason,
        ]
        for switch in switches.iterator(chunk_size=500)
    )
    return _csv_response("switch-history.csv", SWITCH_COLUMNS, rows)
