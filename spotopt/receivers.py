"""Signal receivers that feed the metrics; a side concern, kept out of flows.

Rows created with `objects.create` or saved with `save()` pass through
here. Counting from the rows themselves means no service has to remember to
report them.
"""

import logging

from celery.signals import task_postrun
from django.db.models.signals import post_save

from spotopt import metrics
from spotopt.health import task_run_record

logger = logging.getLogger(__name__)


def emergency_saved(sender, instance, created, update_fields=None, **kwargs):
    if created:
        metrics.EMERGENCIES.labels(instance.kind).inc()
        return

    resolved = (
        update_fields is not None
        and "resolved_at" in update_fields
        and instance.status == "resolved"
        and instance.kind == "termination"
        and instance.resolved_at is not None
    )
    if resolved:
        metrics.failover_observe(
            seconds=(instance.resolved_at - instance.received_at).total_seconds()
        )


def decision_saved(sender, instance, created, **kwargs):
    if created:
        metrics.DECISIONS.labels(
            instance.engine or "unknown", instance.recommended_action or "unknown"
        ).inc()


def task_finished(sender=None, task=None, state=None, **kwargs):
    name = getattr(task, "name", None) or "unknown"
    metrics.CELERY_TASKS.labels(name, state or "UNKNOWN").inc()
    task_run_record(name=name, state=state or "UNKNOWN")


def receivers_connect() -> None:
    """Connect once, from the app's ready()."""
    from decisions.models import DecisionLog
    from instances.models import EmergencyEvent

    post_save.connect(
        emergency_saved, sender=EmergencyEvent, dispatch_uid="metrics-emergency"
    )
    post_save.connect(
        decision_saved, sender=DecisionLog, dispatch_uid="metrics-decision"
    )
    task_postrun.connect(task_finished, dispatch_uid="metrics-celery-task")
