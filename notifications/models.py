"""Messages for a client's people about what happened to their fleet."""

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """One thing a client should hear about (an agent offline, a failover)."""

    class Kind(models.TextChoices):
        AGENT_OFFLINE = "agent_offline"
        AGENT_ONLINE = "agent_online"
        SWITCH_COMPLETED = "switch_completed"
        EMERGENCY_NOTICE = "emergency_notice"
        FAILOVER_DONE = "failover_done"
        FAILOVER_FAILED = "failover_failed"
        MODEL_ACTIVATED = "model_activated"
        TOKEN_ROTATED = "token_rotated"

    class Severity(models.TextChoices):
        INFO = "info"
        WARNING = "warning"
        CRITICAL = "critical"

    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    severity = models.CharField(
        max_length=10, choices=Severity.choices, default=Severity.INFO
    )
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title


class WebhookDelivery(models.Model):
    """One attempt series to post a notification to its client's webhook.

    The row records each try's outcome, so an operator can see in the admin
    why a customer's Slack channel stayed quiet.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.notification_id} -> {self.url} ({self.status})"
