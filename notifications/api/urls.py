from django.urls import path

from notifications.api import views

app_name = "notifications-api"

urlpatterns = [
    path(
        "notifications", views.NotificationListView.as_view(),
        name="notification-list",
    ),
    path(
        "notifications/mark-all-read", views.NotificationMarkAllReadView.as_view(),
        name="notification-mark-all-read",
    ),
    path(
        "notifications/<str:notification_id>/mark-read",
        views.NotificationMarkReadView.as_view(), name="notification-mark-read",
    ),
]
