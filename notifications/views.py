"""Dashboard page of notifications: the list and marking them read."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from notifications.filters import NotificationFilter
from notifications.models import Notification
from notifications.services import (
    notification_mark_read,
    notifications_mark_all_read,
)
from spotopt.pages import client_page, page_context, page_of


@client_page
def notification_list(request):
    filterset = NotificationFilter(
        request.GET,
        queryset=Notification.objects.filter(client_id=request.client.pk)
        .select_related("agent"),
    )
    context = page_context(
        request, filter=filterset, page=page_of(request, filterset.qs)
    )
    return render(request, "notifications/notification_list.html", context)


@require_POST
@client_page
def notification_mark_read_page(request, notification_id):
    if not str(notification_id).isdigit() or not notification_mark_read(
        client_id=request.client.pk, notification_id=int(notification_id)
    ):
        raise Http404
    return redirect("notifications:notification-list")


@require_POST
@client_page
def notification_mark_all_read_page(request):
    notifications_mark_all_read(client_id=request.client.pk)
    return redirect("notifications:notification-list")
