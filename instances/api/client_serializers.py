"""Shapes of the client API about instances, replicas and switches."""

from rest_framework import serializers

from instances.models import AuditEvent, Instance, Replica, Switch


class ClientInstanceOut(serializers.ModelSerializer):
    agent_id = serializers.IntegerField()
    logical_agent_id = serializers.CharField(source="agent.logical_agent_id")
    pool_id = serializers.CharField(source="pool_key")

    class Meta:
        model = Instance
        fields = [
            "id", "instance_id", "agent_id", "logical_agent_id", "state",
            "mode", "role_hint", "pool_id", "instance_type", "region", "az",
            "spot_price", "ondemand_price", "state_reason", "created_at",
            "confirmed_at", "promoted_at", "terminated_at", "boot_seconds",
        ]


class ClientReplicaOut(serializers.ModelSerializer):
    agent_id = serializers.IntegerField()
    instance = ClientInstanceOut()

    class Meta:
        # Distinct from the agent API's ClientReplicaOut in the OpenAPI schema.
        ref_name = "ClientReplicaOut"
        model = Replica
        fields = [
            "id", "agent_id", "kind", "status", "reason", "created_at",
            "ready_at", "expires_at", "ended_at", "instance",
        ]


class ClientSwitchOut(serializers.ModelSerializer):
    agent_id = serializers.IntegerField()
    logical_agent_id = serializers.CharField(source="agent.logical_agent_id")

    class Meta:
        model = Switch
        fields = [
            "id", "agent_id", "logical_agent_id", "trigger", "status", "reason",
            "from_pool_id", "to_pool_id", "target_mode", "old_price",
            "new_price", "ondemand_price", "initiated_at", "completed_at",
            "downtime_ms", "failure_reason",
        ]


class InstanceLogOut(serializers.ModelSerializer):
    class Meta:
        ref_name = "InstanceAuditOut"
        model = AuditEvent
        fields = [
            "id", "event_type", "state_before", "state_after", "cause",
            "request_id", "details", "created_at",
        ]


class SwitchTargetIn(serializers.Serializer):
    target_pool_id = serializers.CharField(max_length=96)


class ReplicaLaunchIn(serializers.Serializer):
    agent_id = serializers.IntegerField()
    target_pool_id = serializers.CharField(max_length=96)
