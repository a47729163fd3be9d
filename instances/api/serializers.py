"""Input and output shapes of the agent API's instance, switch and
emergency paths (PROTOCOL.md, both dialects)."""

from rest_framework import serializers

from agents.api.serializers import LenientCharField, ReportInstanceIn, StrictCharField


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
