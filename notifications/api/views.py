"""Listing notifications and marking them read, for the caller's client."""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.api.serializers import ClientNotificationOut
from notifications.filters import NotificationFilter
from notifications.models import Notification
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
)
from spotopt.tenancy import ClientScoped


class NotificationListView(ClientScoped, generics.ListAPIView):
    serializer_class = ClientNotificationOut
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "severity"]

    def get_queryset(self):
        return Notification.objects.filter(client_id=self.client.pk)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = Notification.objects.filter(
            client_id=self.client.pk, read_at__isnull=True
        ).count()
        return response


class NotificationMarkReadView(ClientScoped, APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, notification_id):
        if not str(notification_id).isdigit():
            raise Http404
        if not notification_mark_read(
            client_id=self.client.pk, notification_id=int(notification_id)
        ):
            raise Http404
        return Response({"id": int(notification_id), "read": True})


class NotificationMarkAllReadView(ClientScoped, APIView):
    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    def post(self, request):
        marked = notifications_mark_all_read(client_id=self.client.pk)
        return Response({"marked": marked})
