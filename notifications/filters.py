"""Filters of the notification list, for the page and the API."""

import django_filters

from notifications.models import Notification


class NotificationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Notification.Kind.choices)
    severity = django_filters.ChoiceFilter(choices=Notification.Severity.choices)
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="Unread"
    )

    class Meta:
        model = Notification
        fields = ["kind", "severity", "unread"]
