from django.contrib import admin

from pricing.models import OnDemandPrice, RawPriceReport, SpotPool


@admin.register(SpotPool)
class SpotPoolAdmin(admin.ModelAdmin):
    list_display = [
        "pool_id", "region", "latest_price", "latest_price_at",
        "avg_boot_seconds", "boot_samples",
    ]
    list_filter = ["region", "market"]
    search_fields = ["pool_id", "instance_type"]


@admin.register(RawPriceReport)
class RawPriceReportAdmin(admin.ModelAdmin):
    list_display = [
        "instance_type", "az", "price_type", "price", "source", "role",
        "observed_at", "received_at",
    ]
    list_filter = ["source", "role", "price_type"]
    search_fields = ["instance_type", "az"]
    raw_id_fields = ["pool", "agent"]


@admin.register(OnDemandPrice)
class OnDemandPriceAdmin(admin.ModelAdmin):
    list_display = ["instance_type", "region", "price", "source", "updated_at"]
    list_filter = ["region", "source"]
    search_fields = ["instance_type"]
