"""Filters of the agent list, shared by the dashboard page and the API."""

import django_filters
from django.db.models import Q

from agents.models import Agent
from spotopt.filters import YesNoFilter


class AgentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Agent.Status.choices)
    notice_status = django_filters.ChoiceFilter(choices=Agent.NoticeStatus.choices)
    region = django_filters.CharFilter()
    instance_type = django_filters.CharFilter()
    auto_switch_enabled = YesNoFilter()
    q = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = Agent
        fields = [
            "status", "notice_status", "region", "instance_type",
            "auto_switch_enabled",
        ]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(logical_agent_id__icontains=value) | Q(hostname__icontains=value)
        )
