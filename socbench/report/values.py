"""Small, pure helpers shared by the view-data modules: numbers, text, colours."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb

MISSING_TEXT = "–"

#: Absolute scale of scores: viridis, perceptually uniform and colour-blind safe.
SCORE_COLORMAP = colormaps["viridis"]
#: Diverging purple-orange (ColorBrewer PuOr, colour-blind safe) for scores relative to the other
#: models of a column: purple below their mean, orange above.
RELATIVE_COLORMAP = colormaps["PuOr_r"]
#: Legend stops of both scales.
SCORE_PALETTE = tuple(to_hex(c) for c in SCORE_COLORMAP(np.linspace(0.0, 1.0, 11)))
RELATIVE_PALETTE = tuple(to_hex(c) for c in RELATIVE_COLORMAP(np.linspace(0.0, 1.0, 11)))
MISSING_COLOURS = ("#d9d9d9", "#1f2328")
#: A relative colour spans +-2 standard deviations of the column.
RELATIVE_SPAN = 2.0


def is_number(value: Any) -> bool:
    """Whether ``value`` is a finite real number (not a bool or a string)."""
    try:
        return value is not None and not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def fmt(value: Any, missing: str = MISSING_TEXT, digits: int = 2) -> str:
    return f"{float(value):.{digits}f}" if is_number(value) else missing


def fmt_delta(value: Any) -> str:
    return f"{float(value):+.2f}".replace("-", "−") if is_number(value) else ""


def fmt_int(value: Any) -> str:
    return f"{round(float(value)):,}" if is_number(value) else MISSING_TEXT


def int_or_none(value: Any) -> int | None:
    return int(round(float(value))) if is_number(value) else None


def text(value: Any) -> str:
    """``value`` as a string; None, NaN and NA become ``""``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else False


def unique(values: Iterable[Any]) -> list[Any]:
    """Values in order of first appearance, NaN left out."""
    return list(dict.fromkeys(v for v in values if not (isinstance(v, float) and math.isnan(v))))


def rounded(value: Any, digits: int = 4) -> float | None:
    """A number rounded to ``digits`` significant digits for the page data (None if not finite)."""
    if not is_number(value):
        return None
    value = float(value)
    return 0.0 if value == 0 else float(f"{value:.{digits}g}")


def jsonable(value: Any) -> Any:
    """Plain JSON types: NaN/inf become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------- colours


def score_colours(value: float | None) -> tuple[str, str]:
    """Background and text colour of a score cell on the absolute scale.

    Parameters
    ----------
    value : float or None
        Score in [0, 1] (clipped); NaN/None gives the "missing" grey.

    Returns
    -------
    (background, text) : tuple of str
        CSS hex colours; the text colour is whichever of black or white
        contrasts more with the background (WCAG relative luminance).
    """
    if not is_number(value):
        return MISSING_COLOURS
    return _colormap_colours(SCORE_COLORMAP, min(max(float(value), 0.0), 1.0))


def relative_colours(value: float | None, column: Sequence[float]) -> tuple[str, str]:
    """Colours of a score relative to the other scores of its column (as ILAMB's relative scale).

    The score's z-score among the finite values of ``column`` is mapped onto a
    diverging palette spanning +-2 standard deviations; a column with one
    value, or without spread, is neutral.
    """
    if not is_number(value):
        return MISSING_COLOURS
    finite = np.asarray([v for v in column if is_number(v)], dtype=float)
    spread = finite.std() if finite.size > 1 else 0.0
    z = 0.0 if spread <= 0 else (float(value) - finite.mean()) / spread
    position = (min(max(z, -RELATIVE_SPAN), RELATIVE_SPAN) + RELATIVE_SPAN) / (2 * RELATIVE_SPAN)
    return _colormap_colours(RELATIVE_COLORMAP, position)


def _colormap_colours(colormap, position: float) -> tuple[str, str]:
    rgb = to_rgb(colormap(position))
    return to_hex(rgb), contrasting_text(rgb)


def contrast_ratio(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours."""
    lighter, darker = sorted((_luminance(to_rgb(first)), _luminance(to_rgb(second))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def contrasting_text(rgb: tuple[float, ...]) -> str:
    luminance = _luminance(rgb)
    return "#000000" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def _luminance(rgb: tuple[float, ...]) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
