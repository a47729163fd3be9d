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


class ModelArtifact(models.Model):
    """A trained model uploaded to the registry, one version of one name.

    The file is kept as bytes in a format that cannot run code on load
    (skops); at most one artefact is active and at most one is the fallback
    the registry returns to when the active one fails.
    """

    class Status(models.TextChoices):
        UPLOADED = "uploaded"
        VALIDATED = "validated"
        ACTIVE = "active"
        FALLBACK = "fallback"
        RETIRED = "retired"
        FAILED = "failed"

    name = models.CharField(max_length=64)
    version = models.CharField(max_length=32)
    features = models.JSONField(default=list, blank=True)
    horizon_hours = models.FloatField(default=24.0)
    metrics = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.UPLOADED
    )
    status_reason = models.CharField(max_length=255, blank=True)
    data = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"], name="artifact_unique_version"
            ),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="active"),
                name="artifact_one_active",
            ),
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="fallback"),
                name="artifact_one_fallback",
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.version} ({self.status})"


class RegistryEvent(models.Model):
    """One change in the model registry: who or what did it, and why.

    The instances audit needs a client; registry changes are fleet-wide.
    """

    artifact = models.ForeignKey(
        ModelArtifact, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="events",
    )
    event_type = models.CharField(max_length=32)
    status_before = models.CharField(max_length=12, blank=True)
    status_after = models.CharField(max_length=12, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event_type} {self.status_before}->{self.status_after}"
