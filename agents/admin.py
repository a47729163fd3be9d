"""Operator console pages for clients, agents and request keys.

Every change that has a service goes through it: a token is made by
client_create, a config edit queues APPLY_CONFIG, a suspension clears the
authentication cache. The admin never writes those fields itself.
"""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from agents.models import CONFIG_FIELDS, Agent, Client, IdempotencyKey
from agents.services.clients import (
    client_create,
    client_status_set,
    client_token_rotate,
)
from agents.services.lifecycle import agent_config_update
from instances.models import AuditEvent
from instances.services.operator import agent_self_destruct

HISTORY_ROWS = 20


def _operator(request) -> str:
    return f"operator {request.user.get_username()}"


def audit_history(**filters) -> str:
    """The latest audit rows as a small read-only table for a change form."""
    events = AuditEvent.objects.filter(**filters)[:HISTORY_ROWS]
    if not events:
        return "No recorded changes."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{} &rarr; {}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                event.event_type, event.state_before or "-",
                event.state_after or "-", event.cause, event.request_id,
            )
            for event in events
        ),
    )
    return format_html(
        "<table><thead><tr><th>When</th><th>Event</th><th>State</th>"
        "<th>Cause</th><th>Request id</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = [
        "name", "email", "status", "token_prefix", "agent_count",
        "agents_online", "created_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["name", "email", "token_prefix"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "status", "token_prefix", "token_rotated_at", "created_at", "history",
    ]
    exclude = ["token_hash"]
    # A webhook entered without a scheme gets https://, as Django 6 will do.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["token_regenerate", "clients_suspend", "clients_reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _agents=Count("agents", distinct=True),
            _online=Count(
                "agents", filter=Q(agents__status=Agent.Status.ONLINE), distinct=True
            ),
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            # A new client is a name and an email; the token is made for it.
            return ["name", "email"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    @admin.display(description="agents", ordering="_agents")
    def agent_count(self, client):
        return client._agents

    @admin.display(description="online", ordering="_online")
    def agents_online(self, client):
        return client._online

    @admin.display(description="recent history")
    def history(self, client):
        return audit_history(client_id=client.pk)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return

        client, token = client_create(name=obj.name, email=obj.email)
        # The admin goes on with `obj` (log entry, redirect): make it the row
        # the service created.
        obj.pk, obj.token_prefix = client.pk, client.token_prefix
        obj.token_hash, obj.created_at = client.token_hash, client.created_at
        obj._state.adding = False
        _token_show(request, client, token)

    @admin.action(description="Regenerate the token (the old one stops working)")
    def token_regenerate(self, request, queryset):
        for client in queryset:
            _token_show(request, client, client_token_rotate(client=client))

    @admin.action(description="Suspend (agents get 403 until reactivated)")
    def clients_suspend(self, request, queryset):
        for client in queryset:
            client_status_set(client=client, status=Client.Status.SUSPENDED)
        self.message_user(request, f"Suspended {len(queryset)} clients.")

    @admin.action(description="Reactivate")
    def clients_reactivate(self, request, queryset):
        for client in queryset:
            client_status_set(client=client, status=Client.Status.ACTIVE)
        self.message_user(request, f"Reactivated {len(queryset)} clients.")


def _token_show(request, client: Client, token: str) -> None:
    # Messages live in the session (MESSAGE_STORAGE), never in a cookie,
    # and are gone once shown.
    messages.warning(
        request,
        format_html(
            "Token of {}: <code class='client-token'>{}</code> &mdash; copy it "
            "now, it is shown only once.",
            client.name, token,
        ),
    )


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = [
        "logical_agent_id", "client", "status", "enabled", "notice_status",
        "instance_type", "az", "agent_version", "last_heartbeat_at",
    ]
    list_filter = [
        "status", "notice_status", "enabled", "auto_switch_enabled", "region",
    ]
    search_fields = ["logical_agent_id", "hostname", "client__name", "private_ip"]
    list_select_related = ["client"]
    actions = ["agents_disable", "agents_enable", "config_push", "self_destruct"]
    fieldsets = [
        (None, {"fields": [
            "client", "logical_agent_id", "status", "notice_status",
            "notice_deadline", "last_heartbeat_at", "offline_after",
        ]}),
        ("Reported by the agent", {"fields": [
            "instance_type", "region", "az", "hostname", "agent_version",
            "cloud_account", "project_id", "private_ip", "public_ip", "ami_id",
            "registered_at", "updated_at",
        ]}),
        ("Config (a change queues APPLY_CONFIG)", {"fields": list(CONFIG_FIELDS)}),
        ("History", {"fields": ["history"]}),
    ]

    def has_add_permission(self, request):
        # Agents exist because an instance registered.
        return False

    def get_readonly_fields(self, request, obj=None):
        editable = set(CONFIG_FIELDS)
        fields = [
            name for _, options in self.fieldsets for name in options["fields"]
        ]
        return [name for name in fields if name not in editable]

    @admin.display(description="recent history")
    def history(self, agent):
        return audit_history(agent_id=agent.pk)

    def save_model(self, request, obj, form, change):
        changes = {
            name: form.cleaned_data[name]
            for name in form.changed_data if name in CONFIG_FIELDS
        }
        current = Agent.objects.get(pk=obj.pk)
        agent_config_update(agent=current, changes=changes, cause=_operator(request))

    @admin.action(description="Disable (the agent stops acting)")
    def agents_disable(self, request, queryset):
        self._config_set(request, queryset, {"enabled": False}, "Disabled")

    @admin.action(description="Enable")
    def agents_enable(self, request, queryset):
        self._config_set(request, queryset, {"enabled": True}, "Enabled")

    @admin.action(description="Push the current config (queue APPLY_CONFIG)")
    def config_push(self, request, queryset):
        for agent in queryset:
            agent_config_update(
                agent=agent, changes=agent.config(), cause=_operator(request)
            )
        self.message_user(request, f"Pushed the config to {len(queryset)} agents.")

    @admin.action(description="Self-destruct (queue SELF_DESTRUCT)")
    def self_destruct(self, request, queryset):
        for agent in queryset:
            agent_self_destruct(agent=agent, cause=_operator(request))
        self.message_user(
            request, f"Queued SELF_DESTRUCT for {len(queryset)} agents.",
            messages.WARNING,
        )

    def _config_set(self, request, queryset, changes: dict, verb: str) -> None:
        for agent in queryset:
            agent_config_update(agent=agent, changes=changes, cause=_operator(request))
        self.message_user(request, f"{verb} {len(queryset)} agents.")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["key", "client", "path", "state", "response_status", "created_at"]
    list_filter = ["state"]
    search_fields = ["key", "path"]
    list_select_related = ["client"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Dashboard accounts are registered by their own module.
from agents import admin_membership  # noqa: E402, F401
