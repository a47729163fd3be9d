"""Filters of the decision history, for the agent page and the API."""

import django_filters

from decisions.models import DecisionLog
from spotopt.filters import YesNoFilter


class DecisionFilter(django_filters.FilterSet):
    agent = django_filters.NumberFilter(field_name="agent_id")
    engine = django_filters.CharFilter()
    recommended_action = django_filters.ChoiceFilter(
        choices=DecisionLog.Action.choices
    )
    allowed = YesNoFilter()

    class Meta:
        model = DecisionLog
        fields = ["agent", "engine", "recommended_action", "allowed"]
