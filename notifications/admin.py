from django.contrib import admin

from notifications.models import Notification, WebhookDelivery


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "kind", "severity", "created_at", "read_at"]
    list_filter = ["kind", "severity", "created_at"]
    search_fields = ["title", "body", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "created_at"
    readonly_fields = ["client", "agent", "kind", "severity", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "notification", "client", "status", "attempts", "response_status",
        "last_attempt_at", "delivered_at",
    ]
    list_filter = ["status"]
    search_fields = ["url", "last_error", "client__name"]
    list_select_related = ["client", "notification"]
    readonly_fields = [
        "notification", "client", "url", "attempts", "response_status",
        "last_error", "created_at", "delivered_at", "last_attempt_at",
    ]
