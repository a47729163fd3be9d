"""Instances, the commands that move them, switches, replicas and the audit."""

import uuid

from django.db import models
from django.utils import timezone


class Instance(models.Model):
    """One EC2 instance that served, or was launched to serve, an agent.

    Every state change is a compare-and-set on `version`, and the partial
    unique constraint keeps at most one running primary per agent whatever
    requests race.
    """

    class State(models.TextChoices):
        LAUNCHING = "launching"
        RUNNING_PRIMARY = "running_primary"
        RUNNING_REPLICA = "running_replica"
        PROMOTING = "promoting"
        TERMINATING = "terminating"
        TERMINATED = "terminated"
        ZOMBIE = "zombie"

    class Mode(models.TextChoices):
        SPOT = "spot"
        ONDEMAND = "ondemand"

    class Role(models.TextChoices):
        PRIMARY = "primary"
        REPLICA = "replica"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="instances"
    )
    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="instances"
    )
    # Unknown until the launch is confirmed; NULL keeps blanks out of look-ups.
    instance_id = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True
    )
    temp_instance_id = models.CharField(max_length=64, unique=True)
    pool = models.ForeignKey(
        "pricing.SpotPool", on_delete=models.SET_NULL, null=True, blank=True
    )
    instance_type = models.CharField(max_length=64)
    region = models.CharField(max_length=32)
    az = models.CharField(max_length=32)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.SPOT)
    role_hint = models.CharField(
        max_length=10, choices=Role.choices, default=Role.PRIMARY
    )
    state = models.CharField(max_length=20, choices=State.choices)
    version = models.PositiveIntegerField(default=1)
    ami_id = models.CharField(max_length=64, blank=True)
    spot_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    ondemand_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    state_reason = models.CharField(max_length=255, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    launch_requested_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    boot_seconds = models.FloatField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    state_changed_at = models.DateTimeField(default=timezone.now)
    terminated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=models.Q(state="running_primary"),
                name="instance_one_primary_per_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "instance_id"]),
            models.Index(fields=["agent", "state"]),
        ]

    def __str__(self):
        return self.instance_id or self.temp_instance_id

    @property
    def pool_key(self) -> str:
        if self.mode == self.Mode.ONDEMAND:
            return f"{self.instance_type}.{self.region}.ondemand"
        return f"{self.instance_type}.{self.az}"

    @property
    def is_retired(self) -> bool:
        return self.state in (self.State.ZOMBIE, self.State.TERMINATED)


def new_request_id() -> str:
    return uuid.uuid4().hex


class Command(models.Model):
    """An instruction queued for an agent, delivered at least once."""

    class Type(models.TextChoices):
        LAUNCH_INSTANCE = "LAUNCH_INSTANCE"
        PROMOTE_REPLICA_TO_PRIMARY = "PROMOTE_REPLICA_TO_PRIMARY"
        TERMINATE_INSTANCE = "TERMINATE_INSTANCE"
        APPLY_CONFIG = "APPLY_CONFIG"
        SELF_DESTRUCT = "SELF_DESTRUCT"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        EXPIRED = "expired"

    class Priority(models.IntegerChoices):
        EMERGENCY = 100
        MANUAL = 75
        URGENT = 50
        MODEL = 25
        SCHEDULED = 10

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="commands"
    )
    client = models.ForeignKey("agents.Client", on_delete=models.CASCADE)
    command_type = models.CharField(max_length=40, choices=Type.choices)
    priority = models.PositiveSmallIntegerField(default=Priority.SCHEDULED)
    request_id = models.CharField(max_length=64, unique=True, default=new_request_id)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING
    )
    instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="commands",
    )
    switch = models.ForeignKey(
        "Switch", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="commands",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Not handed out before this time (the delayed terminate of a switch).
    available_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    delivery_count = models.PositiveSmallIntegerField(default=0)
    completed_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-priority", "created_at", "id"]
        indexes = [
            models.Index(
                fields=["agent", "-priority", "created_at"],
                name="command_open_queue",
                condition=models.Q(status__in=["pending", "delivered"]),
            ),
            models.Index(
                fields=["expires_at"],
                name="command_open_expiry",
                condition=models.Q(status__in=["pending", "delivered"]),
            ),
        ]

    def __str__(self):
        return f"{self.command_type} {self.request_id}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.DELIVERED)


class Switch(models.Model):
    """A move of an agent's workload from one instance to another."""

    class Status(models.TextChoices):
        LAUNCHING = "launching"
        PROMOTING = "promoting"
        COMPLETED = "completed"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        MODEL = "model"
        REBALANCE = "rebalance"
        TERMINATION = "termination"
        AGENT = "agent"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="switches"
    )
    client = models.ForeignKey("agents.Client", on_delete=models.CASCADE)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    reason = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    old_instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    new_instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    from_pool_id = models.CharField(max_length=96, blank=True)
    to_pool_id = models.CharField(max_length=96, blank=True)
    target_mode = models.CharField(max_length=10, default="spot")
    old_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    new_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    ondemand_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    initiated_at = models.DateTimeField(default=timezone.now)
    ami_created_at = models.DateTimeField(null=True, blank=True)
    instance_launched_at = models.DateTimeField(null=True, blank=True)
    instance_ready_at = models.DateTimeField(null=True, blank=True)
    promote_started_at = models.DateTimeField(null=True, blank=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    old_terminated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    downtime_ms = models.PositiveIntegerField(null=True, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-initiated_at", "-id"]
        verbose_name_plural = "switches"
        constraints = [
            models.UniqueConstraint(
                fields=["agent"],
                condition=models.Q(status__in=["launching", "promoting"]),
                name="switch_one_in_progress_per_agent",
            )
        ]

    def __str__(self):
        return f"switch {self.pk} {self.from_pool_id} -> {self.to_pool_id}"


class Replica(models.Model):
    """A standby instance kept warm for an agent, and why it exists."""

    class Kind(models.TextChoices):
        MANUAL = "manual"
        REBALANCE = "rebalance"
        EMERGENCY = "emergency"

    class Status(models.TextChoices):
        LAUNCHING = "launching"
        READY = "ready"
        PROMOTED = "promoted"
        RETIRED = "retired"
        FAILED = "failed"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="replicas"
    )
    instance = models.OneToOneField(
        Instance, on_delete=models.CASCADE, related_name="replica"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kind} replica {self.instance}"


class EmergencyEvent(models.Model):
    """A rebalance recommendation or termination notice for one instance.

    Repeated notices for the same instance are one event: the partial unique
    constraint rejects a second open event of the same kind.
    """

    class Kind(models.TextChoices):
        REBALANCE = "rebalance"
        TERMINATION = "termination"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"
        FAILED = "failed"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="emergencies"
    )
    client = models.ForeignKey("agents.Client", on_delete=models.CASCADE)
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, related_name="emergencies"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN
    )
    action = models.CharField(max_length=32, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now)
    deadline = models.DateTimeField(null=True, blank=True)
    replica = models.ForeignKey(
        Replica, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    command = models.ForeignKey(
        Command, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    target_pool_id = models.CharField(max_length=96, blank=True)
    became_interruption = models.BooleanField(null=True)
    notice_count = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)
    queue_delay_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "kind"],
                condition=models.Q(status="open"),
                name="emergency_one_open_per_instance_kind",
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.instance} {self.status}"


class AuditEvent(models.Model):
    """A recorded change: what it was before and after, and what caused it."""

    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="audit_events"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, null=True, blank=True,
        related_name="audit_events",
    )
    instance = models.ForeignKey(
        Instance, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="audit_events",
    )
    event_type = models.CharField(max_length=48)
    state_before = models.CharField(max_length=32, blank=True)
    state_after = models.CharField(max_length=32, blank=True)
    cause = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event_type} {self.state_before}->{self.state_after}"
