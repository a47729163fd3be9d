"""Input and output shapes of the operator API."""

from rest_framework import serializers

from agents.models import Agent, Client
from instances.models import AuditEvent, Instance


class OperatorClientCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class OperatorClientOut(serializers.ModelSerializer):
    agent_count = serializers.IntegerField(read_only=True, default=None)
    agents_online = serializers.IntegerField(read_only=True, default=None)
    running_instances = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Client
        fields = [
            "id", "name", "email", "status", "token_prefix", "token_rotated_at",
            "created_at", "agent_count", "agents_online", "running_instances",
        ]


class OperatorAgentOut(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)

    class Meta:
        model = Agent
        fields = [
            "id", "client", "client_name", "logical_agent_id", "status",
            "notice_status", "notice_deadline", "instance_type", "region", "az",
            "hostname", "agent_version", "enabled", "auto_switch_enabled",
            "last_heartbeat_at", "registered_at",
        ]


class OperatorInstanceOut(serializers.ModelSerializer):
    pool_id = serializers.CharField(source="pool_key", read_only=True)

    class Meta:
        model = Instance
        fields = [
            "id", "client", "agent", "instance_id", "state", "mode", "role_hint",
            "instance_type", "region", "az", "pool_id", "spot_price",
            "ondemand_price", "state_reason", "created_at", "state_changed_at",
            "terminated_at",
        ]


class OperatorActivityOut(serializers.ModelSerializer):
    client_name = serializers.CharField(source="client.name", read_only=True)

    class Meta:
        model = AuditEvent
        fields = [
            "id", "client", "client_name", "agent", "instance", "event_type",
            "state_before", "state_after", "cause", "request_id", "created_at",
        ]
