"""Filters of instance, replica and switch lists, for pages and the API."""

import django_filters

from instances.models import Instance, Replica, Switch
from spotopt.filters import YesNoFilter


class InstanceFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=Instance.State.choices)
    mode = django_filters.ChoiceFilter(choices=Instance.Mode.choices)
    agent = django_filters.NumberFilter(field_name="agent_id")
    region = django_filters.CharFilter()
    instance_type = django_filters.CharFilter()
    active = YesNoFilter(method="filter_active", label="Active")

    class Meta:
        model = Instance
        fields = ["state", "mode", "agent", "region", "instance_type"]

    def filter_active(self, queryset, name, value):
        retired = [Instance.State.TERMINATED, Instance.State.ZOMBIE]
        if value:
            return queryset.exclude(state__in=retired)
        return queryset.filter(state__in=retired)


class ReplicaFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Replica.Status.choices)
    kind = django_filters.ChoiceFilter(choices=Replica.Kind.choices)
    agent = django_filters.NumberFilter(field_name="agent_id")

    class Meta:
        model = Replica
        fields = ["status", "kind", "agent"]


class SwitchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Switch.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=Switch.Trigger.choices)
    agent = django_filters.NumberFilter(field_name="agent_id")
    since = django_filters.IsoDateTimeFilter(
        field_name="initiated_at", lookup_expr="gte"
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="initiated_at", lookup_expr="lt"
    )

    class Meta:
        model = Switch
        fields = ["status", "trigger", "agent"]
