from django.contrib import admin

from notifications.models import Notification, WebhookDelivery


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "kind", "severity", "created_at", "read_at"]
    list_filter = ["kind", "severity"]
    search_fields = ["title", "body"]
    list_select_related = ["client"]


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
