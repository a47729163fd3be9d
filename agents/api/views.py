"""Agent endpoints about the agent itself: registration, heartbeats, config,
the command queue, price reports and housekeeping reports."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from agents.api import serializers as s
from agents.api.base import REQUEST_ID_HEADER, AgentActionView, AgentAPIView
from agents.heartbeats import (
    heartbeat_answer,
    heartbeat_answer_remember,
    running_instance_ids,
)
from agents.models import Agent
from agents.services.lifecycle import agent_stopped_record, heartbeat_record
from agents.services.registration import Registration, agent_register
from instances.models import Command
from instances.services.commands import command_pending_count, command_poll
from instances.services.lifecycle import audit_record
from instances.services.replicas import zombies_detect
from instances.services.results import command_result_apply
from pricing.api.reports import pricing_report_store

DISABLED_CONFIG_OVERRIDES = {
    "enabled": False,
    "auto_switch_enabled": False,
    "auto_terminate_enabled": False,
    "replica_enabled": False,
    "manual_replica_enabled": False,
}


class RegisterView(AgentActionView):
    @extend_schema(
        request=s.RegisterIn, responses={200: s.RegisterOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def _agent_for_action(self):
        return None

    def act(self, request, agent):
        data = self.validated(s.RegisterIn)
        agent, instance, message = agent_register(
            client=self.client,
            registration=Registration(**data),
            request_id=request.log_id,
        )
        config = agent.config()
        body = {"agent_id": agent.pk, "client_id": agent.client_id, "config": config}
        if message:
            body["config"] = {**config, **DISABLED_CONFIG_OVERRIDES}
            body["message"] = message
        return Response(body)


class HeartbeatView(AgentActionView):
    @extend_schema(
        request=s.HeartbeatIn, responses={200: s.HeartbeatOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def _agent_for_action(self) -> int:
        # heartbeat_record() reads the agent as it updates it.
        return self.get_agent_id()

    def act(self, request, agent_id):
        data = self.validated(s.HeartbeatIn)
        agent = heartbeat_record(
            client_id=self.client.pk, agent_id=agent_id,
            status=data["status"] or Agent.Status.ONLINE,
        )
        if agent is None:
            raise NotFound("No agent with that id.")
        running = running_instance_ids(data.get("inventory_snapshot"))
        if running:
            zombies_detect(agent=agent, running_instance_ids=running)
        heartbeat_answer_remember(agent)
        return Response(heartbeat_answer(
            config=agent.config(),
            pending_commands=command_pending_count(agent_id=agent.pk),
            notice_status=agent.notice_status,
            now=timezone.now(),
        ))


class ConfigView(AgentAPIView):
    @extend_schema(responses={200: s.ConfigOut})
    def get(self, request, *args, **kwargs):
        return Response(self.get_agent().config())


def _commands_out(commands: list) -> list:
    # Most polls find nothing; building a serializer for that is waste.
    return s.CommandOut(commands, many=True).data if commands else []


class PendingCommandsView(AgentAPIView):
    """The older path: a bare list."""

    @extend_schema(responses={200: s.CommandOut(many=True)})
    def get(self, request, *args, **kwargs):
        commands = command_poll(agent_id=self.get_agent_id())
        return Response(_commands_out(commands))


class CommandsPendingView(AgentAPIView):
    """The newer path: the same queue wrapped in an object."""

    @extend_schema(responses={200: s.CommandsPendingOut})
    def get(self, request, *args, **kwargs):
        commands = command_poll(agent_id=self.get_agent_id())
        return Response({"commands": _commands_out(commands)})


def _command_of(agent, **lookup) -> Command:
    command = Command.objects.filter(agent=agent, **lookup).first()
    if command is None:
        raise NotFound("No such command for this agent.")
    return command


def _result_response(command: Command, outcome: str) -> Response:
    return Response({
        "status": outcome,
        "command_id": command.pk,
        "request_id": command.request_id,
    })


class CommandExecutedView(AgentActionView):
    @extend_schema(
        request=s.CommandExecutedIn, responses={200: s.CommandResultOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.CommandExecutedIn)
        raw_id = str(self.kwargs["command_id"])
        is_pk = raw_id.isascii() and raw_id.isdigit()
        lookup = {"pk": int(raw_id)} if is_pk else {"request_id": raw_id}
        command = _command_of(agent, **lookup)
        result = data.get("result") or {}
        outcome = command_result_apply(
            agent_id=agent.pk,
            command=command,
            succeeded=data["success"],
            message=data["message"],
            result=result,
            cloud_instance_id=str(result.get("instance_id") or ""),
            request_id=request.log_id,
        )
        return _result_response(command, outcome)


class ActionResultView(AgentActionView):
    @extend_schema(
        request=s.ActionResultIn, responses={200: s.CommandResultOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.ActionResultIn)
        command = _command_of(agent, request_id=data["request_id"])
        outcome = command_result_apply(
            agent_id=agent.pk,
            command=command,
            succeeded=data["result"] == "SUCCESS",
            message=data["error_message"],
            result=data.get("metadata") or {},
            cloud_instance_id=data["cloud_instance_id"],
            request_id=request.log_id,
        )
        return _result_response(command, outcome)


class PricingReportView(AgentActionView):
    @extend_schema(
        request=s.PricingReportIn, responses={200: s.PricingReportOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.PricingReportIn)
        stored = pricing_report_store(agent=agent, data=data)
        return Response({"status": "ok", "stored": stored})


class ShutdownView(AgentActionView):
    @extend_schema(
        request=s.ShutdownIn, responses={200: s.StatusOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.ShutdownIn)
        agent_stopped_record(
            agent=agent,
            reason=f"shutdown of {data['cloud_instance_id'] or 'the agent'}",
        )
        return Response({"status": "stopped"})


class CleanupReportView(AgentActionView):
    @extend_schema(
        request=s.CleanupReportIn, responses={200: s.StatusOut},
        parameters=[REQUEST_ID_HEADER],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def act(self, request, agent):
        data = self.validated(s.CleanupReportIn)
        audit_record(
            client_id=agent.client_id,
            agent_id=agent.pk,
            event_type="cleanup_report",
            cause="agent clean-up of snapshots and images",
            request_id=request.log_id,
            details={
                "timestamp": str(data.get("timestamp") or timezone.now()),
                "snapshots": dict(data.get("snapshots") or {}),
                "amis": dict(data.get("amis") or {}),
            },
        )
        return Response({"status": "recorded"}, status=status.HTTP_200_OK)
