"""Operator console pages for pools, the three price tiers and the ledger.

The price tiers and the ledger are derived or append-only data, so their
pages are read-only; consolidation jobs can be started from their list.
"""

import logging

from django.conf import settings
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from pricing.consolidation import consolidation_run
from pricing.models import (
    CanonicalPrice,
    ConsolidatedPrice,
    ConsolidationJob,
    InterruptionBand,
    LedgerHour,
    LedgerRollup,
    OnDemandPrice,
    RawPriceReport,
    SpotPool,
)
from pricing.tasks import consolidate_prices_task

logger = logging.getLogger(__name__)


class ReadOnlyAdmin(admin.ModelAdmin):
    # Tiers hold millions of rows: skip the second, unfiltered count.
    show_full_result_count = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SpotPool)
class SpotPoolAdmin(admin.ModelAdmin):
    list_display = [
        "pool_id", "region", "market", "latest_price", "latest_price_at",
        "avg_boot_seconds", "boot_samples",
    ]
    list_filter = ["region", "market"]
    search_fields = ["pool_id", "instance_type"]
    readonly_fields = ["latest_price", "latest_price_at", "boot_samples"]


@admin.register(RawPriceReport)
class RawPriceReportAdmin(ReadOnlyAdmin):
    list_display = [
        "instance_type", "az", "price_type", "price", "source", "role", "agent",
        "observed_at", "received_at",
    ]
    list_filter = ["source", "role", "price_type"]
    search_fields = ["instance_type", "az"]
    list_select_related = ["agent"]


@admin.register(OnDemandPrice)
class OnDemandPriceAdmin(admin.ModelAdmin):
    list_display = ["instance_type", "region", "price", "source", "updated_at"]
    list_filter = ["region", "source"]
    search_fields = ["instance_type"]


@admin.register(InterruptionBand)
class InterruptionBandAdmin(ReadOnlyAdmin):
    list_display = [
        "instance_type", "region", "os", "band", "savings_percent", "snapshot_date",
    ]
    list_filter = ["band", "region", "os"]
    search_fields = ["instance_type"]


@admin.register(ConsolidatedPrice)
class ConsolidatedPriceAdmin(ReadOnlyAdmin):
    list_display = [
        "pool", "bucket", "price", "origin", "confidence", "report_count",
    ]
    list_filter = ["origin"]
    search_fields = ["pool__pool_id"]
    list_select_related = ["pool"]


@admin.register(CanonicalPrice)
class CanonicalPriceAdmin(ReadOnlyAdmin):
    list_display = [
        "pool", "bucket", "price", "origin", "volatility", "ondemand_ratio",
        "advisor_band", "notice_seen", "interrupted",
    ]
    list_filter = ["origin", "interrupted", "notice_seen", "advisor_band"]
    search_fields = ["pool__pool_id"]
    list_select_related = ["pool"]


@admin.register(ConsolidationJob)
class ConsolidationJobAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "status", "started_at", "finished_at", "duration_ms", "raw_rows",
        "observed_rows", "interpolated_rows", "canonical_rows",
    ]
    list_filter = ["status"]
    change_list_template = "admin/pricing/consolidationjob/change_list.html"

    def get_urls(self):
        run = self.admin_site.admin_view(require_POST(self.run_view))
        return [
            path("run/", run, name="pricing_consolidationjob_run"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        context = {
            "last_job": ConsolidationJob.objects.first(),
            "run_url": reverse("admin:pricing_consolidationjob_run"),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context=context)

    def run_view(self, request):
        """Start a consolidation; it is incremental and safe to overlap.

        Scaled out, a worker runs it and the list shows the job when it
        starts; embedded, it runs here and the answer says how it went.
        """
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            consolidate_prices_task.delay()
            messages.success(request, "Consolidation queued for a worker.")
            return redirect("admin:pricing_consolidationjob_changelist")

        try:
            job = consolidation_run()
        except Exception:
            # The job row records the failure; the page shows it.
            logger.warning("Operator-started consolidation failed", exc_info=True)
            messages.error(request, "The consolidation failed; see the last job.")
        else:
            messages.success(
                request,
                f"Consolidation {job.pk}: {job.observed_rows} observed and "
                f"{job.interpolated_rows} interpolated rows in "
                f"{job.duration_ms} ms.",
            )
        return redirect("admin:pricing_consolidationjob_changelist")


@admin.register(LedgerHour)
class LedgerHourAdmin(ReadOnlyAdmin):
    list_display = [
        "hour", "client", "agent", "instance", "role", "fraction", "price",
        "actual_cost", "ondemand_cost",
    ]
    list_filter = ["role"]
    search_fields = ["agent__logical_agent_id", "client__name"]
    list_select_related = ["client", "agent", "instance"]


@admin.register(LedgerRollup)
class LedgerRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "period_start", "period", "client", "agent", "instance_hours",
        "actual_cost", "ondemand_cost", "replica_cost", "fallback_cost",
    ]
    list_filter = ["period"]
    search_fields = ["agent__logical_agent_id", "client__name"]
    list_select_related = ["client", "agent"]
