"""Spot pools and the raw tier of reported prices."""

from django.db import models
from django.utils import timezone


class SpotPool(models.Model):
    """One (region, availability zone, instance type, market) combination.

    The latest price is kept on the row so that a decision reads one row per
    pool instead of scanning the raw tier; boot times are measured from the
    launches this fleet made in the pool.
    """

    pool_id = models.CharField(max_length=96, unique=True)
    region = models.CharField(max_length=32)
    az = models.CharField(max_length=32)
    instance_type = models.CharField(max_length=64)
    market = models.CharField(max_length=16, default="spot")
    latest_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    latest_price_at = models.DateTimeField(null=True, blank=True)
    avg_boot_seconds = models.FloatField(null=True, blank=True)
    boot_samples = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["pool_id"]
        indexes = [models.Index(fields=["region", "instance_type"])]

    def __str__(self):
        return self.pool_id

    @staticmethod
    def make_pool_id(instance_type: str, az: str) -> str:
        return f"{instance_type}.{az}"

    @property
    def family(self) -> str:
        return self.instance_type.split(".", 1)[0]


class RawPriceReport(models.Model):
    """A price exactly as received. Never edited; pruned after retention."""

    class Source(models.TextChoices):
        AGENT = "agent"
        AWS_API = "aws_api"
        IMPORT = "import"

    class Role(models.TextChoices):
        PRIMARY = "primary"
        REPLICA = "replica"
        NONE = "none"

    class PriceType(models.TextChoices):
        SPOT = "spot"
        ONDEMAND = "ondemand"

    pool = models.ForeignKey(
        SpotPool, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    price_type = models.CharField(
        max_length=10, choices=PriceType.choices, default=PriceType.SPOT
    )
    instance_type = models.CharField(max_length=64)
    region = models.CharField(max_length=32, blank=True)
    az = models.CharField(max_length=32, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=6)
    source = models.CharField(max_length=10, choices=Source.choices)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.NONE)
    agent = models.ForeignKey(
        "agents.Agent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    observed_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["received_at"]),
            models.Index(fields=["pool", "observed_at"]),
        ]

    def __str__(self):
        return f"{self.instance_type} {self.az} {self.price} @ {self.observed_at}"


class OnDemandPrice(models.Model):
    """The on-demand price of an instance type in a region, latest known."""

    instance_type = models.CharField(max_length=64)
    region = models.CharField(max_length=32)
    price = models.DecimalField(max_digits=12, decimal_places=6)
    source = models.CharField(max_length=16, default="agent")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["region", "instance_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance_type", "region"], name="ondemand_unique_type_region"
            )
        ]

    def __str__(self):
        return f"{self.instance_type} {self.region} {self.price}"
