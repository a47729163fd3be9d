"""Dollar amounts as the dashboard shows them."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

# Below a dollar, cents alone would show a young fleet's savings as $0.00.
SMALL_AMOUNT_USD = Decimal("1")


@register.filter
def usd(value) -> str:
    """`$1,234.50` for large amounts, `$0.0042` below a dollar; '' for junk."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    if not amount.is_finite():
        return ""

    sign = "-" if amount < 0 else ""
    digits = 4 if 0 < abs(amount) < SMALL_AMOUNT_USD else 2
    return f"{sign}${abs(amount):,.{digits}f}"
