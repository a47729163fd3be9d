"""Customers, their agents, and the request keys that make POSTs idempotent."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Client(models.Model):
    """A customer account. It owns agents and authenticates with one token.

    Only a SHA-256 hash of the token is stored; the short prefix finds the row
    without scanning, and the token itself is shown once, when it is made.
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    token_rotated_at = models.DateTimeField(default=timezone.now)
    webhook_url = models.URLField(blank=True)
    webhook_secret = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Agent(models.Model):
    """A logical workload identity that survives switches between instances.

    The replacement instance registers with the same logical id and gets the
    same agent back. The config fields are the PROTOCOL.md config object.
    """

    class Status(models.TextChoices):
        ONLINE = "online"
        OFFLINE = "offline"
        STOPPED = "stopped"
        TERMINATED = "terminated"

    class NoticeStatus(models.TextChoices):
        NONE = "none"
        REBALANCE = "rebalance"
        TERMINATION = "termination"

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="agents")
    logical_agent_id = models.CharField(max_length=128)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ONLINE
    )
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Not later than when the agent counts as missing: heartbeats leave it
    # (their update then touches no index), the sweep moves it up to the
    # last heartbeat plus the grace period, and claims the silent ones.
    offline_after = models.DateTimeField(null=True, blank=True)
    notice_status = models.CharField(
        max_length=16, choices=NoticeStatus.choices, default=NoticeStatus.NONE
    )
    notice_deadline = models.DateTimeField(null=True, blank=True)

    instance_type = models.CharField(max_length=64, blank=True)
    region = models.CharField(max_length=32, blank=True)
    az = models.CharField(max_length=32, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    agent_version = models.CharField(max_length=64, blank=True)
    cloud_account = models.CharField(max_length=64, blank=True)
    project_id = models.CharField(max_length=128, blank=True)
    private_ip = models.CharField(max_length=64, blank=True)
    public_ip = models.CharField(max_length=64, blank=True)
    ami_id = models.CharField(max_length=64, blank=True)

    enabled = models.BooleanField(default=True)
    auto_switch_enabled = models.BooleanField(default=False)
    auto_terminate_enabled = models.BooleanField(default=True)
    terminate_wait_seconds = models.PositiveIntegerField(default=300)
    replica_enabled = models.BooleanField(default=False)
    replica_count = models.PositiveSmallIntegerField(default=0)
    manual_replica_enabled = models.BooleanField(default=False)
    min_savings_percent = models.FloatField(default=10.0)
    risk_threshold = models.FloatField(default=0.3)
    max_switches_per_week = models.PositiveSmallIntegerField(default=10)
    min_pool_duration_hours = models.FloatField(default=2.0)

    registered_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "logical_agent_id"], name="agent_unique_logical_id"
            )
        ]
        indexes = [
            models.Index(
                fields=["offline_after"],
                name="agent_online_deadline",
                condition=models.Q(status="online"),
            )
        ]

    def __str__(self):
        return f"{self.logical_agent_id} ({self.client_id})"

    def config(self) -> dict:
        return {
            "enabled": self.enabled,
            "auto_switch_enabled": self.auto_switch_enabled,
            "auto_terminate_enabled": self.auto_terminate_enabled,
            "terminate_wait_seconds": self.terminate_wait_seconds,
            "replica_enabled": self.replica_enabled,
            "replica_count": self.replica_count,
            "manual_replica_enabled": self.manual_replica_enabled,
            "min_savings_percent": self.min_savings_percent,
            "risk_threshold": self.risk_threshold,
            "max_switches_per_week": self.max_switches_per_week,
            "min_pool_duration_hours": self.min_pool_duration_hours,
        }

    def seconds_until_deadline(self, now=None) -> int | None:
        if self.notice_deadline is None:
            return None
        now = now or timezone.now()
        return max(0, int((self.notice_deadline - now).total_seconds()))

    @staticmethod
    def next_offline_after(now=None) -> datetime:
        """When an agent heartbeating now is overdue."""
        now = now or timezone.now()
        return now + timedelta(seconds=settings.HEARTBEAT_GRACE_SECONDS)


CONFIG_FIELDS = tuple(Agent().config().keys())


class IdempotencyKey(models.Model):
    """One POST seen with a request id, and the response it produced.

    The unique constraint, not a look-up first, is what makes two racing
    repeats resolve to one effect.
    """

    class State(models.TextChoices):
        PROCESSING = "processing"
        DONE = "done"

    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    path = models.CharField(max_length=255)
    key = models.CharField(max_length=128)
    body_hash = models.CharField(max_length=64)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PROCESSING
    )
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "path", "key"], name="idempotency_unique_key"
            )
        ]

    def __str__(self):
        return f"{self.key} {self.path}"


class ClientMembership(models.Model):
    """A person who may sign in to the dashboard on behalf of one client.

    An operator invites the person; a user belongs to at most one client, so
    every page and API call made with the session resolves to that client.
    """

    class Role(models.TextChoices):
        ADMIN = "admin"
        MEMBER = "member"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
        related_name="membership",
    )
    client = models.ForeignKey(
        Client, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["client", "user"]

    def __str__(self):
        return f"{self.user} @ {self.client}"
