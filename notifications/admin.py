from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "client", "kind", "severity", "created_at", "read_at"]
    list_filter = ["kind", "severity"]
    search_fields = ["title", "body"]
    list_select_related = ["client"]
