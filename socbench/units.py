"""Unit conversion of CF/UDUNITS-style unit strings, with pint.

Handles the spellings met in CMIP output and SOC products ("kg m-2",
"Mg ha-1", "t ha-1", "hg m-2", "kg m-2 s-1", "mm yr-1", "%", "K", "degC"),
scaled units ("1e-3 kg m-2", as UDUNITS allows), the non-standard spellings
of :data:`UNIT_ALIASES` and two conventions of the field:

- per-second fluxes become per-year with the *calendar's* year length
  (a noleap year has 365 days, a 360_day year 360);
- a water mass flux (kg m-2 s-1) becomes a depth (mm) through the density of
  liquid water, 1000 kg m-3 (1 kg m-2 of water is 1 mm).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

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
#: Words that label *what* is counted, not a unit: "kg C m-2" is kg of carbon.
#: UDUNITS would read "C" as coulomb, so dropping them is an alias (noted).
SUBSTANCE_LABELS = frozenset({"C", "c", "carbon", "Carbon", "of"})
#: Standard spellings that pint names differently (no note).
_SPELLINGS = {
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
#: Non-standard spellings met in real products (documented in docs/definition.md).
#: Each is read as the unit on the right; the reader notes it in one line.
UNIT_ALIASES = {
    "Kg": "kg",  # HWSD and NCSCD as distributed by ILAMB: "Kg/m2"
    "KG": "kg",
    "kgC": "kg",  # carbon label fused to the unit: "kgC m-2"
    "gC": "g",
    "MgC": "Mg",
    "tC": "t",
    "PgC": "Pg",
}
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_TOKEN = re.compile(r"([A-Za-z_%]+)\^?(-?\d+)?")


class UnitError(ValueError):
    """A unit string cannot be parsed or converted."""


@functools.lru_cache(maxsize=1)
def _registry() -> pint.UnitRegistry:
    registry = pint.UnitRegistry(autoconvert_offset_to_baseunit=True)
    return registry


@dataclass(frozen=True)
class ParsedUnits:
    """A unit string as read: scale factor, pint unit and the aliases used.

    Attributes
    ----------
    factor : float
        Scale factor written in the string (1e-3 for "1e-3 kg m-2").
    unit : pint.Unit
    aliases : tuple of str
        One "<spelling> -> <unit>" entry per alias of :data:`UNIT_ALIASES` or
        substance label used; empty for standard spellings.
    """

    factor: float
    unit: pint.Unit
    aliases: tuple[str, ...] = ()


def _split_tokens(units: str) -> list[str]:
    text = units.strip().replace("**", "^").replace("*", " ")
    # UDUNITS writes products with "." ("kg.m-2", "m2.s-1"); decimal points stay.
    for pattern in (r"(?<=[A-Za-z])\.(?=[A-Za-z])", r"(?<=[A-Za-z]\d)\.(?=[A-Za-z])", r"(?<=[A-Za-z]-\d)\.(?=[A-Za-z])"):
        text = re.sub(pattern, " ", text)
    return text.replace("/", " / ").split()


def _number(token: str) -> float | None:
    """Value of a scale-factor token ("1e-3", "1000", "10^3"), None if it is not one."""
    if _NUMBER.fullmatch(token):
        return float(token)
    power = re.fullmatch(r"(\d+)\^(-?\d+)", token)
    return float(power.group(1)) ** int(power.group(2)) if power else None


@functools.lru_cache(maxsize=256)
def read_units(units: str) -> ParsedUnits:
    """Parse a CF/UDUNITS unit string, with scale factor and aliases.

    Raises
    ------
    UnitError
        If the string is not a unit pint knows.
    """
    if units.strip() in ("", "1", "-"):
        return ParsedUnits(1.0, _registry().dimensionless)
    factor, parts, aliases, divide_next = 1.0, [], [], False
    for token in _split_tokens(units):
        if token == "/":
            divide_next = True
            continue
        if token in SUBSTANCE_LABELS:
            aliases.append(f"{token} -> (substance label, dropped)")
            continue
        number = _number(token)
        if number is not None:
            factor = factor / number if divide_next else factor * number
            divide_next = False
            continue
        match = _TOKEN.fullmatch(token)
        if not match:
            raise UnitError(f"cannot parse unit {units!r} (token {token!r})")
        name, power = match.group(1), int(match.group(2) or 1)
        if name in UNIT_ALIASES:
            aliases.append(f"{name} -> {UNIT_ALIASES[name]}")
        name = UNIT_ALIASES.get(name, _SPELLINGS.get(name, name))
        if divide_next:
            power, divide_next = -power, False
        parts.append(f"{name}**{power}" if power != 1 else name)
    try:
        unit = _registry().parse_units(" * ".join(parts) if parts else "dimensionless")
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError, AttributeError, TypeError) as exc:
        raise UnitError(f"unknown units {units!r} ({exc})") from None
    if factor <= 0 or not np.isfinite(factor):
        raise UnitError(f"cannot parse unit {units!r} (scale factor {factor:g} is not positive)")
    return ParsedUnits(factor, unit, tuple(aliases))


def parse_units(units: str) -> pint.Unit:
    """Parse a CF unit string into a pint unit (without its scale factor).

    Raises
    ------
    UnitError
        If the string is not a unit pint knows.
    """
    return read_units(units).unit


def _year_exponent(unit: pint.Unit) -> float:
    return sum(power for name, power in unit._units.items() if name == "year")


def conversion(source: str, target: str, calendar: str = "standard"):
    """Return a function converting arrays from ``source`` to ``target`` units.

    Parameters
    ----------
    source, target : str
        CF unit strings, possibly scaled ("1e-3 kg m-2").
    calendar : str
        CF calendar of the data, for the length of a year.

    Raises
    ------
    UnitError
        If either unit is unknown or the two are not convertible.
    """
    registry = _registry()
    source_units, target_units = read_units(source), read_units(target)
    source_unit, target_unit = source_units.unit, target_units.unit
    one_source, one_target = registry.Quantity(1.0, source_unit), registry.Quantity(1.0, target_unit)
    water = None
    if one_source.dimensionality != one_target.dimensionality:
        water = registry.Quantity(_WATER_DENSITY)
        if (one_source / water).dimensionality != one_target.dimensionality:
            raise UnitError(f"cannot convert {source!r} to {target!r}: different physical dimensions")
    days = DAYS_PER_YEAR.get(str(calendar).lower(), _PINT_YEAR_DAYS)
    year_fix = (days / _PINT_YEAR_DAYS) ** (_year_exponent(source_unit) - _year_exponent(target_unit))

    def convert(values):
        quantity = registry.Quantity(np.asarray(values, dtype=float) * source_units.factor, source_unit)
        if water is not None:
            quantity = quantity / water
        return quantity.to(target_unit).magnitude / target_units.factor * year_fix

    return convert


def same_units(first: str, second: str) -> bool:
    """Whether two unit strings denote the same unit (e.g. "Kg/m2" and "kg m-2")."""
    try:
        convert = conversion(first, second)
    except UnitError:
        return False
    return bool(np.allclose(convert(np.array([0.0, 1.0])), [0.0, 1.0], rtol=1e-9, atol=1e-12))


def convert(values, source: str, target: str, calendar: str = "standard"):
    """Convert ``values`` from ``source`` to ``target`` units (see :func:`conversion`)."""
    return conversion(source, target, calendar)(values)
