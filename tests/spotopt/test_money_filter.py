"""The `usd` filter: how every dollar figure of the dashboard reads."""

from decimal import Decimal

import pytest

from spotopt.templatetags.money import usd


@pytest.mark.parametrize(("amount", "shown"), [
    (Decimal("1234.5"), "$1,234.50"),
    (Decimal("0.0042"), "$0.0042"),
    (Decimal("0.00004"), "$0.0000"),
    (Decimal("0"), "$0.00"),
    (Decimal("-0.25"), "-$0.2500"),
    (12, "$12.00"),
    (0.5, "$0.5000"),
])
def test_amounts_under_a_dollar_keep_four_decimals(amount, shown):
    assert usd(amount) == shown


@pytest.mark.parametrize("junk", [None, "", "n/a", "NaN", "Infinity"])
def test_a_value_that_is_no_number_shows_nothing(junk):
    assert usd(junk) == ""
