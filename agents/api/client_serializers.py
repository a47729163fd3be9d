"""Shapes of the client API about the client and its agents."""

from rest_framework import serializers

from agents.models import Agent, Client
from decisions.models import DecisionLog
from instances.models import AuditEvent


class ClientAccountOut(serializers.ModelSerializer):
    class Meta:
        model = Client
        fields = ["id", "name", "email", "status", "webhook_url", "created_at"]


class ClientAgentOut(serializers.ModelSerializer):
    config = serializers.SerializerMethodField()
    seconds_until_deadline = serializers.SerializerMethodField()

    class Meta:
        model = Agent
        fields = [
            "id", "logical_agent_id", "status", "last_heartbeat_at",
            "notice_status", "notice_deadline", "seconds_until_deadline",
            "instance_type", "region", "az", "hostname", "agent_version",
            "private_ip", "public_ip", "registered_at", "config",
        ]

    def get_config(self, agent) -> dict:
        return agent.config()

    def get_seconds_until_deadline(self, agent) -> int | None:
        return agent.seconds_until_deadline()


class ClientConfigIn(serializers.Serializer):
    """Every field optional: only those sent are changed."""

    enabled = serializers.BooleanField(required=False)
    auto_switch_enabled = serializers.BooleanField(required=False)
    auto_terminate_enabled = serializers.BooleanField(required=False)
    terminate_wait_seconds = serializers.IntegerField(
        required=False, min_value=0, max_value=86400
    )
    replica_enabled = serializers.BooleanField(required=False)
    replica_count = serializers.IntegerField(required=False, min_value=0, max_value=5)
    manual_replica_enabled = serializers.BooleanField(required=False)
    min_savings_percent = serializers.FloatField(
        required=False, min_value=0, max_value=100
    )
    risk_threshold = serializers.FloatField(required=False, min_value=0, max_value=1)
    max_switches_per_week = serializers.IntegerField(
        required=False, min_value=0, max_value=1000
    )
    min_pool_duration_hours = serializers.FloatField(
        required=False, min_value=0, max_value=720
    )


class ClientDecisionOut(serializers.ModelSerializer):
    class Meta:
        # Distinct from the agent API's ClientDecisionOut in the OpenAPI schema.
        ref_name = "ClientDecisionOut"
        model = DecisionLog
        fields = [
            "id", "agent", "engine", "model_version", "recommended_action",
            "recommended_pool_id", "expected_savings_per_hour", "risk_score",
            "confidence", "allowed", "outcome", "created_at",
        ]


class AgentHistoryOut(serializers.ModelSerializer):
    class Meta:
        ref_name = "AgentAuditOut"
        model = AuditEvent
        fields = [
            "id", "agent", "instance", "event_type", "state_before",
            "state_after", "cause", "request_id", "details", "created_at",
        ]
