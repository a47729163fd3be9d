"""Input and output shapes of the agent API's decision paths (PROTOCOL.md)."""

from rest_framework import serializers

from agents.api.serializers import MODE_CHOICES, LenientCharField
from instances.models import Command

DECIDE_PRICE_OVERRIDES = ("on_demand_price", "current_spot_price")


class DecideIn(serializers.Serializer):
    instance = serializers.DictField(required=False, allow_null=True)
    pricing = serializers.DictField(required=False, allow_null=True)

    def validate_pricing(self, pricing):
        """The engine computes with these prices, so they must be numbers."""
        price_field = serializers.DecimalField(
            max_digits=12, decimal_places=6, min_value=0
        )
        for name in DECIDE_PRICE_OVERRIDES:
            value = (pricing or {}).get(name)
            if value is None:
                continue
            try:
                price_field.run_validation(value)
            except serializers.ValidationError:
                raise serializers.ValidationError(f"{name} must be a price.")
        return pricing


class ModelOut(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class DecisionOut(serializers.Serializer):
    instance_id = serializers.CharField(allow_null=True)
    recommended_action = serializers.ChoiceField(
        choices=["stay", "switch", "create_replica"]
    )
    recommended_mode = serializers.CharField()
    recommended_pool_id = serializers.CharField(allow_null=True)
    expected_savings_per_hour = serializers.FloatField()
    risk_score = serializers.FloatField()
    confidence = serializers.FloatField()
    allowed = serializers.BooleanField()
    reason = serializers.CharField()
    model = ModelOut()


class AlternativePoolOut(serializers.Serializer):
    pool_id = serializers.CharField()
    az = serializers.CharField()
    spot_price = serializers.FloatField()
    risk_score = serializers.FloatField()


class SwitchRecommendationOut(DecisionOut):
    auto_switch_enabled = serializers.BooleanField()
    will_auto_execute = serializers.BooleanField()
    current_pool = serializers.CharField(allow_null=True)
    alternative_pools = AlternativePoolOut(many=True)


class IssueSwitchIn(serializers.Serializer):
    target_mode = serializers.ChoiceField(choices=MODE_CHOICES, default="spot")
    target_pool_id = LenientCharField(max_length=96)
    reason = LenientCharField(max_length=255)
    priority = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=Command.Priority.MODEL
    )

    def validate(self, attrs):
        if attrs["target_mode"] == "spot" and not attrs.get("target_pool_id"):
            raise serializers.ValidationError(
                {"target_pool_id": ["Required when target_mode is spot."]}
            )
        return attrs


class IssueSwitchOut(serializers.Serializer):
    command_id = serializers.IntegerField()
    switch_id = serializers.IntegerField()
    request_id = serializers.CharField()
    status = serializers.CharField()


class SavingsOut(serializers.Serializer):
    instance_hours = serializers.FloatField()
    actual_cost = serializers.FloatField()
    on_demand_cost = serializers.FloatField()
    savings = serializers.FloatField()
    currency = serializers.CharField()


class StatisticsOut(serializers.Serializer):
    agent_id = serializers.IntegerField()
    decisions = serializers.IntegerField()
    switches_recommended = serializers.IntegerField()
    switches_executed = serializers.IntegerField()
    switches_failed = serializers.IntegerField()
    success_rate = serializers.FloatField(allow_null=True)
    average_confidence = serializers.FloatField(allow_null=True)
    average_downtime_ms = serializers.FloatField(allow_null=True)
    savings = SavingsOut()
