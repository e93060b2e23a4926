"""Money in reports: major units with the currency's own exponent (JPY 0, USD 2, KWD 3).

Reports hold integer minor units; what a reader or a spreadsheet sees is the major-unit figure,
exact as a decimal (never a float on the way), with the currency beside it.
"""

from __future__ import annotations

from decimal import Decimal

from connector.money import Money, exponent


def major(amount: int, currency: str) -> Decimal:
    """``9318`` USD -> ``Decimal("93.18")``; ``9318`` JPY -> ``Decimal("9318")``."""
    places = exponent(currency)
    return Decimal(amount).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def major_text(amount: int, currency: str) -> str:
    """Plain decimal text in major units, for CSV and JSON: ``"93.18"``."""
    return str(major(amount, currency))


def shown(amount: int, currency: str) -> str:
    """Text for eyes: ``"93.18 USD"`` (what tables, checks and command output print)."""
    return Money(amount, currency).format()


def excel_format(currency: str) -> str:
    """An Excel number format showing the currency's decimals and its code."""
    places = exponent(currency)
    digits = "#,##0" + ("." + "0" * places if places else "")
    return f'{digits} "{currency}";-{digits} "{currency}"'
