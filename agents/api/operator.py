"""The operator API (PROTOCOL.md, operators): staff users only.

Token read-back does not exist: tokens are stored hashed, so an operator
regenerates a token instead, and the new one is shown in that answer only.
"""

import csv

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api import operator_serializers as s
from agents.authentication import ClientTokenAuthentication
from agents.filters import AgentFilter
from agents.models import Agent, Client
from agents.services.clients import client_create, client_delete, client_token_rotate
from instances.filters import InstanceFilter
from instances.models import Instance
from spotopt.health import system_health
from spotopt.selectors import (
    activity_list,
    clients_growth,
    clients_with_counts,
    global_stats,
)

GROWTH_MAX_DAYS = 366


class OperatorAPIView:
    """Staff users with a session; a client token is refused with 403.

    Token authentication comes first: a token caller is told "not allowed"
    (403), and an anonymous one is asked for credentials (401).
    """

    authentication_classes = [ClientTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAdminUser]


class ClientCreateView(OperatorAPIView, APIView):
    @extend_schema(
        request=s.OperatorClientCreateIn, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        data = s.OperatorClientCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        client, token = client_create(**data.validated_data)
        body = {
            **s.OperatorClientOut(client).data,
            "client_id": client.pk,
            "token": token,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class ClientDeleteView(OperatorAPIView, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def delete(self, request, client_id):
        client = get_object_or_404(Client, pk=client_id)
        client_delete(client=client)
        return Response({"deleted": True, "client_id": client_id})


class TokenRegenerateView(OperatorAPIView, APIView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request, client_id):
        client = get_object_or_404(Client, pk=client_id)
        token = client_token_rotate(client=client)
        return Response(
            {"client_id": client.pk, "token": token,
             "token_prefix": client.token_prefix,
             "token_rotated_at": client.token_rotated_at}
        )


class StatsView(OperatorAPIView, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(global_stats())


class ClientListView(OperatorAPIView, generics.ListAPIView):
    serializer_class = s.OperatorClientOut
    filterset_fields = ["status"]
    ordering_fields = ["name", "created_at", "id"]

    def get_queryset(self):
        return clients_with_counts()


class ClientGrowthView(OperatorAPIView, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        raw = request.query_params.get("days", "30")
        days = int(raw) if raw.isdigit() else 30
        days = min(max(days, 1), GROWTH_MAX_DAYS)
        return Response({"days": days, "series": clients_growth(days=days)})


class InstanceListView(OperatorAPIView, generics.ListAPIView):
    serializer_class = s.OperatorInstanceOut
    filterset_class = InstanceFilter
    ordering_fields = ["created_at", "state_changed_at", "id"]

    def get_queryset(self):
        return Instance.objects.all()


class AgentListView(OperatorAPIView, generics.ListAPIView):
    serializer_class = s.OperatorAgentOut
    filterset_class = AgentFilter
    ordering_fields = ["logical_agent_id", "status", "last_heartbeat_at", "id"]

    def get_queryset(self):
        return Agent.objects.select_related("client")


class ActivityView(OperatorAPIView, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        events = activity_list(limit=200)
        return Response({"events": s.OperatorActivityOut(events, many=True).data})


class SystemHealthView(OperatorAPIView, APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(system_health())


class GlobalStatsExportView(OperatorAPIView, APIView):
    """Per-client figures as CSV, one row per client."""

    COLUMNS = [
        "id", "name", "email", "status", "agent_count", "agents_online",
        "running_instances", "created_at",
    ]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request):
        response = HttpResponse(content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="global-stats.csv"'
        writer = csv.writer(response)
        writer.writerow(self.COLUMNS)
        for client in clients_with_counts():
            writer.writerow(
                [_csv_safe(getattr(client, column)) for column in self.COLUMNS]
            )
        return response


def _csv_safe(value):
    """Keep a client's name from becoming a formula in a spreadsheet."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@"):
        return "'" + text
    return text
