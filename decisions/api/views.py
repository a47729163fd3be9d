"""Agent endpoints that ask for or act on a decision, and the statistics."""

from django.db.models import Avg, Count, Q
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from agents.api.base import REQUEST_ID_HEADER, AgentActionView, AgentAPIView
from decisions.api import serializers as s
from decisions.models import DecisionLog
from decisions.services import decision_make
from instances.models import Switch
from instances.services.switching import (
    SwitchInProgress,
    SwitchNotNeeded,
    switch_start,
    switch_target_resolve,
)
from pricing.selectors import agent_savings_report
from spotopt.errors import Conflict


class DecideView(AgentActionView):
    @extend_schema(
        request=s.DecideIn, responses={200: s.DecisionOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.DecideIn)
        decision = decision_make(
            agent=agent,
            instance_override=data.get("instance"),
            pricing_override=data.get("pricing"),
        )
        return Response(decision.as_response())


class SwitchRecommendationView(AgentAPIView):
    @extend_schema(responses={200: s.SwitchRecommendationOut})
    def get(self, request, *args, **kwargs):
        agent = self.get_agent()
        decision = decision_make(agent=agent)
        will_execute = (
            decision.allowed and decision.recommended_action == "switch"
        )
        return Response({
            **decision.as_response(),
            "auto_switch_enabled": agent.auto_switch_enabled,
            "will_auto_execute": will_execute,
            "current_pool": decision.current_pool,
            "alternative_pools": decision.alternatives,
        })


class IssueSwitchCommandView(AgentActionView):
    @extend_schema(
        request=s.IssueSwitchIn, responses={201: s.IssueSwitchOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.IssueSwitchIn)
        if not (agent.enabled and agent.auto_switch_enabled):
            raise PermissionDenied("Auto-switch is off for this agent.")

        pool = switch_target_resolve(
            agent=agent,
            target_mode=data["target_mode"],
            target_pool_id=data["target_pool_id"],
        )
        if data["target_mode"] == "spot" and pool is None:
            raise ValidationError(
                {"target_pool_id": ["Not a pool id of the form type.az."]}
            )
        try:
            switch, command = switch_start(
                agent_id=agent.pk,
                target_mode=data["target_mode"],
                target_pool=pool,
                trigger=Switch.Trigger.MODEL,
                priority=data["priority"],
                reason=data["reason"],
                request_id=request.log_id,
            )
        except (SwitchInProgress, SwitchNotNeeded) as error:
            raise Conflict(str(error))
        return Response(
            {
                "command_id": command.pk,
                "switch_id": switch.pk,
                "request_id": command.request_id,
                "status": "queued",
            },
            status=status.HTTP_201_CREATED,
        )


class StatisticsView(AgentAPIView):
    @extend_schema(responses={200: s.StatisticsOut})
    def get(self, request, *args, **kwargs):
        agent = self.get_agent()
        decisions = DecisionLog.objects.filter(agent=agent).aggregate(
            total=Count("id"),
            recommended=Count("id", filter=Q(recommended_action="switch")),
            average_confidence=Avg("confidence"),
        )
        switches = Switch.objects.filter(agent=agent).aggregate(
            total=Count("id"),
            completed=Count("id", filter=Q(status=Switch.Status.COMPLETED)),
            failed=Count("id", filter=Q(status=Switch.Status.FAILED)),
            average_downtime_ms=Avg("downtime_ms"),
        )
        finished = switches["completed"] + switches["failed"]
        return Response({
            "agent_id": agent.pk,
            "decisions": decisions["total"],
            "switches_recommended": decisions["recommended"],
            "switches_executed": switches["completed"],
            "switches_failed": switches["failed"],
            "success_rate": switches["completed"] / finished if finished else None,
            "average_confidence": decisions["average_confidence"],
            "average_downtime_ms": switches["average_downtime_ms"],
            "savings": agent_savings_report(agent=agent),
        })
