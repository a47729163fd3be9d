"""Filters of the notification list, for the page and the API."""

import django_filters

from notifications.models import Notification
from spotopt.filters import YesNoFilter


class NotificationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Notification.Kind.choices)
    severity = django_filters.ChoiceFilter(choices=Notification.Severity.choices)
    unread = YesNoFilter(
        field_name="read_at", lookup_expr="isnull", label="Unread"
    )

    class Meta:
        model = Notification
        fields = ["kind", "severity", "unread"]
