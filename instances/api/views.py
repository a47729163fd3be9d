"""Agent endpoints of the instance life cycle: launches, terminations,
switch reports, rebalance recommendations and termination notices."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from agents.api.base import REQUEST_ID_HEADER, AgentActionView, AgentAPIView
from agents.models import Agent
from agents.services.lifecycle import agent_instance_gone
from instances import selectors
from instances.api import serializers as s
from instances.models import Command, EmergencyEvent, Instance
from instances.services.emergencies import (
    emergency_replica_create,
    termination_record,
)
from instances.services.notices import NoInstance
from instances.services.rebalances import rebalance_record
from instances.services.reports import switch_report_record
from instances.services.results import instance_terminated_record
from instances.services.switching import (
    UnknownInstance,
    agent_lock,
    instance_launch_confirm,
)


class SwitchReportView(AgentActionView):
    @extend_schema(
        request=s.SwitchReportIn, responses={200: s.SwitchReportOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.SwitchReportIn)
        switch = switch_report_record(
            agent=agent, report=data, request_id=request.log_id
        )
        return Response({"status": "recorded", "switch_id": switch.pk})


class RebalanceRecommendationView(AgentActionView):
    @extend_schema(
        request=s.RebalanceIn, responses={200: s.RebalanceOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.RebalanceIn)
        try:
            answer = rebalance_record(
                agent_id=agent.pk,
                instance_id=data["instance_id"] or data["cloud_instance_id"],
                detected_at=data.get("detected_at") or data.get("notice_time"),
                request_id=request.log_id,
            )
        except NoInstance as error:
            raise NotFound(str(error))
        answer.pop("event_id", None)
        return Response(answer)


def _termination_response(agent_id: int, data, request) -> Response:
    try:
        answer = termination_record(
            agent_id=agent_id,
            instance_id=data["instance_id"],
            termination_time=data.get("termination_time"),
            request_id=request.log_id,
            arrival_clock=getattr(request, "arrival_clock", None),
        )
    except NoInstance as error:
        raise NotFound(str(error))
    except Agent.DoesNotExist:
        raise NotFound("No agent with that id.")
    answer.pop("event_id", None)
    return Response(answer)


class TerminationImminentView(AgentActionView):
    @extend_schema(
        request=s.TerminationNoticeIn, responses={200: s.TerminationNoticeOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def _agent_for_action(self) -> int:
        # termination_record() locks and reads the agent itself; loading it
        # here too would cost the emergency path a query.
        return self.get_agent_id()

    def act(self, request, agent_id):
        return _termination_response(
            agent_id, self.validated(s.TerminationNoticeIn), request
        )


class TerminationReportView(AgentActionView):
    """A notice (newer agents) or a confirmation that an instance is gone."""

    @extend_schema(
        request=s.TerminationReportIn,
        responses={200: s.TerminationReportOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.TerminationReportIn)
        is_notice = (
            data["notice_type"].upper() == "TERMINATION"
            or data.get("termination_time") is not None
        )
        if is_notice:
            return _termination_response(agent.pk, data, request)

        if not data["success"]:
            return Response({"status": "noted", "error": data["error"]})
        instance = selectors.instance_find(
            agent_id=agent.pk, instance_id=data["instance_id"]
        )
        if instance is None:
            raise NotFound("No instance of this agent has that id.")
        with transaction.atomic():
            agent_lock(agent.pk)
            instance.refresh_from_db()
            instance_terminated_record(
                instance=instance, request_id=request.log_id,
                at=data.get("terminated_at"),
            )
        return Response({"status": "terminated", "instance_id": instance.instance_id})


class CreateEmergencyReplicaView(AgentActionView):
    @extend_schema(
        request=s.EmergencyReplicaIn, responses={201: s.EmergencyReplicaOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.EmergencyReplicaIn)
        replica, command = emergency_replica_create(
            agent_id=agent.pk,
            reason=data["reason"],
            preferred_az=data["preferred_az"],
            exclude_azs=data["exclude_azs"],
            request_id=request.log_id,
        )
        return Response(
            {"command_id": command.pk, "pool_id": replica.instance.pool_key},
            status=status.HTTP_201_CREATED,
        )


class EmergencyStatusView(AgentAPIView):
    @extend_schema(responses={200: s.EmergencyStatusOut})
    def get(self, request, *args, **kwargs):
        agent = self.get_agent()
        now = timezone.now()
        replica = selectors.replicas_active(agent_id=agent.pk).first()
        last_event = EmergencyEvent.objects.filter(agent=agent).first()
        return Response({
            "notice_status": agent.notice_status,
            "notice_deadline": agent.notice_deadline,
            "seconds_remaining": agent.seconds_until_deadline(now),
            "replica": _replica_body(replica),
            "last_emergency_event": _event_body(last_event),
            "emergency_replicas_count": agent.replicas.filter(
                kind="emergency"
            ).count(),
            "termination_notices_24h": EmergencyEvent.objects.filter(
                agent=agent,
                kind=EmergencyEvent.Kind.TERMINATION,
                received_at__gte=now - timedelta(hours=24),
            ).count(),
        })


def _replica_body(replica) -> dict | None:
    if replica is None:
        return None
    instance = replica.instance
    return {
        "instance_id": instance.instance_id,
        "state": instance.state,
        "status": replica.status,
        "kind": replica.kind,
        "pool": instance.pool_key,
        "boot_time_seconds": instance.boot_seconds,
        "expires_at": replica.expires_at,
    }


def _event_body(event) -> dict | None:
    if event is None:
        return None
    return {
        "kind": event.kind,
        "status": event.status,
        "action": event.action,
        "received_at": event.received_at,
        "deadline": event.deadline,
        "notice_count": event.notice_count,
        "became_interruption": event.became_interruption,
    }


class ReplicaConfigView(AgentAPIView):
    @extend_schema(responses={200: s.ReplicaConfigOut})
    def get(self, request, *args, **kwargs):
        agent = self.get_agent()
        replicas = selectors.replicas_active(agent_id=agent.pk)
        return Response({
            "enabled": agent.replica_enabled or agent.manual_replica_enabled,
            "count": agent.replica_count,
            "mode": "manual" if agent.manual_replica_enabled else "automatic",
            "replicas": [_replica_body(replica) for replica in replicas],
        })


class InstancesToTerminateView(AgentAPIView):
    @extend_schema(responses={200: s.InstancesToTerminateOut})
    def get(self, request, *args, **kwargs):
        agent = self.get_agent()
        now = timezone.now()
        instances = selectors.instances_to_terminate(agent_id=agent.pk)
        return Response({
            "instances": [
                {
                    "instance_id": instance.instance_id,
                    "instance_type": instance.instance_type,
                    "az": instance.az,
                    "reason": instance.state_reason or instance.state,
                    "seconds_waiting": int(
                        (now - instance.state_changed_at).total_seconds()
                    ),
                }
                for instance in instances
            ],
            "auto_terminate_enabled": agent.auto_terminate_enabled,
            "terminate_wait_seconds": agent.terminate_wait_seconds,
        })


class InstanceLaunchedView(AgentActionView):
    @extend_schema(
        request=s.InstanceLaunchedIn, responses={200: s.InstanceLaunchedOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.InstanceLaunchedIn)
        try:
            instance = instance_launch_confirm(
                agent_id=agent.pk,
                instance_id=data["instance_id"],
                temp_instance_id=data["temp_instance_id"],
                command_request_id=data["request_id"],
                confirmed_at=data.get("confirmed_at"),
                request_id=request.log_id,
            )
        except UnknownInstance as error:
            raise NotFound(str(error))
        return Response({
            "status": instance.state,
            "launch_duration_seconds": instance.boot_seconds,
        })


class InstanceTerminatedView(AgentActionView):
    @extend_schema(
        request=s.InstanceTerminatedIn, responses={200: s.InstanceTerminatedOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.InstanceTerminatedIn)
        instance = selectors.instance_find(
            agent_id=agent.pk, instance_id=data["instance_id"]
        )
        if instance is None and data["request_id"]:
            command = Command.objects.filter(
                agent=agent, request_id=data["request_id"]
            ).select_related("instance").first()
            instance = command.instance if command else None
        if instance is None:
            raise NotFound("No instance of this agent has that id.")
        with transaction.atomic():
            agent_lock(agent.pk)
            instance.refresh_from_db()
            requested_at = instance.state_changed_at
            recorded = instance_terminated_record(
                instance=instance, request_id=request.log_id,
                at=data.get("confirmed_at"),
            )
        duration = None
        if recorded and instance.terminated_at:
            duration = (instance.terminated_at - requested_at).total_seconds()
            duration = max(0.0, duration)
        return Response({
            "status": Instance.State.TERMINATED,
            "termination_duration_seconds": duration,
        })


class TerminationView(AgentActionView):
    @extend_schema(
        request=s.TerminationIn, responses={200: s.TerminationOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.TerminationIn)
        instance = agent_instance_gone(
            agent=agent, instance_id=data["instance_id"], reason=data["reason"]
        )
        return Response({
            "status": "recorded",
            "instance_id": instance.instance_id if instance else None,
        })
