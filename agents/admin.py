from django.contrib import admin

from agents.models import Agent, Client, IdempotencyKey


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "status", "token_prefix", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "email", "token_prefix"]
    readonly_fields = ["token_prefix", "token_hash", "token_rotated_at", "created_at"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "logical_agent_id", "client", "status", "notice_status",
        "instance_type", "az", "last_heartbeat_at",
    ]
    list_filter = ["status", "notice_status", "auto_switch_enabled", "region"]
    search_fields = ["logical_agent_id", "hostname", "client__name"]
    list_select_related = ["client"]
    readonly_fields = ["last_heartbeat_at", "offline_after", "registered_at"]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "client", "path", "state", "response_status", "created_at"]
    list_filter = ["state"]
    search_fields = ["key", "path"]
    list_select_related = ["client"]

# Dashboard accounts are registered by their own module.
from agents import admin_membership  # noqa: E402, F401
