"""The client API about money: savings, switch history, charts, exports."""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from instances.api.client_serializers import ClientSwitchOut
from instances.filters import SwitchFilter
from instances.selectors import instance_state_counts, switch_list
from pricing import exports, reports
from spotopt.tenancy import ClientScoped

CHART_DAYS = 30


def _days(request, default: int) -> int:
    raw = request.query_params.get("days", str(default))
    return min(max(int(raw), 1), 730) if raw.isdigit() else default


class SavingsView(ClientScoped, APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, client_id):
        client = self.path_client()
        since = timezone.now().date() - timedelta(days=_days(request, CHART_DAYS))
        return Response(
            {
                "client_id": client.pk,
                **reports.savings_summary(client_id=client.pk),
                "daily": reports.savings_series(
                    client_id=client.pk, period="day", since=since
                ),
                "monthly": reports.savings_series(
                    client_id=client.pk, period="month", since=since.replace(day=1)
                ),
            }
        )


class SwitchHistoryView(ClientScoped, generics.ListAPIView):
    serializer_class = ClientSwitchOut
    filterset_class = SwitchFilter
    ordering_fields = ["initiated_at", "completed_at", "downtime_ms"]

    def get_queryset(self):
        return switch_list(client_id=self.path_client().pk)


class ChartsView(ClientScoped, APIView):
    """Series for the dashboard charts in one call."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, client_id):
        client = self.path_client()
        days = _days(request, CHART_DAYS)
        since = timezone.now() - timedelta(days=days)
        switches = (
            switch_list(client_id=client.pk).filter(initiated_at__gte=since)
            .annotate(day=TruncDate("initiated_at")).values("day", "status")
            .annotate(total=Count("id")).order_by("day")
        )
        return Response(
            {
                "days": days,
                "savings_daily": reports.savings_series(
                    client_id=client.pk, period="day", since=since.date()
                ),
                "savings_monthly": reports.savings_series(
                    client_id=client.pk, period="month",
                    since=since.date().replace(day=1),
                ),
                "switches_daily": [
                    {"day": row["day"].isoformat(), "status": row["status"],
                     "count": row["total"]}
                    for row in switches
                ],
                "instances_by_state": instance_state_counts(client_id=client.pk),
            }
        )


class SavingsExportView(ClientScoped, APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, client_id):
        period = "month" if request.query_params.get("period") == "month" else "day"
        return exports.savings_csv(
            client_id=self.path_client().pk, period=period,
            days=_days(request, 365),
        )


class SwitchHistoryExportView(ClientScoped, APIView):
    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, client_id):
        switches = switch_list(client_id=self.path_client().pk)
        switches = SwitchFilter(request.query_params, queryset=switches).qs
        return exports.switches_csv(switches=switches)
