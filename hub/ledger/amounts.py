"""Hours as exact integer hundredths ("cents" of an hour): 1.5 h is 150."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hub.offers.problems import Unprocessable

#: The most hours one transfer may move (a day's work is far below it).
MAX_HOURS = Decimal("1000")


def to_cents(hours: Decimal | float | int | str) -> int:
    """Hours (more than 0, at most two decimals, at most :data:`MAX_HOURS`) as hundredths.

    Raises:
        Unprocessable: zero, negative, too many decimals, too large or not a number.
    """
    try:
        value = Decimal(str(hours))
    except (InvalidOperation, ValueError) as exc:
        raise Unprocessable(f"hours must be a number, not {hours!r}") from exc
    if not value.is_finite() or value <= 0:
        raise Unprocessable("hours must be more than 0")
    if value > MAX_HOURS:
        raise Unprocessable(f"hours must be at most {MAX_HOURS}")
    cents = value * 100
    if cents != cents.to_integral_value():
        raise Unprocessable("hours take at most two decimals (0.25 is a quarter hour)")
    return int(cents)


def to_hours(cents: int) -> float:
    """Hundredths as hours for JSON (two decimals are exact enough to read)."""
    return cents / 100


def hours_text(cents: int) -> str:
    """Hundredths as exact text: ``-1.50``."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{whole}.{frac:02d}"


def setting_cents(value: Decimal | float | int | str, *, negative: bool, name: str) -> int:
    """An admin setting in hours as hundredths of its magnitude (0 allowed).

    ``negative``: the value must be 0 or below (a credit limit), else 0 or above (a grant).
    """
    try:
        dec = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Unprocessable(f"{name} must be a number, not {value!r}") from exc
    if not dec.is_finite():
        raise Unprocessable(f"{name} must be a number")
    if (negative and dec > 0) or (not negative and dec < 0):
        raise Unprocessable(f"{name} must be {'0 or negative' if negative else '0 or more'}")
    return 0 if dec == 0 else to_cents(abs(dec))
