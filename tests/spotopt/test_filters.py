"""Yes/no filters read Any / Yes / No and still filter like booleans."""

import pytest

from agents.filters import AgentFilter
from agents.models import Agent


def test_the_empty_choice_of_a_yes_no_filter_reads_any():
    form = AgentFilter(data={}, queryset=Agent.objects.none()).form

    choices = form.fields["auto_switch_enabled"].widget.choices

    assert [label for _, label in choices] == ["Any", "Yes", "No"]
    assert "Unknown" not in str(form["auto_switch_enabled"])


@pytest.mark.parametrize(("value", "expected"), [
    ("true", ["auto"]), ("True", ["auto"]), ("false", ["manual"]),
    ("unknown", ["auto", "manual"]), ("", ["auto", "manual"]),
])
def test_a_yes_no_filter_still_filters_like_a_boolean(owner, value, expected):
    for name, auto in (("auto", True), ("manual", False)):
        Agent.objects.create(
            client=owner.client, logical_agent_id=name, auto_switch_enabled=auto
        )

    found = AgentFilter(
        data={"auto_switch_enabled": value}, queryset=Agent.objects.all()
    ).qs

    assert sorted(found.values_list("logical_agent_id", flat=True)) == expected
