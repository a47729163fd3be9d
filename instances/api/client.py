"""The client API about instances: lists, analytics and manual actions."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.idempotency import idempotent_call
from agents.selectors import agent_get
from instances.api import client_serializers as s
from instances.filters import InstanceFilter, ReplicaFilter
from instances.models import AuditEvent, Switch
from instances.selectors import instance_get, instance_list, replica_list
from instances.services.manual import (
    ActionRefused,
    instance_force_switch,
    instance_terminate_manual,
    manual_target_resolve,
    replica_launch_manual,
)
from instances.services.switching import SwitchInProgress, SwitchNotNeeded
from pricing import reports
from pricing.models import SpotPool
from spotopt.errors import Conflict
from spotopt.tenancy import ClientScoped

MAX_HISTORY_HOURS = 24 * 90


class InstanceListView(ClientScoped, generics.ListAPIView):
    serializer_class = s.ClientInstanceOut
    filterset_class = InstanceFilter
    ordering_fields = ["created_at", "state", "instance_type", "id"]

    def get_queryset(self):
        return instance_list(client_id=self.path_client().pk)


class ReplicaListView(ClientScoped, generics.ListAPIView):
    serializer_class = s.ClientReplicaOut
    filterset_class = ReplicaFilter
    ordering_fields = ["created_at", "status"]

    def get_queryset(self):
        return replica_list(client_id=self.path_client().pk)


class _InstanceView(ClientScoped, APIView):
    def get_instance(self):
        instance = instance_get(
            client_id=self.client.pk, instance_pk=self.kwargs["instance_pk"]
        )
        if instance is None:
            raise Http404
        return instance

    def hours(self, default: int) -> int:
        raw = self.request.query_params.get("hours", str(default))
        if not raw.isdigit() or not 0 < int(raw) <= MAX_HISTORY_HOURS:
            raise ValidationError({"hours": [f"1 to {MAX_HISTORY_HOURS}."]})
        return int(raw)

    def cause(self, action: str) -> str:
        return f"{action} by {self.request.user}"


class InstancePricingView(_InstanceView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, instance_pk):
        instance = self.get_instance()
        options = reports.pool_options(instance=instance)
        current = next((row for row in options if row["current"]), None)
        return Response(
            {"instance": instance.pk, "pool_id": instance.pool_key,
             "mode": instance.mode, "current": current, "pools": options}
        )


class InstanceOptionsView(_InstanceView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, instance_pk):
        instance = self.get_instance()
        options = [
            row for row in reports.pool_options(instance=instance)
            if not row["current"]
        ]
        return Response({"instance": instance.pk, "options": options,
                         "ondemand_available": True})


class InstanceMetricsView(_InstanceView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, instance_pk):
        instance = self.get_instance()
        switches = Switch.objects.filter(new_instance=instance).first()
        return Response(
            {
                "instance": instance.pk,
                "state": instance.state,
                "boot_seconds": instance.boot_seconds,
                "confirmed_at": instance.confirmed_at,
                "promoted_at": instance.promoted_at,
                "switch_downtime_ms": switches.downtime_ms if switches else None,
                "audit_events": AuditEvent.objects.filter(instance=instance).count(),
            }
        )


class InstancePriceHistoryView(_InstanceView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, instance_pk):
        instance = self.get_instance()
        hours = self.hours(24)
        if instance.pool is None:
            return Response({"pool_id": instance.pool_key, "points": []})
        return Response(
            {"pool_id": instance.pool.pool_id, "hours": hours,
             "points": reports.price_history(pool=instance.pool, hours=hours)}
        )


class InstanceLogsView(ClientScoped, generics.ListAPIView):
    serializer_class = s.InstanceLogOut
    ordering_fields = ["created_at"]
    filterset_fields = ["event_type"]

    def get_queryset(self):
        if self.is_schema_view:
            return AuditEvent.objects.none()
        instance = instance_get(
            client_id=self.client.pk, instance_pk=self.kwargs["instance_pk"]
        )
        if instance is None:
            raise Http404
        return AuditEvent.objects.filter(instance=instance)


class PoolVolatilityView(_InstanceView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, instance_pk):
        instance = self.get_instance()
        hours = self.hours(24 * 7)
        pools = SpotPool.objects.filter(
            region=instance.region, instance_type=instance.instance_type
        )
        return Response(
            {"instance": instance.pk,
             "pools": [reports.pool_volatility(pool=pool, hours=hours)
                       for pool in pools]}
        )


class SimulateSwitchView(_InstanceView):
    @extend_schema(
        request=s.SwitchTargetIn, responses={200: OpenApiTypes.OBJECT}
    )
    def post(self, request, instance_pk):
        instance = self.get_instance()
        data = _validated(s.SwitchTargetIn, request.data)
        try:
            pool = manual_target_resolve(
                instance_region=instance.region, target=data["target_pool_id"]
            )
        except ActionRefused as error:
            raise ValidationError({"target_pool_id": [str(error)]})
        return Response(reports.switch_simulate(instance=instance, target_pool=pool))


class ForceSwitchView(_InstanceView):
    @extend_schema(
        request=s.SwitchTargetIn, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request, instance_pk):
        return idempotent_call(
            request=request, client_id=self.client.pk, handler=self.act
        )

    def act(self):
        instance = self.get_instance()
        data = _validated(s.SwitchTargetIn, self.request.data)
        try:
            switch, command = instance_force_switch(
                instance=instance, target=data["target_pool_id"],
                cause=self.cause("force-switch"),
                request_id=self.request.log_id,
            )
        except ActionRefused as error:
            raise ValidationError({"target_pool_id": [str(error)]})
        except (SwitchInProgress, SwitchNotNeeded) as error:
            raise Conflict(str(error))
        return Response(
            {"switch_id": switch.pk, "command_id": command.pk,
             "request_id": command.request_id, "status": "queued"},
            status=201,
        )


class TerminateView(_InstanceView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, instance_pk):
        return idempotent_call(
            request=request, client_id=self.client.pk, handler=self.act
        )

    def act(self):
        instance = self.get_instance()
        try:
            command = instance_terminate_manual(
                instance=instance, cause=self.cause("terminate"),
                request_id=self.request.log_id,
            )
        except ActionRefused as error:
            raise Conflict(str(error))
        return Response(
            {"instance": instance.pk, "status": "terminating",
             "command_id": command.pk if command else None}
        )


class LaunchView(ClientScoped, APIView):
    @extend_schema(
        request=s.ReplicaLaunchIn, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request):
        return idempotent_call(
            request=request, client_id=self.client.pk, handler=self.act
        )

    def act(self):
        data = _validated(s.ReplicaLaunchIn, self.request.data)
        agent = agent_get(client_id=self.client.pk, agent_id=data["agent_id"])
        if agent is None:
            raise Http404
        try:
            replica, command = replica_launch_manual(
                agent=agent, target=data["target_pool_id"],
                cause=f"launch by {self.request.user}",
                request_id=self.request.log_id,
            )
        except ActionRefused as error:
            raise ValidationError({"target_pool_id": [str(error)]})
        return Response(
            {"replica_id": replica.pk, "instance": replica.instance_id,
             "command_id": command.pk, "status": "queued"},
            status=201,
        )


class PricingHistoryView(ClientScoped, APIView):
    """Price history of any pool by id: prices are not a client's secret."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        pool = SpotPool.objects.filter(
            pool_id=request.query_params.get("pool_id", "")
        ).first()
        if pool is None:
            raise ValidationError({"pool_id": ["Unknown pool."]})
        raw = request.query_params.get("hours", "24")
        hours = int(raw) if raw.isdigit() else 24
        hours = min(max(hours, 1), MAX_HISTORY_HOURS)
        return Response(
            {"pool_id": pool.pool_id, "hours": hours,
             "points": reports.price_history(pool=pool, hours=hours)}
        )


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
