from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="notification-list"),
    path(
        "mark-all-read", views.notification_mark_all_read_page,
        name="notification-mark-all-read",
    ),
    path(
        "<str:notification_id>/mark-read", views.notification_mark_read_page,
        name="notification-mark-read",
    ),
]
