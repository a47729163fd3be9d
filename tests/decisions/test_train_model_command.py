"""train_model --from-db: fit on the canonical tier, register the artefact."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from decisions.models import ModelArtifact
from instances.models import Instance
from pricing.models import CanonicalPrice
from pricing.services import pool_get_or_create

DAYS = 10


@pytest.fixture
def canonical_history(registered):
    """Three pools the fleet ran in for ten days; one keeps interrupting."""
    now = timezone.now()
    start = now - timedelta(days=DAYS)
    for index, az in enumerate(("us-east-1a", "us-east-1b", "us-east-1c")):
        pool = pool_get_or_create(instance_type="m5.large", az=az)
        pool.latest_price, pool.latest_price_at = 0.03 + index / 1000, now
        pool.save()
        Instance.objects.create(
            agent=registered, client=registered.client, pool=pool,
            temp_instance_id=f"tmp-{az}", instance_type="m5.large",
            region="us-east-1", az=az, state=Instance.State.TERMINATED,
            confirmed_at=start, terminated_at=now,
        )
        CanonicalPrice.objects.bulk_create(
            CanonicalPrice(
                pool=pool, bucket=start + timedelta(hours=hour),
                price=0.03 + index / 1000, origin="agent",
                interrupted=(az == "us-east-1c" and hour % 9 == 0),
            )
            for hour in range(DAYS * 24)
        )


def test_training_from_the_database_reports_metrics_and_registers(
    canonical_history
):
    out = StringIO()

    call_command("train_model", from_db=True, days=DAYS, register=True,
                 model_version="db1", stdout=out, stderr=StringIO())

    report = out.getvalue()
    assert "Brier score" in report and "calibration by decile" in report
    artifact = ModelArtifact.objects.get()
    assert (artifact.version, artifact.status) == ("db1", "validated")
    assert artifact.metrics["roc_auc"] > 0.5


def test_training_without_interruptions_is_refused(registered):
    with pytest.raises(CommandError, match="not enough data"):
        call_command("train_model", from_db=True, days=DAYS, stderr=StringIO())
