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
