"""Hours as exact integer hundredths ("cents" of an hour): 1.5 h is 150."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from hub.i18n.words import N_
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
        raise Unprocessable(N_("hours must be a number, not %(hours)r", hours=hours)) from exc
    if not value.is_finite() or value <= 0:
        raise Unprocessable(N_("hours must be more than 0"))
    if value > MAX_HOURS:
        raise Unprocessable(N_("hours must be at most %(most)s", most=MAX_HOURS))
    cents = value * 100
    if cents != cents.to_integral_value():
        raise Unprocessable(N_("hours take at most two decimals (0.25 is a quarter hour)"))
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
        raise Unprocessable(N_("%(name)s must be a number, not %(value)r", name=name, value=value)) from exc
    if not dec.is_finite():
        raise Unprocessable(N_("%(name)s must be a number", name=name))
    if (negative and dec > 0) or (not negative and dec < 0):
        raise Unprocessable(N_("%(name)s must be %(sign)s",
                               name=name, sign=N_("0 or negative") if negative else N_("0 or more")))
    return 0 if dec == 0 else to_cents(abs(dec))


def _json_number(value: object) -> object:
    # The API description promises a JSON number; a string or a boolean is refused, so the
    # description and the server agree (lax pydantic would read "1.5" and true).
    if isinstance(value, str | bool):
        raise ValueError("must be a JSON number, not a string")
    return value


def two_decimals(*, le: int, gt: int | None = None, ge: int | None = None,
                 description: str = "") -> Any:
    """An amount type for request bodies: a JSON number with at most two decimals.

    Published as ``{"type": "number", "multipleOf": 0.01, ...}`` so that every number the
    description allows is one the ledger takes (hundredths, within the bounds). The
    hundredths themselves are checked where the amount is used (:func:`to_cents`), whose
    refusal says so in words.
    """
    schema: dict[str, Any] = {"type": "number", "multipleOf": 0.01, "maximum": le}
    if gt is not None:
        schema["exclusiveMinimum"] = gt
    if ge is not None:
        schema["minimum"] = ge
    if description:
        schema["description"] = description
    return Annotated[Decimal, BeforeValidator(_json_number),
                     Field(gt=gt, ge=ge, le=le), WithJsonSchema(schema)]
