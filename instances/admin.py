from django.contrib import admin

from instances.models import (
    AuditEvent,
    Command,
    EmergencyEvent,
    Instance,
    Replica,
    Switch,
)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__", "agent", "state", "mode", "instance_type", "az",
        "version", "state_changed_at",
    ]
    list_filter = ["state", "mode", "region"]
    search_fields = ["instance_id", "temp_instance_id", "agent__logical_agent_id"]
    list_select_related = ["agent"]
    raw_id_fields = ["agent", "client", "pool"]


@admin.register(Command)
class CommandAdmin(admin.ModelAdmin):
    list_display = [
        "command_type", "agent", "priority", "status", "request_id",
        "created_at", "expires_at",
    ]
    list_filter = ["status", "command_type", "priority"]
    search_fields = ["request_id", "agent__logical_agent_id"]
    list_select_related = ["agent"]
    raw_id_fields = ["agent", "client", "instance", "switch"]


@admin.register(Switch)
class SwitchAdmin(admin.ModelAdmin):
    list_display = [
        "pk", "agent", "trigger", "status", "from_pool_id", "to_pool_id",
        "downtime_ms", "initiated_at",
    ]
    list_filter = ["status", "trigger"]
    search_fields = ["from_pool_id", "to_pool_id", "agent__logical_agent_id"]
    list_select_related = ["agent"]
    raw_id_fields = ["agent", "client", "old_instance", "new_instance"]


@admin.register(Replica)
class ReplicaAdmin(admin.ModelAdmin):
    list_display = ["instance", "agent", "kind", "status", "created_at", "expires_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["agent", "instance"]
    raw_id_fields = ["agent", "instance"]


@admin.register(EmergencyEvent)
class EmergencyEventAdmin(admin.ModelAdmin):
    list_display = [
        "kind", "agent", "instance", "status", "action", "deadline",
        "notice_count", "queue_delay_ms",
    ]
    list_filter = ["kind", "status"]
    list_select_related = ["agent", "instance"]
    raw_id_fields = ["agent", "client", "instance", "replica", "command"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "event_type", "agent", "instance", "state_before", "state_after",
        "cause", "request_id", "created_at",
    ]
    list_filter = ["event_type"]
    search_fields = ["request_id", "cause"]
    list_select_related = ["agent", "instance"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
