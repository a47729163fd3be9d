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
        constraints = [
            # Price history rows are facts about AWS, not reports: loading
            # the same file or API page twice must not double them.
            models.UniqueConstraint(
                fields=["pool", "observed_at", "source"],
                condition=models.Q(source__in=["aws_api", "import"]),
                name="raw_unique_history_point",
            )
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


class InterruptionBand(models.Model):
    """One Spot Instance Advisor snapshot row: a type's interruption band.

    Bands count monthly interruption frequency: 0 is under 5%, 1 is 5-10%,
    2 is 10-15%, 3 is 15-20% and 4 is over 20%. Snapshots are kept, not
    overwritten, so that training reads the band as it was at the time.
    """

    snapshot_date = models.DateField()
    region = models.CharField(max_length=32)
    os = models.CharField(max_length=16, default="Linux")
    instance_type = models.CharField(max_length=64)
    band = models.PositiveSmallIntegerField()
    savings_percent = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-snapshot_date", "region", "instance_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "os", "instance_type", "snapshot_date"],
                name="band_unique_snapshot_row",
            )
        ]

    def __str__(self):
        return f"{self.instance_type} {self.region} band {self.band}"


class ConsolidatedPrice(models.Model):
    """The one price of a pool for one 5-minute bucket.

    An observed row comes from the raw tier (a primary's report beats a
    replica's, then the latest wins); an interpolated row fills a short gap
    between two observed ones, with a confidence below 1.
    """

    class Origin(models.TextChoices):
        AGENT = "agent"
        BACKFILL = "aws_api"
        IMPORT = "import"
        INTERPOLATED = "interpolated"

    # The unique (pool, bucket) index serves look-ups by pool; a second
    # index would only slow the bulk upserts down. Nor is there a database
    # constraint: only consolidation writes these rows, from raw reports
    # whose pool the database has checked, and checking a day's buckets one
    # by one again took a quarter of a run. A pool deleted through the ORM
    # still takes its rows with it.
    pool = models.ForeignKey(
        SpotPool, on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )
    bucket = models.DateTimeField()
    price = models.DecimalField(max_digits=12, decimal_places=6)
    origin = models.CharField(max_length=12, choices=Origin.choices)
    confidence = models.FloatField(default=1.0)
    report_count = models.PositiveIntegerField(default=0)
    observed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pool", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "bucket"], name="consolidated_unique_pool_bucket"
            )
        ]

    def __str__(self):
        return f"{self.pool_id} {self.bucket:%Y-%m-%d %H:%M} {self.price}"

    @property
    def is_interpolated(self) -> bool:
        return self.origin == self.Origin.INTERPOLATED


class CanonicalPrice(models.Model):
    """The training row of a pool and bucket: price, features and facts.

    Volatility is the mean absolute change between consecutive points over
    the trailing 12 points (an hour when dense), divided by their mean
    price. Life-cycle facts come from this fleet's emergencies and
    instance endings in the pool during the bucket.
    """

    # The unique (pool, bucket) index serves look-ups by pool; a second
    # index would only slow the bulk upserts down. Nor is there a database
    # constraint: only consolidation writes these rows, from raw reports
    # whose pool the database has checked, and checking a day's buckets one
    # by one again took a quarter of a run. A pool deleted through the ORM
    # still takes its rows with it.
    pool = models.ForeignKey(
        SpotPool, on_delete=models.CASCADE, related_name="+", db_index=False,
        db_constraint=False,
    )
    bucket = models.DateTimeField()
    price = models.DecimalField(max_digits=12, decimal_places=6)
    origin = models.CharField(
        max_length=12, choices=ConsolidatedPrice.Origin.choices
    )
    confidence = models.FloatField(default=1.0)
    volatility = models.FloatField(null=True, blank=True)
    ondemand_ratio = models.FloatField(null=True, blank=True)
    advisor_band = models.PositiveSmallIntegerField(null=True, blank=True)
    rebalance_seen = models.BooleanField(default=False)
    notice_seen = models.BooleanField(default=False)
    interrupted = models.BooleanField(default=False)
    interruption_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["pool", "bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "bucket"], name="canonical_unique_pool_bucket"
            )
        ]

    def __str__(self):
        return f"{self.pool_id} {self.bucket:%Y-%m-%d %H:%M} {self.price}"


class ConsolidationJob(models.Model):
    """One consolidation run: the raw window it read and what it wrote.

    The next run starts from the `watermark` (the latest `received_at` this
    run consolidated), which makes runs incremental.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    since = models.DateTimeField(null=True, blank=True)
    watermark = models.DateTimeField(null=True, blank=True)
    raw_rows = models.PositiveIntegerField(default=0)
    observed_rows = models.PositiveIntegerField(default=0)
    interpolated_rows = models.PositiveIntegerField(default=0)
    canonical_rows = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"consolidation {self.pk} {self.status}"


class LedgerHour(models.Model):
    """What one instance cost during (part of) one clock hour.

    `fraction` is the part of the hour it ran in this role. The actual cost
    uses the price in force for its pool; the on-demand cost is the
    counterfactual of the same type and region, and is zero for a replica,
    which an on-demand fleet would not have run.
    """

    class Role(models.TextChoices):
        PRIMARY = "primary"
        REPLICA = "replica"
        ONDEMAND = "ondemand"

    instance = models.ForeignKey(
        "instances.Instance", on_delete=models.CASCADE, related_name="+"
    )
    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="+"
    )
    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="+"
    )
    pool = models.ForeignKey(
        SpotPool, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hour = models.DateTimeField()
    role = models.CharField(max_length=10, choices=Role.choices)
    fraction = models.DecimalField(max_digits=7, decimal_places=6)
    price = models.DecimalField(max_digits=12, decimal_places=6)
    ondemand_price = models.DecimalField(
        max_digits=12, decimal_places=6, null=True, blank=True
    )
    actual_cost = models.DecimalField(max_digits=14, decimal_places=6)
    ondemand_cost = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["hour", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "hour", "role"], name="ledger_unique_hour_role"
            )
        ]
        indexes = [models.Index(fields=["client", "hour"])]

    def __str__(self):
        return f"{self.instance_id} {self.hour:%Y-%m-%d %H}h {self.role}"


class LedgerRollup(models.Model):
    """An agent's spend and savings over one day or one calendar month."""

    class Period(models.TextChoices):
        DAY = "day"
        MONTH = "month"

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="+"
    )
    client = models.ForeignKey(
        "agents.Client", on_delete=models.CASCADE, related_name="+"
    )
    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    instance_hours = models.DecimalField(max_digits=14, decimal_places=6)
    actual_cost = models.DecimalField(max_digits=14, decimal_places=6)
    ondemand_cost = models.DecimalField(max_digits=14, decimal_places=6)
    replica_cost = models.DecimalField(max_digits=14, decimal_places=6)
    fallback_cost = models.DecimalField(max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["-period_start", "agent"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "period", "period_start"],
                name="ledger_rollup_unique_period",
            )
        ]
        indexes = [models.Index(fields=["client", "period", "period_start"])]

    def __str__(self):
        return f"{self.agent_id} {self.period} {self.period_start}"

    @property
    def savings(self):
        return self.ondemand_cost - self.actual_cost

    @property
    def safety_cost(self):
        return self.replica_cost + self.fallback_cost
