"""Unit conversion of CF/UDUNITS-style unit strings, with pint.

Handles the spellings met in CMIP output and SOC products ("kg m-2",
"Mg ha-1", "t ha-1", "hg m-2", "kg C m-2", "kg m-2 s-1", "mm yr-1", "%",
"K", "degC") and two conventions of the field:

- per-second fluxes become per-year with the *calendar's* year length
  (a noleap year has 365 days, a 360_day year 360);
- a water mass flux (kg m-2 s-1) becomes a depth (mm) through the density of
  liquid water, 1000 kg m-3 (1 kg m-2 of water is 1 mm).
"""

from __future__ import annotations

import functools
import re

import numpy as np
import pint

#: Days per year of each CF calendar (CF conventions, section 4.4.1).
DAYS_PER_YEAR = {
    "noleap": 365.0,
    "365_day": 365.0,
    "all_leap": 366.0,
    "366_day": 366.0,
    "360_day": 360.0,
    "julian": 365.25,
    "standard": 365.2425,
    "gregorian": 365.2425,
    "proleptic_gregorian": 365.2425,
}
_PINT_YEAR_DAYS = 365.25
_WATER_DENSITY = "1000 kg m**-3"
# Words that label *what* is counted, not a unit: "kg C m-2" is kg of carbon.
_SUBSTANCE_LABELS = {"C", "c", "carbon", "Carbon", "of"}
_ALIASES = {
    "%": "percent",
    "1": "dimensionless",
    "degrees_C": "degC",
    "degree_C": "degC",
    "deg_C": "degC",
    "Celsius": "degC",
    "degrees_K": "K",
    "yr": "year",
    "a": "year",
    "fraction": "dimensionless",
}


class UnitError(ValueError):
    """A unit string cannot be parsed or converted."""


@functools.lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:
    registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    return registry


def _to_pint_expression(units: str) -> str:
    text = units.strip()
    if text in ("", "1", "-"):
        return "dimensionless"
    text = text.replace("/", " / ").replace("**", "^")
    tokens, divide_next = [], False
    for token in text.split():
        if token == "/":
            divide_next = True
            continue
        if token in _SUBSTANCE_LABELS:
            continue
        match = re.fullmatch(r"([A-Za-z_%]+)\^?(-?\d+)?", token)
        if not match:
            if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", token):
                tokens.append(token)
                continue
            raise UnitError(f"cannot parse unit {units!r} (token {token!r})")
        name, power = match.group(1), int(match.group(2) or 1)
        name = _ALIASES.get(name, name)
        if divide_next:
            power, divide_next = -power, False
        tokens.append(f"{name}**{power}" if power != 1 else name)
    return " * ".join(tokens) if tokens else "dimensionless"


def parse_units(units: str) -> pint.Unit:
    """Parse a CF unit string into a pint unit.

    Raises
    ------
    UnitError
        If the string is not a unit pint knows.
    """
    try:
        return _registry().parse_units(_to_pint_expression(units))
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError) as exc:
        raise UnitError(f"unknown units {units!r} ({exc})") from None


def _year_exponent(unit: pint.Unit) -> float:
    return sum(power for name, power in unit._units.items() if name == "year")


def conversion(source: str, target: str, calendar: str = "standard"):
    """Return a function converting arrays from ``source`` to ``target`` units.

    Parameters
    ----------
    source, target : str
        CF unit strings.
    calendar : str
        CF calendar of the data, for the length of a year.

    Raises
    ------
    UnitError
        If either unit is unknown or the two are not convertible.
    """
    registry = _registry()
    source_unit, target_unit = parse_units(source), parse_units(target)
    one_source, one_target = registry.Quantity(1.0, source_unit), registry.Quantity(1.0, target_unit)
    divisor = registry.Quantity(1.0, "dimensionless")
    if one_source.dimensionality != one_target.dimensionality:
        water = registry.Quantity(_WATER_DENSITY)
        if (one_source / water).dimensionality != one_target.dimensionality:
            raise UnitError(f"cannot convert {source!r} to {target!r}: different physical dimensions")
        divisor = water
    days = DAYS_PER_YEAR.get(str(calendar).lower(), _PINT_YEAR_DAYS)
    year_fix = (days / _PINT_YEAR_DAYS) ** (_year_exponent(source_unit) - _year_exponent(target_unit))

    def convert(values):
        quantity = registry.Quantity(np.asarray(values, dtype=float), source_unit) / divisor
        return quantity.to(target_unit).magnitude * year_fix

    return convert


def convert(values, source: str, target: str, calendar: str = "standard"):
    """Convert ``values`` from ``source`` to ``target`` units (see :func:`conversion`)."""
    return conversion(source, target, calendar)(values)
