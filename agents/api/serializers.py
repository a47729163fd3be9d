"""Input and output shapes of the agent API (PROTOCOL.md, both dialects)."""

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


class TimingIn(serializers.Serializer):
    initiated_at = serializers.DateTimeField(required=False, allow_null=True)
    ami_created_at = serializers.DateTimeField(required=False, allow_null=True)
    instance_launched_at = serializers.DateTimeField(required=False, allow_null=True)
    instance_ready_at = serializers.DateTimeField(required=False, allow_null=True)
    old_terminated_at = serializers.DateTimeField(required=False, allow_null=True)


class SwitchPricingIn(serializers.Serializer):
    on_demand = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, allow_null=True
    )
    old_spot = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, allow_null=True
    )
    new_spot = serializers.DecimalField(
        max_digits=12, decimal_places=6, required=False, allow_null=True
    )


class SwitchReportIn(serializers.Serializer):
    command_id = serializers.IntegerField(required=False, allow_null=True)
    trigger = LenientCharField(max_length=32, default="agent")
    old_instance = ReportInstanceIn(required=False, allow_null=True)
    new_instance = ReportInstanceIn(required=False, allow_null=True)
    timing = TimingIn(required=False, allow_null=True)
    pricing = SwitchPricingIn(required=False, allow_null=True)


class SwitchReportOut(serializers.Serializer):
    status = serializers.CharField()
    switch_id = serializers.IntegerField()


class RebalanceIn(serializers.Serializer):
    instance_id = LenientCharField(max_length=64)
    cloud_instance_id = LenientCharField(max_length=64)
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    notice_time = serializers.DateTimeField(required=False, allow_null=True)


class RebalanceOut(serializers.Serializer):
    action = serializers.ChoiceField(choices=["replica_staged", "switch", "monitor"])
    risk_score = serializers.FloatField()
    reason = serializers.CharField()
    target_pool_id = serializers.CharField(required=False)


class TerminationNoticeIn(serializers.Serializer):
    instance_id = LenientCharField(max_length=64)
    termination_time = serializers.DateTimeField(required=False, allow_null=True)


class TerminationReportIn(TerminationNoticeIn):
    notice_type = LenientCharField(max_length=32)
    success = serializers.BooleanField(required=False, default=True)
    error = LenientCharField(max_length=2000)
    terminated_at = serializers.DateTimeField(required=False, allow_null=True)


class TerminationNoticeOut(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=["promote_replica", "launch_replica", "already_handled"]
    )
    deadline = serializers.DateTimeField()
    replica_instance_id = serializers.CharField(required=False)
    command_id = serializers.IntegerField(required=False)
    target_pool_id = serializers.CharField(required=False, allow_null=True)


class EmergencyReplicaIn(serializers.Serializer):
    reason = LenientCharField(max_length=255)
    preferred_az = LenientCharField(max_length=32)
    exclude_azs = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list
    )


class EmergencyReplicaOut(serializers.Serializer):
    command_id = serializers.IntegerField()
    pool_id = serializers.CharField()


class InstanceLaunchedIn(serializers.Serializer):
    instance_id = StrictCharField(max_length=64)
    temp_instance_id = LenientCharField(max_length=64)
    instance_type = LenientCharField(max_length=64)
    az = LenientCharField(max_length=32)
    request_id = LenientCharField(max_length=64)
    confirmed_at = serializers.DateTimeField(required=False, allow_null=True)


class InstanceLaunchedOut(serializers.Serializer):
    status = serializers.CharField()
    launch_duration_seconds = serializers.FloatField(allow_null=True)


class InstanceTerminatedIn(serializers.Serializer):
    instance_id = StrictCharField(max_length=64)
    request_id = LenientCharField(max_length=64)
    confirmed_at = serializers.DateTimeField(required=False, allow_null=True)


class InstanceTerminatedOut(serializers.Serializer):
    status = serializers.CharField()
    termination_duration_seconds = serializers.FloatField(allow_null=True)


class TerminationIn(serializers.Serializer):
    reason = LenientCharField(max_length=255)
    instance_id = LenientCharField(max_length=64)


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


class ReplicaOut(serializers.Serializer):
    instance_id = serializers.CharField(allow_null=True)
    state = serializers.CharField()
    status = serializers.CharField()
    kind = serializers.CharField()
    pool = serializers.CharField()
    boot_time_seconds = serializers.FloatField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class EmergencyEventOut(serializers.Serializer):
    kind = serializers.CharField()
    status = serializers.CharField()
    action = serializers.CharField()
    received_at = serializers.DateTimeField()
    deadline = serializers.DateTimeField(allow_null=True)
    notice_count = serializers.IntegerField()
    became_interruption = serializers.BooleanField(allow_null=True)


class EmergencyStatusOut(serializers.Serializer):
    notice_status = serializers.ChoiceField(
        choices=["none", "rebalance", "termination"]
    )
    notice_deadline = serializers.DateTimeField(allow_null=True)
    seconds_remaining = serializers.IntegerField(allow_null=True)
    replica = ReplicaOut(allow_null=True)
    last_emergency_event = EmergencyEventOut(allow_null=True)
    emergency_replicas_count = serializers.IntegerField()
    termination_notices_24h = serializers.IntegerField()


class ReplicaConfigOut(serializers.Serializer):
    enabled = serializers.BooleanField()
    count = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=["manual", "automatic"])
    replicas = ReplicaOut(many=True)


class InstanceToTerminateOut(serializers.Serializer):
    instance_id = serializers.CharField()
    instance_type = serializers.CharField()
    az = serializers.CharField()
    reason = serializers.CharField()
    seconds_waiting = serializers.IntegerField()


class InstancesToTerminateOut(serializers.Serializer):
    instances = InstanceToTerminateOut(many=True)
    auto_terminate_enabled = serializers.BooleanField()
    terminate_wait_seconds = serializers.IntegerField()


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


class TerminationReportOut(serializers.Serializer):
    """A notice answers like termination-imminent; a confirmation so."""

    action = serializers.CharField(required=False)
    deadline = serializers.DateTimeField(required=False)
    replica_instance_id = serializers.CharField(required=False)
    command_id = serializers.IntegerField(required=False)
    target_pool_id = serializers.CharField(required=False, allow_null=True)
    status = serializers.CharField(required=False)
    instance_id = serializers.CharField(required=False, allow_null=True)
    error = serializers.CharField(required=False)


class TerminationOut(serializers.Serializer):
    status = serializers.CharField()
    instance_id = serializers.CharField(allow_null=True)
