"""Pieces shared by the FilterSets of every app."""

import django_filters
from django.forms import NullBooleanSelect


class AnyYesNoSelect(NullBooleanSelect):
    """Django's yes/no select, whose empty choice reads "Any", not "Unknown":
    on a filter form it means "do not filter", not an unknown value."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]


class YesNoFilter(django_filters.BooleanFilter):
    """A boolean filter offered as Any / Yes / No."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", AnyYesNoSelect)
        super().__init__(*args, **kwargs)
