"""Operator console pages for instances, the command queue and emergencies.

Instances, switches and emergencies are read-only here: their states move
only by compare-and-set in the services, never by a form. The command queue
has two actions, cancel and retry, which go through the services too.
"""

from django.contrib import admin, messages
from django.utils import timezone

from instances.models import (
    AuditEvent,
    Command,
    EmergencyEvent,
    Instance,
    Replica,
    Switch,
)
from instances.services.operator import command_cancel, command_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    """A page to look at rows that only the services may change."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditEventInline(admin.TabularInline):
    model = AuditEvent
    fk_name = "instance"
    fields = [
        "created_at", "event_type", "state_before", "state_after", "cause",
        "request_id",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    verbose_name_plural = "state history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Instance)
class InstanceAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__", "agent", "client", "state", "mode", "role_hint",
        "instance_type", "az", "spot_price", "version", "state_changed_at",
    ]
    list_filter = ["state", "mode", "role_hint", "region"]
    search_fields = [
        "instance_id", "temp_instance_id", "agent__logical_agent_id",
        "client__name",
    ]
    list_select_related = ["agent", "client"]
    date_hierarchy = "created_at"
    inlines = [AuditEventInline]


@admin.register(Command)
class CommandAdmin(ReadOnlyAdmin):
    list_display = [
        "command_type", "agent", "priority", "status", "delivery_count",
        "request_id", "created_at", "expires_at", "completed_at",
    ]
    list_filter = ["status", "command_type", "priority"]
    search_fields = ["request_id", "agent__logical_agent_id", "agent__client__name"]
    list_select_related = ["agent"]
    date_hierarchy = "created_at"
    actions = ["commands_cancel", "commands_retry"]

    @admin.action(description="Cancel (close as failed, undo what it started)")
    def commands_cancel(self, request, queryset):
        operator = f"operator {request.user.get_username()}"
        cancelled = sum(
            command_cancel(command=command, cause=operator) for command in queryset
        )
        self.message_user(request, f"Cancelled {cancelled} commands.")

    @admin.action(description="Retry (queue a fresh copy)")
    def commands_retry(self, request, queryset):
        operator = f"operator {request.user.get_username()}"
        retried = [
            command_retry(command=command, cause=operator)
            for command in queryset.select_related("agent", "instance")
        ]
        done = sum(copy is not None for copy in retried)
        self.message_user(request, f"Queued {done} commands again.")
        if done < len(retried):
            self.message_user(
                request,
                f"Skipped {len(retried) - done}: still open, or a launch or "
                "promotion, which a new switch restarts.",
                messages.WARNING,
            )


@admin.register(Switch)
class SwitchAdmin(ReadOnlyAdmin):
    list_display = [
        "pk", "agent", "trigger", "status", "from_pool_id", "to_pool_id",
        "old_price", "new_price", "downtime_ms", "initiated_at",
    ]
    list_filter = ["status", "trigger", "target_mode"]
    search_fields = [
        "from_pool_id", "to_pool_id", "agent__logical_agent_id", "request_id",
    ]
    list_select_related = ["agent"]
    date_hierarchy = "initiated_at"


@admin.register(Replica)
class ReplicaAdmin(ReadOnlyAdmin):
    list_display = [
        "instance", "agent", "kind", "status", "created_at", "ready_at",
        "expires_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["instance__instance_id", "agent__logical_agent_id"]
    list_select_related = ["agent", "instance"]


@admin.register(EmergencyEvent)
class EmergencyEventAdmin(ReadOnlyAdmin):
    list_display = [
        "kind", "agent", "instance", "status", "action", "deadline",
        "seconds_remaining", "notice_count", "queue_delay_ms",
        "became_interruption", "received_at",
    ]
    list_filter = ["kind", "status", "action", "became_interruption"]
    search_fields = ["instance__instance_id", "agent__logical_agent_id"]
    list_select_related = ["agent", "instance"]
    date_hierarchy = "received_at"

    @admin.display(description="time left (s)")
    def seconds_remaining(self, event):
        if event.status != EmergencyEvent.Status.OPEN or event.deadline is None:
            return "-"
        return max(0, int((event.deadline - timezone.now()).total_seconds()))


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at", "event_type", "client", "agent", "instance",
        "state_before", "state_after", "cause", "request_id",
    ]
    list_filter = ["event_type", "created_at"]
    search_fields = ["request_id", "cause", "agent__logical_agent_id"]
    list_select_related = ["client", "agent", "instance"]
    date_hierarchy = "created_at"
