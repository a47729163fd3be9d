from rest_framework import serializers

from notifications.models import Notification


class ClientNotificationOut(serializers.ModelSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id", "kind", "severity", "title", "body", "agent", "created_at",
            "read_at", "read",
        ]

    def get_read(self, notification) -> bool:
        return notification.read_at is not None
