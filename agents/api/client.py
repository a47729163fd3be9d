"""The client API about the client and its agents (PROTOCOL.md, client)."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api import client_serializers as s
from agents.filters import AgentFilter
from agents.selectors import agent_get, agent_list
from agents.services.lifecycle import (
    agent_config_update,
    agent_enabled_toggle,
    agent_remove,
)
from decisions.filters import DecisionFilter
from decisions.models import DecisionLog
from instances.models import AuditEvent
from spotopt.tenancy import ClientScoped


class ValidateView(ClientScoped, APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        client = self.client
        return Response(
            {"valid": True, "client_id": client.pk, "name": client.name,
             "status": client.status}
        )


class ClientDetailView(ClientScoped, APIView):
    @extend_schema(responses={200: s.ClientAccountOut})
    def get(self, request, client_id):
        return Response(s.ClientAccountOut(self.path_client()).data)


class AgentListView(ClientScoped, generics.ListAPIView):
    serializer_class = s.ClientAgentOut
    filterset_class = AgentFilter
    ordering_fields = ["logical_agent_id", "status", "last_heartbeat_at", "id"]

    def get_queryset(self):
        return agent_list(client_id=self.path_client().pk)


class DecisionListView(ClientScoped, generics.ListAPIView):
    serializer_class = s.ClientDecisionOut
    filterset_class = DecisionFilter
    ordering_fields = ["created_at", "expected_savings_per_hour", "risk_score"]

    def get_queryset(self):
        return DecisionLog.objects.filter(client_id=self.path_client().pk)


class AgentHistoryView(ClientScoped, generics.ListAPIView):
    """Status and config changes of the client's agents."""

    serializer_class = s.AgentHistoryOut
    ordering_fields = ["created_at"]
    filterset_fields = ["agent", "event_type"]

    def get_queryset(self):
        return AuditEvent.objects.filter(
            client_id=self.path_client().pk,
            event_type__in=["agent_status", "agent_config"],
        )


class _AgentAction(ClientScoped, APIView):
    def get_agent(self):
        agent = agent_get(client_id=self.client.pk, agent_id=self.kwargs["agent_id"])
        if agent is None:
            raise Http404
        return agent

    def _cause(self) -> str:
        return f"client api ({self.request.user})"


class AgentToggleEnabledView(_AgentAction):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, agent_id):
        agent = agent_enabled_toggle(agent=self.get_agent(), cause=self._cause())
        return Response({"agent_id": agent.pk, "enabled": agent.enabled})


class AgentConfigView(_AgentAction):
    """`settings` and `config` are the same operation under two names."""

    @extend_schema(
        request=s.ClientConfigIn, responses={200: OpenApiTypes.OBJECT}
    )
    def post(self, request, agent_id):
        agent = self.get_agent()
        serializer = s.ClientConfigIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        agent = agent_config_update(
            agent=agent, changes=serializer.validated_data, cause=self._cause()
        )
        return Response({"agent_id": agent.pk, "config": agent.config()})


class AgentDeleteView(_AgentAction):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def delete(self, request, agent_id):
        agent = self.get_agent()
        agent_remove(agent=agent, cause=self._cause())
        return Response({"agent_id": agent.pk, "status": "terminated"})
