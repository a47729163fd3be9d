"""The record of every decision an engine made for an agent."""

from django.db import models
from django.utils import timezone


class DecisionLog(models.Model):
    """One answer of an engine: its inputs, its output and what was done."""

    class Action(models.TextChoices):
        STAY = "stay"
        SWITCH = "switch"
        CREATE_REPLICA = "create_replica"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="decisions"
    )
    client = models.ForeignKey("agents.Client", on_delete=models.CASCADE)
    engine = models.CharField(max_length=32)
    model_version = models.CharField(max_length=32, blank=True)
    recommended_action = models.CharField(max_length=16, choices=Action.choices)
    recommended_pool_id = models.CharField(max_length=96, blank=True)
    expected_savings_per_hour = models.FloatField(default=0)
    risk_score = models.FloatField(default=0)
    confidence = models.FloatField(default=0)
    allowed = models.BooleanField(default=False)
    inputs = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.engine}: {self.recommended_action} for {self.agent_id}"
