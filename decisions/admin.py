from django.contrib import admin

from decisions.models import DecisionLog


@admin.register(DecisionLog)
class DecisionLogAdmin(admin.ModelAdmin):
    list_display = [
        "agent", "engine", "model_version", "recommended_action",
        "recommended_pool_id", "allowed", "outcome", "created_at",
    ]
    list_filter = ["engine", "recommended_action", "allowed"]
    list_select_related = ["agent"]
    raw_id_fields = ["agent", "client"]
