"""Input and output shapes of the agent API (PROTOCOL.md, both dialects):
registration, heartbeats, the command queue, pricing reports and the
agent's own life. The instance and decision paths keep theirs in their own
apps, built from the fields defined here."""

from rest_framework import serializers

from instances.models import Command

MODE_CHOICES = ("spot", "ondemand")


class LenientCharField(serializers.CharField):
    """A string field that accepts null as empty: older agents send nulls."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", "")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, (dict, list, bool)):
            self.fail("invalid")
        return super().to_internal_value(data)

    def validate_empty_values(self, data):
        if data is None:
            return True, ""
        return super().validate_empty_values(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, (str, int)) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class RegisterIn(serializers.Serializer):
    instance_id = StrictCharField(max_length=64)
    instance_type = StrictCharField(max_length=64)
    region = StrictCharField(max_length=32)
    az = StrictCharField(max_length=32)
    logical_agent_id = LenientCharField(max_length=128)
    mode = LenientCharField(max_length=32)
    hostname = LenientCharField(max_length=255)
    agent_version = LenientCharField(max_length=64)
    ami_id = LenientCharField(max_length=64)
    private_ip = LenientCharField(max_length=64)
    public_ip = LenientCharField(max_length=64)
    cloud_account = LenientCharField(max_length=64)
    project_id = LenientCharField(max_length=128)


class ConfigOut(serializers.Serializer):
    enabled = serializers.BooleanField()
    auto_switch_enabled = serializers.BooleanField()
    auto_terminate_enabled = serializers.BooleanField()
    terminate_wait_seconds = serializers.IntegerField()
    replica_enabled = serializers.BooleanField()
    replica_count = serializers.IntegerField()
    manual_replica_enabled = serializers.BooleanField()
    min_savings_percent = serializers.FloatField()
    risk_threshold = serializers.FloatField()
    max_switches_per_week = serializers.IntegerField()
    min_pool_duration_hours = serializers.FloatField()


class RegisterOut(serializers.Serializer):
    agent_id = serializers.IntegerField()
    client_id = serializers.IntegerField()
    config = ConfigOut()
    message = serializers.CharField(required=False)


class InventorySnapshot(serializers.Serializer):
    instances = serializers.ListField(child=serializers.JSONField(), required=False)
    count = serializers.IntegerField(required=False, min_value=0)


class HeartbeatIn(serializers.Serializer):
    status = LenientCharField(max_length=16, default="online")
    instance_id = LenientCharField(max_length=64)
    inventory_snapshot = InventorySnapshot(required=False, allow_null=True)
    health_metrics = serializers.DictField(required=False, allow_null=True)
    reconnect = serializers.BooleanField(required=False, default=False)


class HeartbeatOut(serializers.Serializer):
    status = serializers.CharField()
    server_time = serializers.DateTimeField()
    config = ConfigOut()
    pending_commands = serializers.IntegerField()
    notice_status = serializers.CharField()


class CommandOut(serializers.ModelSerializer):
    metadata = serializers.JSONField(source="params")

    class Meta:
        model = Command
        fields = [
            "id", "request_id", "command_type", "priority", "params",
            "metadata", "created_at", "expires_at",
        ]


class CommandsPendingOut(serializers.Serializer):
    commands = CommandOut(many=True)


class CommandExecutedIn(serializers.Serializer):
    success = serializers.BooleanField(required=False, default=True)
    message = LenientCharField(max_length=2000)
    result = serializers.DictField(required=False, allow_null=True, default=dict)


class ActionResultIn(serializers.Serializer):
    request_id = StrictCharField(max_length=64)
    result = serializers.ChoiceField(choices=["SUCCESS", "FAILURE"])
    cloud_instance_id = LenientCharField(max_length=64)
    error_message = LenientCharField(max_length=2000)
    metadata = serializers.DictField(required=False, allow_null=True, default=dict)


class CommandResultOut(serializers.Serializer):
    status = serializers.CharField()
    command_id = serializers.IntegerField()
    request_id = serializers.CharField()


class PoolPriceIn(serializers.Serializer):
    pool_id = LenientCharField(max_length=96)
    price = serializers.DecimalField(max_digits=12, decimal_places=6, min_value=0)
    az = LenientCharField(max_length=32)


class CheapestPoolIn(serializers.Serializer):
    pool_id = LenientCharField(max_length=96)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False
    )


class LegacyPricingIn(serializers.Serializer):
    on_demand_price = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False,
        allow_null=True,
    )
    current_spot_price = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False,
        allow_null=True,
    )
    cheapest_pool = CheapestPoolIn(required=False, allow_null=True)
    spot_pools = PoolPriceIn(many=True, required=False)
    collected_at = serializers.DateTimeField(required=False, allow_null=True)


class ReportInstanceIn(serializers.Serializer):
    instance_id = LenientCharField(max_length=64)
    instance_type = LenientCharField(max_length=64)
    region = LenientCharField(max_length=32)
    az = LenientCharField(max_length=32)
    mode = LenientCharField(max_length=32)
    pool_id = LenientCharField(max_length=96)
    ami_id = LenientCharField(max_length=64)


class PriceItemIn(serializers.Serializer):
    instance_type = StrictCharField(max_length=64)
    az = LenientCharField(max_length=32)
    pool_id = LenientCharField(max_length=96)
    price_type = LenientCharField(max_length=16, default="spot")
    spot_price = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False
    )
    price = serializers.DecimalField(
        max_digits=12, decimal_places=6, min_value=0, required=False
    )
    region = LenientCharField(max_length=32)
    timestamp = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        ondemand = attrs.get("price_type") == "ondemand"
        value = attrs.get("price") if ondemand else attrs.get("spot_price")
        if value is None:
            value = attrs.get("spot_price", attrs.get("price"))
        if value is None:
            raise serializers.ValidationError(
                {"spot_price": ["A price is required."]}
            )
        if not ondemand and not attrs.get("az"):
            raise serializers.ValidationError(
                {"az": ["A spot price needs its availability zone."]}
            )
        attrs["value"] = value
        return attrs


class PricingReportIn(serializers.Serializer):
    """Either the older {instance, pricing} shape or the newer array."""

    instance = ReportInstanceIn(required=False, allow_null=True)
    pricing = LegacyPricingIn(required=False, allow_null=True)
    timestamp = serializers.DateTimeField(required=False, allow_null=True)
    pricing_data_array = PriceItemIn(many=True, required=False)

    def validate(self, attrs):
        if not attrs.get("pricing") and "pricing_data_array" not in attrs:
            raise serializers.ValidationError(
                {"pricing_data_array": ["Send pricing or pricing_data_array."]}
            )
        return attrs


class PricingReportOut(serializers.Serializer):
    status = serializers.CharField()
    stored = serializers.IntegerField()


class ShutdownIn(serializers.Serializer):
    cloud_instance_id = LenientCharField(max_length=64)
    timestamp = serializers.DateTimeField(required=False, allow_null=True)
    metadata = serializers.DictField(required=False, allow_null=True, default=dict)


class CleanupSnapshotsIn(serializers.Serializer):
    deleted = serializers.IntegerField(required=False, min_value=0, default=0)
    failed = serializers.IntegerField(required=False, min_value=0, default=0)
    cutoff_date = serializers.CharField(required=False, allow_blank=True)


class CleanupAmisIn(serializers.Serializer):
    deleted_amis = serializers.IntegerField(required=False, min_value=0, default=0)
    failed = serializers.IntegerField(required=False, min_value=0, default=0)


class CleanupReportIn(serializers.Serializer):
    timestamp = serializers.DateTimeField(required=False, allow_null=True)
    snapshots = CleanupSnapshotsIn(required=False, allow_null=True)
    amis = CleanupAmisIn(required=False, allow_null=True)


class StatusOut(serializers.Serializer):
    status = serializers.CharField()
