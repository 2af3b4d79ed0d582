"""Figures for the report: pure functions from tables and arrays to SVG or PNG.

Nothing here reads or writes files. The vector figures (importance bars and
response curves) are written as SVG markup directly: a page has tens of small
panels, and string building is a hundred times faster than a plotting
library's SVG backend. Their output is deterministic (same input, same
string), every piece of text from the data (region and covariate names) is
XML-escaped, and every element id carries the caller's ``salt`` so several
figures can be inlined in one page. The raster difference map is drawn with
matplotlib, which is closed after use so memory stays flat however many model
pages are rendered.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

#: Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
MODEL_COLOUR = "#0072B2"
OBSERVED_COLOUR = "#7f7f7f"
OBSERVED_LINE_COLOUR = "#000000"
#: Diverging, colour-blind-safe palette for model-minus-observation maps.
DIFFERENCE_CMAP = "RdBu_r"
MISSING_COLOUR = "#d9d9d9"

_STYLE = {
    "text.parse_math": False,
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}

# ---------------------------------------------------------------- SVG primitives

_FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"
_INK = "#1f2328"
_MUTED = "#57606a"
_AXIS = "#8c959f"
_GRID = "#e8e8e8"
_ZERO = "#bfbfbf"
_WHISKER = "#1f2328"
_CHAR_WIDTH = 0.58  # average glyph width in em, to estimate the extent of a label
#: Characters XML 1.0 does not allow (and lone surrogates); replaced before escaping.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: object) -> str:
    """``value`` as XML character data."""
    return escape(_NOT_XML.sub("\ufffd", str(value)))


def _attr(value: object) -> str:
    """``value`` as a quoted XML attribute value (quotes included)."""
    return quoteattr(_NOT_XML.sub("\ufffd", str(value)))


def _n(value: float) -> str:
    """A coordinate, to 0.1 px."""
    text = f"{value:.1f}".removesuffix(".0")
    return "0" if text == "-0" else text


def _id_prefix(salt: str) -> str:
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", str(salt))
    return prefix if prefix[:1].isalpha() else f"f{prefix}"


def _text_width(label: str, size: float) -> float:
    return len(label) * size * _CHAR_WIDTH


def _document(width: float, height: float, salt: str, title: str, body: list[str]) -> str:
    """A standalone ``<svg>`` element: scales with its viewBox, titled for assistive technology."""
    ident = f"{_id_prefix(salt)}-title"
    w, h = _n(math.ceil(width)), _n(math.ceil(height))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'role="img" aria-labelledby="{ident}" font-family="{_FONT}" font-size="11" fill="{_INK}">'
        f'<title id="{ident}">{_text(title)}</title>{"".join(body)}</svg>'
    )


def _no_data(salt: str, title: str) -> str:
    body = [f'<text x="160" y="34" text-anchor="middle" fill="{_MUTED}">no data</text>']
    return _document(320, 56, salt, f"{title}: no data", body)


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 1, extra: str = "") -> str:
    return (f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{width:g}"{extra}/>')


def _label(x: float, y: float, text: str, *, anchor: str = "start", size: float | None = None,
           fill: str | None = None, weight: str | None = None, full: str | None = None,
           rotate: bool = False) -> str:
    """A ``<text>``; ``full`` (the unshortened text) becomes a tooltip when it differs."""
    attrs = f' text-anchor="{anchor}"' if anchor != "start" else ""
    if size is not None:
        attrs += f' font-size="{size:g}"'
    if fill is not None:
        attrs += f' fill="{fill}"'
    if weight is not None:
        attrs += f' font-weight="{weight}"'
    if rotate:
        attrs += f' transform="rotate(-90 {_n(x)} {_n(y)})"'
    tip = f"<title>{_text(full)}</title>" if full is not None and full != text else ""
    return f'<text x="{_n(x)}" y="{_n(y)}"{attrs}>{tip}{_text(text)}</text>'


_LEGEND_SYMBOL, _LEGEND_GAP, _LEGEND_SPACING = 22, 6, 22


def _legend_width(labels: list[str]) -> float:
    widths = [_LEGEND_SYMBOL + _LEGEND_GAP + _text_width(label, 11) for label in labels]
    return sum(widths) + _LEGEND_SPACING * (len(labels) - 1)


def _legend(entries: list[tuple[str, str]], centre: float, y: float) -> list[str]:
    """A one-line legend centred on ``centre``: (symbol markup at origin, label) pairs."""
    symbol_width, gap, spacing = _LEGEND_SYMBOL, _LEGEND_GAP, _LEGEND_SPACING
    widths = [symbol_width + gap + _text_width(label, 11) for _, label in entries]
    x = max(4.0, centre - _legend_width([label for _, label in entries]) / 2)
    parts = []
    for (symbol, label), width in zip(entries, widths):
        parts.append(f'<g transform="translate({_n(x)} {_n(y)})">{symbol}'
                     f'<text x="{symbol_width + gap}" y="4">{_text(label)}</text></g>')
        x += width + spacing
    return parts


# ---------------------------------------------------------------- ticks


def _decimals(step: float) -> int:
    for decimals in range(12):
        if abs(round(step, decimals) - step) <= 1e-9 * abs(step):
            return decimals
    return 12


def _tick_text(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        return "0"
    return text.replace("-", "\u2212")  # a typographic minus


def _steps(span: float) -> list[tuple[float, float]]:
    """Candidate (step, mantissa) pairs of the 1-2-2.5-5 series around ``span``."""
    base = 10.0 ** math.floor(math.log10(span))
    return [(m * base * 10.0**e, m) for e in (-2, -1, 0) for m in (1, 2, 2.5, 5)]


def _ticks(low: float, high: float, fewest: int = 3, most: int = 4) -> tuple[list[float], int]:
    """Nice ticks inside ``[low, high]``, preferably ``fewest`` to ``most``; and their decimals."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return ([low] if math.isfinite(low) else []), 0
    best = None
    for step, mantissa in _steps(high - low):
        first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
        count = last - first + 1
        penalty = max(fewest - count, count - most, 0)
        key = (penalty, mantissa == 2.5, -count)
        if best is None or key < best[0]:
            best = (key, step, first, last)
    _, step, first, last = best
    return [round(k * step, 12) for k in range(first, last + 1)], _decimals(step)


def _zero_based_ticks(maximum: float) -> tuple[list[float], int]:
    """Ticks ``0, step, ..., top`` with ``top >= maximum``, three to five intervals."""
    if not math.isfinite(maximum) or maximum <= 0:
        maximum = 1.0
    best = None
    for step, mantissa in _steps(maximum):
        intervals = max(1, math.ceil(maximum / step - 1e-9))
        penalty = max(3 - intervals, intervals - 5, 0)
        key = (penalty, mantissa == 2.5, intervals * step)
        if best is None or key < best[0]:
            best = (key, step, intervals)
    _, step, intervals = best
    return [round(k * step, 12) for k in range(intervals + 1)], _decimals(step)


def _grid(n_panels: int, max_cols: int) -> tuple[int, int]:
    n_cols = max(1, min(max_cols, n_panels))
    return max(1, math.ceil(n_panels / n_cols)), n_cols


def _shorten(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"




# ---------------------------------------------------------------- importance bars


def importance_bars_svg(
    model_importance: pd.DataFrame,
    envelope_importance: pd.DataFrame,
    regions: Sequence[str],
    covariates: Sequence[str],
    *,
    salt: str = "importance",
) -> str:
    """Importance shares of one model against the observed envelope, per region.

    Small multiples, one panel per region on a common share axis: for each
    covariate a grey bar (observed centre) with the range over observation
    products as a whisker, and a blue bar (the model) with its bootstrap range.

    Parameters
    ----------
    model_importance : DataFrame
        The model's rows of ``RunResult.importances``
        (``region, covariate, share, share_low, share_high``).
    envelope_importance : DataFrame
        ``RunResult.envelope_importance`` (``region, covariate, centre, low, high``).
    regions, covariates : sequence of str
        Panels and bars, in display order.
    salt : str
        Unique per page, keeps SVG ids distinct.

    Returns
    -------
    str
        An ``<svg>`` element (a small "no data" one when there is nothing to draw).
    """
    regions, covariates = [str(r) for r in regions], [str(c) for c in covariates]
    title = "Importance shares of the model against the observed range, per region"
    if not regions or not covariates:
        return _no_data(salt, title)
    observed = _lookup(envelope_importance, ["centre", "low", "high"])
    modelled = _lookup(model_importance, ["share", "share_low", "share_high"])
    shown = [observed.get((r, c)) for r in regions for c in covariates] + \
            [modelled.get((r, c)) for r in regions for c in covariates]
    values = [v for row in shown if row is not None for v in row if math.isfinite(v)]
    if not values:
        return _no_data(salt, title)
    ticks, decimals = _zero_based_ticks(max(values))
    top = ticks[-1]

    labels = [_shorten(c, 24) for c in covariates]
    n_rows, n_cols = _grid(len(regions), 3)
    row_height, bar, panel_width = 28.0, 10.0, 250.0
    panel_height = row_height * len(covariates) + 4
    label_width = 14 + max(_text_width(label, 11) for label in labels)
    right = max(18.0, _text_width(_tick_text(top, decimals), 10) / 2 + 6)
    left, legend_height, title_height = label_width, 34.0, 24.0
    below, axis_label, gap_x, gap_y = 20.0, 18.0, 30.0, 12.0
    block = title_height + panel_height + below + gap_y
    legend = [
        (_bar_symbol(OBSERVED_COLOUR), "observed centre (range over products)"),
        (_bar_symbol(MODEL_COLOUR), "model (bootstrap range)"),
    ]
    width = left + n_cols * panel_width + (n_cols - 1) * gap_x + right
    width = max(width, _legend_width([label for _, label in legend]) + 8)
    height = legend_height + n_rows * block - gap_y + axis_label + 6
    body = _legend(legend, width / 2, 16)
    lowest_in_column: dict[int, float] = {}
    for index, region in enumerate(regions):
        row, col = divmod(index, n_cols)
        x0 = left + col * (panel_width + gap_x)
        y0 = legend_height + row * block + title_height
        lowest_in_column[col] = y0 + panel_height
        scale = panel_width / top
        parts = [_label(x0 + panel_width / 2, y0 - 8, _shorten(region, 34), anchor="middle", size=12,
                        weight="600", full=region)]
        for tick in ticks:
            x = x0 + tick * scale
            parts.append(_line(x, y0, x, y0 + panel_height, _GRID))
            parts.append(_line(x, y0 + panel_height, x, y0 + panel_height + 4, _AXIS))
            parts.append(_label(x, y0 + panel_height + 15, _tick_text(tick, decimals), anchor="middle",
                                size=10, fill=_MUTED))
        drawn = False
        for i, covariate in enumerate(covariates):
            centre_y = y0 + 2 + (i + 0.5) * row_height
            if col == 0:
                parts.append(_label(x0 - 8, centre_y + 4, labels[i], anchor="end", full=covariate))
            for row_values, colour, top_y, what in (
                (observed.get((region, covariate)), OBSERVED_COLOUR, centre_y - bar - 1, "observed"),
                (modelled.get((region, covariate)), MODEL_COLOUR, centre_y + 1, "model"),
            ):
                if row_values is not None:
                    bar_markup = _bar(x0, top_y, bar, scale, top, row_values, colour,
                                      f"{region} · {covariate}: {what}")
                    drawn = drawn or bool(bar_markup)
                    parts.append(bar_markup)
        if not drawn:
            parts.append(_label(x0 + panel_width / 2, y0 + panel_height / 2 + 4, "no data", anchor="middle",
                                fill=_MUTED))
        parts.append(_line(x0, y0, x0, y0 + panel_height, _AXIS))
        parts.append(_line(x0, y0 + panel_height, x0 + panel_width, y0 + panel_height, _AXIS))
        body.append(f'<g>{"".join(parts)}</g>')
    for col, bottom in sorted(lowest_in_column.items()):
        x0 = left + col * (panel_width + gap_x)
        body.append(_label(x0 + panel_width / 2, bottom + below + 12, "importance share", anchor="middle"))
    return _document(width, height, salt, title, body)


def _lookup(table: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], tuple[float, ...]]:
    """``(region, covariate) -> values of columns``, first row of each pair; NaN where a column is absent."""
    if table is None or table.empty or "region" not in table or "covariate" not in table:
        return {}
    arrays = [pd.to_numeric(table[c], errors="coerce").to_numpy(float) if c in table
              else np.full(len(table), np.nan) for c in columns]
    found: dict[tuple[str, str], tuple[float, ...]] = {}
    for key, values in zip(zip(table["region"].astype(str), table["covariate"].astype(str)), zip(*arrays)):
        found.setdefault(key, tuple(float(v) for v in values))
    return found


def _bar_symbol(colour: str) -> str:
    return (f'<rect x="0" y="-5" width="22" height="10" fill="{colour}"/>'
            + _line(3, 0, 19, 0, _WHISKER, 1.2) + _line(3, -3, 3, 3, _WHISKER, 1.2)
            + _line(19, -3, 19, 3, _WHISKER, 1.2))


def _bar(x0: float, top_y: float, height: float, scale: float, top: float, values: tuple[float, ...],
         colour: str, name: str) -> str:
    """One bar with its range whisker, with a tooltip; empty when nothing is finite."""
    centre, low, high = values
    parts = []
    if math.isfinite(centre):
        parts.append(f'<rect x="{_n(x0)}" y="{_n(top_y)}" width="{_n(max(centre, 0.0) * scale)}" '
                     f'height="{_n(height)}" fill="{colour}"/>')
    if math.isfinite(low) and math.isfinite(high):
        y = top_y + height / 2
        a, b = x0 + min(max(low, 0.0), top) * scale, x0 + min(max(high, 0.0), top) * scale
        parts.append(_line(a, y, b, y, _WHISKER, 1.2))
        parts.append(_line(a, y - 3, a, y + 3, _WHISKER, 1.2))
        parts.append(_line(b, y - 3, b, y + 3, _WHISKER, 1.2))
    if not parts:
        return ""
    value = f"{centre:.3f}" if math.isfinite(centre) else "n/a"
    span = f" (range {low:.3f}–{high:.3f})" if math.isfinite(low) and math.isfinite(high) else ""
    return f'<g><title>{_text(name + " " + value + span)}</title>{"".join(parts)}</g>'


# ---------------------------------------------------------------- response curves


def response_curves_svgs(
    model_response: pd.DataFrame,
    envelope_response: pd.DataFrame,
    regions: Sequence[str],
    covariates: Sequence[str],
    *,
    salt: str = "response",
) -> list[str]:
    """Response curves of one model, one SVG per region, one small panel per covariate.

    Each panel shows the observed envelope (grey band from ``low`` to
    ``high``), the observed centre (dashed), the model's bootstrap range
    (faint blue band) and the model (blue line) against the covariate's grid
    values. Panels of a region share the y axis; NaN values leave gaps.

    Parameters
    ----------
    model_response : DataFrame
        The model's rows of ``RunResult.responses`` (``region, covariate, x,
        value, value_low, value_high``).
    envelope_response : DataFrame
        ``RunResult.envelope_response`` (``region, covariate, x, centre, low, high``).
    regions : sequence of str
        Regions drawn, one SVG each.
    covariates : sequence of str
        Panels, in display order.
    salt : str
        Unique per page, keeps SVG ids distinct.

    Returns
    -------
    list of str
        One ``<svg>`` element per region, in the order of ``regions`` (a
        small "no data" one for a region without any curve).
    """
    covariates = [str(c) for c in covariates]
    model_curves = _curves(model_response, ["value", "value_low", "value_high"])
    envelope_curves = _curves(envelope_response, ["centre", "low", "high"])
    return [
        _response_figure(str(region), covariates, model_curves, envelope_curves, f"{salt}-{index}")
        for index, region in enumerate(regions)
    ]


def _curves(table: pd.DataFrame, columns: list[str]) -> dict[tuple[str, str], np.ndarray]:
    """``(region, covariate) -> array`` of rows ``x, *columns`` sorted by x (NaN where absent)."""
    if table is None or table.empty or not {"region", "covariate", "x"} <= set(table.columns):
        return {}
    data = np.column_stack([
        pd.to_numeric(table[c], errors="coerce").to_numpy(float) if c in table else np.full(len(table), np.nan)
        for c in ["x", *columns]
    ])
    keys = pd.DataFrame({"region": table["region"].astype(str).to_numpy(),
                         "covariate": table["covariate"].astype(str).to_numpy()})
    curves = {}
    for key, rows in keys.groupby(["region", "covariate"], sort=False).indices.items():
        block = data[rows]
        curves[key] = block[np.argsort(block[:, 0], kind="stable")]
    return curves


_PANEL_W, _PANEL_H = 250.0, 150.0
_RESPONSE_LEFT, _RESPONSE_RIGHT, _RESPONSE_TOP = 64.0, 16.0, 36.0
_RESPONSE_GAP_X, _RESPONSE_BELOW, _RESPONSE_GAP_Y = 26.0, 36.0, 16.0


def _response_figure(
    region: str, covariates: list[str], model_curves: dict, envelope_curves: dict, salt: str
) -> str:
    title = f"Response curves in {region}: centred ln SOC against each covariate"
    panels = [(c, model_curves.get((region, c)), envelope_curves.get((region, c))) for c in covariates]
    y_values = [curve[:, 1:].ravel() for _, *curves in panels for curve in curves if curve is not None]
    if not y_values or not np.isfinite(np.concatenate(y_values)).any():
        return _no_data(salt, title)
    y_low, y_high = _padded(np.concatenate(y_values))
    y_ticks, y_decimals = _ticks(y_low, y_high, 3, 5)

    n_rows, n_cols = _grid(len(covariates), 3)
    block = _PANEL_H + _RESPONSE_BELOW + _RESPONSE_GAP_Y
    width = _RESPONSE_LEFT + n_cols * _PANEL_W + (n_cols - 1) * _RESPONSE_GAP_X + _RESPONSE_RIGHT
    height = _RESPONSE_TOP + n_rows * block - _RESPONSE_GAP_Y + 4
    entries = [
        (f'<rect x="0" y="-6" width="22" height="12" fill="{OBSERVED_COLOUR}" fill-opacity="0.35"/>',
         "observed envelope"),
        (_line(0, 0, 22, 0, OBSERVED_LINE_COLOUR, 1.2, ' stroke-dasharray="4 3"'), "observed centre"),
        (_line(0, 0, 22, 0, MODEL_COLOUR, 2), "model"),
    ]
    if any(m is not None and np.isfinite(m[:, 2:]).any() for _, m, _ in panels):
        entries.append((f'<rect x="0" y="-6" width="22" height="12" fill="{MODEL_COLOUR}" fill-opacity="0.15"/>',
                        "model range"))
    width = max(width, _legend_width([label for _, label in entries]) + 8)
    body = _legend(entries, width / 2, 16)
    for row in range(n_rows):
        y0 = _RESPONSE_TOP + row * block
        body.append(_label(16, y0 + _PANEL_H / 2, "centred ln SOC", anchor="middle", rotate=True))
    for index, (covariate, model, envelope) in enumerate(panels):
        row, col = divmod(index, n_cols)
        x0 = _RESPONSE_LEFT + col * (_PANEL_W + _RESPONSE_GAP_X)
        y0 = _RESPONSE_TOP + row * block
        body.append(_response_panel(x0, y0, covariate, model, envelope, (y_low, y_high), y_ticks, y_decimals,
                                    first_column=col == 0))
    return _document(width, height, salt, title, body)


def _response_panel(
    x0: float, y0: float, covariate: str, model: np.ndarray | None, envelope: np.ndarray | None,
    y_limits: tuple[float, float], y_ticks: list[float], y_decimals: int, *, first_column: bool,
) -> str:
    empty = np.empty((0, 4))
    model = empty if model is None else model
    envelope = empty if envelope is None else envelope
    x_low, x_high = _padded(np.concatenate([envelope[:, 0], model[:, 0]]))
    y_low, y_high = y_limits
    x_scale, y_scale = _PANEL_W / (x_high - x_low), _PANEL_H / (y_high - y_low)
    bottom = y0 + _PANEL_H

    def sx(values: np.ndarray) -> np.ndarray:
        return x0 + (values - x_low) * x_scale

    def sy(values: np.ndarray) -> np.ndarray:
        return bottom - (values - y_low) * y_scale

    parts = [f"<title>{_text(covariate)}</title>"]
    for tick in y_ticks:
        y = float(sy(np.float64(tick)))
        parts.append(_line(x0, y, x0 + _PANEL_W, y, _ZERO if tick == 0 else _GRID, 0.8 if tick == 0 else 1))
        if first_column:
            parts.append(_line(x0 - 4, y, x0, y, _AXIS))
            parts.append(_label(x0 - 7, y + 3.5, _tick_text(tick, y_decimals), anchor="end", size=10,
                                fill=_MUTED))
    x_values = np.concatenate([envelope[:, 0], model[:, 0]])
    x_ticks, x_decimals = _ticks(*_data_range(x_values), 3, 4) if np.isfinite(x_values).any() else ([], 0)
    for tick in x_ticks:
        x = float(sx(np.float64(tick)))
        parts.append(_line(x, bottom, x, bottom + 4, _AXIS))
        parts.append(_label(x, bottom + 15, _tick_text(tick, x_decimals), anchor="middle", size=10, fill=_MUTED))

    ex, mx = sx(envelope[:, 0]), sx(model[:, 0])
    drawn = [
        _band(ex, sy(envelope[:, 2]), sy(envelope[:, 3]), f'fill="{OBSERVED_COLOUR}" fill-opacity="0.35"'),
        _band(mx, sy(model[:, 2]), sy(model[:, 3]), f'fill="{MODEL_COLOUR}" fill-opacity="0.15"'),
        _polyline(ex, sy(envelope[:, 1]), OBSERVED_LINE_COLOUR, 1.2, ' stroke-dasharray="4 3"'),
        _polyline(mx, sy(model[:, 1]), MODEL_COLOUR, 2),
    ]
    if any(drawn):
        parts.extend(drawn)
    else:
        parts.append(_label(x0 + _PANEL_W / 2, y0 + _PANEL_H / 2 + 4, "no data", anchor="middle", fill=_MUTED))
    parts.append(_line(x0, y0, x0, bottom, _AXIS))
    parts.append(_line(x0, bottom, x0 + _PANEL_W, bottom, _AXIS))
    parts.append(_label(x0 + _PANEL_W / 2, bottom + 31, _shorten(covariate, 34), anchor="middle", full=covariate))
    return f'<g>{"".join(parts)}</g>'


def _data_range(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else _padded(finite)


def _runs(*columns: np.ndarray) -> list[slice]:
    """Maximal runs of rows where every column is finite."""
    ok = np.logical_and.reduce([np.isfinite(c) for c in columns]) if columns[0].size else np.zeros(0, bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist()))


def _polyline(xs: np.ndarray, ys: np.ndarray, colour: str, width: float, extra: str = "") -> str:
    """A line through the points, broken where a value is NaN; lone points become dots."""
    paths, dots = [], []
    for run in _runs(xs, ys):
        if run.stop - run.start == 1:
            dots.append(f'<circle cx="{_n(xs[run.start])}" cy="{_n(ys[run.start])}" r="{width + 0.5:g}" '
                        f'fill="{colour}"/>')
        else:
            paths.append("M" + _points(xs[run], ys[run]).replace(" ", " L", 1))
    markup = "".join(dots)
    if paths:
        markup = (f'<path d="{" ".join(paths)}" fill="none" stroke="{colour}" stroke-width="{width:g}" '
                  f'stroke-linejoin="round" stroke-linecap="round"{extra}/>') + markup
    return markup


def _band(xs: np.ndarray, lows: np.ndarray, highs: np.ndarray, fill: str) -> str:
    """A filled band between two curves, broken where a value is NaN."""
    paths = []
    for run in _runs(xs, lows, highs):
        if run.stop - run.start < 2:
            continue
        outline = np.concatenate([xs[run], xs[run][::-1]]), np.concatenate([highs[run], lows[run][::-1]])
        paths.append("M" + _points(*outline).replace(" ", " L", 1) + "Z")
    return f'<path d="{" ".join(paths)}" {fill}/>' if paths else ""


def _padded(values: np.ndarray, fraction: float = 0.05) -> tuple[float, float]:
    """Axis limits around the finite ``values`` with a small margin."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    margin = (high - low) * fraction or max(abs(low) * fraction, 0.5)
    return low - margin, high + margin


# ---------------------------------------------------------------- difference map


def _png(fig: plt.Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def difference_map_png(difference: xr.DataArray, *, dpi: int = 110) -> bytes:
    """Map of model-minus-observation SOC with a symmetric diverging colour scale.

    Parameters
    ----------
    difference : DataArray
        Dims ``lat, lon`` on a regular grid, kg m-2. NaN cells are left
        transparent over a grey background.
    dpi : int
        Resolution of the PNG.

    Returns
    -------
    bytes
        PNG image.
    """
    values = np.ma.masked_invalid(difference.transpose("lat", "lon").to_numpy().astype(float))
    limit = symmetric_limit(values.compressed())
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(7.5, 3.8))
        ax.set_facecolor(MISSING_COLOUR)
        mesh = ax.pcolormesh(
            difference["lon"].to_numpy(), difference["lat"].to_numpy(), values,
            cmap=DIFFERENCE_CMAP, vmin=-limit, vmax=limit, shading="nearest",
        )
        exceeds = values.count() and float(np.abs(values).max()) > limit
        colourbar = fig.colorbar(mesh, ax=ax, extend="both" if exceeds else "neither", shrink=0.8)
        colourbar.set_label("model − observation SOC (kg m⁻²)")
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.set_aspect("equal")
        for side in ("top", "right"):
            ax.spines[side].set_visible(True)
        return _png(fig, dpi)


def symmetric_limit(values: np.ndarray, quantile: float = 0.98) -> float:
    """Colour limit ``L`` for a ``[-L, L]`` scale, robust to a few extreme cells.

    Parameters
    ----------
    values : ndarray
        Finite values.
    quantile : float
        Quantile of ``|values|`` used as the limit; beyond it the colour bar
        is extended.

    Returns
    -------
    float
        A strictly positive limit (1.0 when there is nothing to scale).
    """
    magnitudes = np.abs(np.asarray(values, dtype=float))
    magnitudes = magnitudes[np.isfinite(magnitudes)]
    if magnitudes.size == 0:
        return 1.0
    limit = float(np.quantile(magnitudes, quantile))
    return limit if limit > 0 else float(magnitudes.max()) or 1.0
