"""Validators shared by the definition's sections: strict models, registered names, metric maps, unique names."""

from __future__ import annotations

import difflib
import math
from typing import Any

from pydantic import BaseModel, ConfigDict

from ..errors import DefinitionError


class Strict(BaseModel):
    """A definition section: unknown keys refused, values frozen, NaN and inf refused."""

    # NaN and inf are never meaningful in a definition: a NaN tolerance or weight
    # compares false with everything and silently disables a check.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def nearest(key: str, candidates) -> str | None:
    """The candidate closest to a misspelt ``key``, or None."""
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def registered(registry, name: str) -> str:
    """``name`` if ``registry`` knows it, else a ValueError listing the known names."""
    if name not in registry:
        raise ValueError(f"unknown {registry.what} {name!r} (known: {', '.join(registry.names())})")
    return name


def refuse_duplicates(names: list[str], what: str) -> None:
    """Raise a ValueError naming every name given more than once (``what``: "model names", ...)."""
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"duplicated {what}: {', '.join(duplicated)}")


def complete(given: dict[str, float], defaults: dict[str, float], what: str, renamed=None) -> dict[str, float]:
    """``given`` over ``defaults``: unknown keys refused, finite non-negative values only."""
    completed = dict(defaults)
    for key, value in given.items():
        key = (renamed or {}).get(key, key)
        if key not in defaults:
            hint = nearest(key, defaults)
            raise ValueError(
                f"unknown {what} {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; known: {', '.join(defaults)}"
            )
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{what} {key!r} must be a finite number >= 0 (got {value})")
        completed[key] = float(value)
    return completed


def known_regridder(name: str) -> str:
    """A registered regridder that can be used here (xesmf only where it imports)."""
    from ..regrid import REGRIDDERS, regrid_xesmf, xesmf_available

    registered(REGRIDDERS, name)
    if REGRIDDERS.get(name) is regrid_xesmf and not xesmf_available():
        raise ValueError("'xesmf' cannot be imported here: pip install xesmf, or use 'builtin'")
    return name


def whole_cells(resolution: float) -> float:
    """A grid resolution that divides the globe into whole cells, else the nearby valid ones."""
    from ..regrid import divides_the_globe, nearby_resolutions

    if not divides_the_globe(resolution):
        below, above = nearby_resolutions(resolution)
        raise ValueError(
            f"{resolution:g} deg does not divide 180 and 360 into whole cells (the last column would be "
            f"cut short); nearby valid values: {', '.join(f'{r:g}' for r in below + above)}"
        )
    return resolution


def buildable_learner(estimator: str, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` if the registered learner builds and fits with them on a small table.

    Checked when the definition is loaded, not in a worker after the reading.
    """
    from ..emulate import check_learner

    try:
        check_learner(estimator, params)
    except DefinitionError as exc:
        raise ValueError(str(exc).removeprefix("learner.params: ")) from None
    return params
