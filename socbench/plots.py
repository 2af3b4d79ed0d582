"""Figures for the report: pure functions from tables and arrays to SVG or PNG.

Nothing here reads or writes files. Each function builds one matplotlib
figure, serialises it and closes it, so memory stays flat however many
model pages are rendered. Text from the data (region and covariate names) is
drawn with math parsing off, so a stray ``$`` cannot break a figure, and it is
XML-escaped by matplotlib's SVG writer.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

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
    "svg.fonttype": "none",  # real <text>, not glyph paths: smaller, searchable
    "text.parse_math": False,
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.dpi": 100,
}


def _svg(fig: plt.Figure, salt: str, close: bool = True) -> str:
    """Serialise ``fig`` to an inline ``<svg>`` element (and close it).

    ``salt`` makes the clip-path ids unique within a page and reproducible
    between runs (matplotlib otherwise salts them with a random uuid).
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    if close:
        plt.close(fig)
    text = buffer.getvalue()
    return _prefix_group_ids(text[text.index("<svg") :], salt)


def _prefix_group_ids(svg: str, salt: str) -> str:
    # matplotlib names groups "figure_1", "axes_1", ... in every figure; inline
    # in one page those would be duplicate HTML ids. Nothing refers to them.
    prefix = re.sub(r"[^A-Za-z0-9_-]", "_", salt)
    return re.sub(r'<g id="([A-Za-z][A-Za-z0-9.]*_\d+)"', lambda m: f'<g id="{prefix}-{m[1]}"', svg)


def _png(fig: plt.Figure, dpi: int) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _grid(n_panels: int, max_cols: int) -> tuple[int, int]:
    n_cols = max(1, min(max_cols, n_panels))
    return max(1, math.ceil(n_panels / n_cols)), n_cols


def _panel_figure(
    n_rows: int, n_cols: int, panel: tuple[float, float], margins: tuple[float, float, float, float],
    gaps: tuple[float, float], **subplot_kw,
) -> tuple[plt.Figure, np.ndarray]:
    """A grid of equal panels with margins and gaps fixed in inches.

    Fixed geometry instead of ``tight_layout``/``bbox_inches="tight"``: each
    of those draws the whole figure once more, which triples the rendering
    time of a page of small multiples.

    Parameters
    ----------
    panel : (width, height)
        Size of one panel.
    margins : (left, right, bottom, top)
        Figure margins.
    gaps : (horizontal, vertical)
        Space between panels.
    """
    left, right, bottom, top = margins
    gap_x, gap_y = gaps
    width = left + right + n_cols * panel[0] + (n_cols - 1) * gap_x
    height = bottom + top + n_rows * panel[1] + (n_rows - 1) * gap_y
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False, **subplot_kw)
    fig.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
        wspace=gap_x / panel[0], hspace=gap_y / panel[1],
    )
    return fig, axes


def _shorten(label: str, width: int) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


def _hide_unused(axes: np.ndarray, n_used: int) -> None:
    for ax in axes.flat[n_used:]:
        ax.set_visible(False)


def importance_bars_svg(
    model_importance: pd.DataFrame,
    envelope_importance: pd.DataFrame,
    regions: Sequence[str],
    covariates: Sequence[str],
    *,
    salt: str = "importance",
) -> str:
    """Importance shares of one model against the observed envelope, per region.

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
        An ``<svg>`` element.
    """
    n_rows, n_cols = _grid(len(regions), 3)
    bar_positions = np.arange(len(covariates))
    height = 0.38
    label_width = 0.3 + 0.055 * max((len(_shorten(c, 24)) for c in covariates), default=4)
    with plt.rc_context(_STYLE):
        fig, axes = _panel_figure(
            n_rows, n_cols, panel=(2.4, 0.3 * len(covariates) + 0.3),
            margins=(label_width, 0.2, 0.45, 0.6), gaps=(0.25, 0.55), sharex=True, sharey=True,
        )
        for ax, region in zip(axes.flat, regions):
            observed = _rows_for(envelope_importance, region, covariates)
            modelled = _rows_for(model_importance, region, covariates)
            _bars_with_range(ax, bar_positions - height / 2, height, observed["centre"], observed["low"],
                             observed["high"], OBSERVED_COLOUR, "observed (range over products)")
            _bars_with_range(ax, bar_positions + height / 2, height, modelled["share"], modelled["share_low"],
                             modelled["share_high"], MODEL_COLOUR, "model (bootstrap range)")
            ax.set_title(_shorten(region, 34))
            ax.set_yticks(bar_positions, [_shorten(c, 24) for c in covariates])
            ax.invert_yaxis()
            ax.set_xlim(0, None)
            ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
            ax.set_axisbelow(True)
        for ax in axes[-1]:
            ax.set_xlabel("importance share")
        _hide_unused(axes, len(regions))
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", ncol=2, frameon=False)
        return _svg(fig, salt)


def _bars_with_range(
    ax: plt.Axes, positions: np.ndarray, height: float, centre: pd.Series, low: pd.Series, high: pd.Series,
    colour: str, label: str,
) -> None:
    # hlines rather than barh(xerr=...): errorbar artists are several times slower to draw.
    ax.barh(positions, centre.fillna(0).to_numpy(float), height, color=colour, label=label)
    ax.hlines(positions, low.to_numpy(float), high.to_numpy(float), color="black", linewidth=1)


def _rows_for(table: pd.DataFrame, region: str, covariates: Sequence[str]) -> pd.DataFrame:
    """One row per covariate (in order) of ``table`` for ``region``; NaN where absent."""
    rows = table[table["region"] == region].drop_duplicates("covariate").set_index("covariate")
    return rows.reindex(list(covariates))


def response_curves_svgs(
    model_response: pd.DataFrame,
    envelope_response: pd.DataFrame,
    regions: Sequence[str],
    covariates: Sequence[str],
    *,
    salt: str = "response",
) -> list[str]:
    """Response curves of one model, one SVG per region, one small panel per covariate.

    One figure is drawn once and its data swapped region by region: creating
    axes and ticks costs more than drawing them, and a model page has tens of
    panels.

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
        One ``<svg>`` element per region, in the order of ``regions``.
    """
    n_rows, n_cols = _grid(len(covariates), 3)
    model_groups = dict(list(model_response.groupby(["region", "covariate"], sort=False)))
    envelope_groups = dict(list(envelope_response.groupby(["region", "covariate"], sort=False)))
    svgs = []
    with plt.rc_context(_STYLE):
        fig, axes = _panel_figure(
            n_rows, n_cols, panel=(2.1, 1.5), margins=(0.6, 0.15, 0.45, 0.35), gaps=(0.2, 0.55), sharey=True,
        )
        panels = [_ResponsePanel(ax, covariate) for ax, covariate in zip(axes.flat, covariates)]
        for ax in axes[:, 0]:
            ax.set_ylabel("centred ln SOC")
        _hide_unused(axes, len(covariates))
        fig.legend(*panels[0].legend_entries(), loc="upper center", ncol=3, frameon=False)
        for index, region in enumerate(regions):
            y_ranges = [
                panel.show(model_groups.get((region, panel.covariate)), envelope_groups.get((region, panel.covariate)))
                for panel in panels
            ]
            axes.flat[0].set_ylim(*_padded(np.concatenate(y_ranges)))
            svgs.append(_svg(fig, f"{salt}-{index}", close=False))
        plt.close(fig)
    return svgs


class _ResponsePanel:
    """The artists of one covariate panel, whose data can be replaced."""

    def __init__(self, ax: plt.Axes, covariate: str):
        self.ax = ax
        self.covariate = covariate
        self.bands: list = []
        self.centre_line = ax.plot([], [], color=OBSERVED_LINE_COLOUR, linestyle="--", linewidth=1,
                                   label="observed centre")[0]
        self.model_line = ax.plot([], [], color=MODEL_COLOUR, linewidth=1.6, label="model")[0]
        ax.axhline(0, color="#bfbfbf", linewidth=0.5, zorder=0)
        ax.set_xlabel(_shorten(covariate, 30))
        ax.locator_params(nbins=4)

    def legend_entries(self) -> tuple[list, list[str]]:
        band = plt.Rectangle((0, 0), 1, 1, color=OBSERVED_COLOUR, alpha=0.35, linewidth=0)
        return [band, self.centre_line, self.model_line], ["observed envelope", "observed centre", "model"]

    def show(self, model: pd.DataFrame | None, envelope: pd.DataFrame | None) -> np.ndarray:
        """Draw one region's curves; return the y values drawn (for common limits)."""
        model = _sorted_by_x(model, ["value", "value_low", "value_high"])
        envelope = _sorted_by_x(envelope, ["centre", "low", "high"])
        for band in self.bands:
            band.remove()
        self.bands = [
            self.ax.fill_between(envelope["x"], envelope["low"], envelope["high"], color=OBSERVED_COLOUR,
                                 alpha=0.35, linewidth=0),
            self.ax.fill_between(model["x"], model["value_low"], model["value_high"], color=MODEL_COLOUR,
                                 alpha=0.15, linewidth=0),
        ]
        self.centre_line.set_data(envelope["x"], envelope["centre"])
        self.model_line.set_data(model["x"], model["value"])
        self.ax.set_xlim(*_padded(np.concatenate([envelope["x"], model["x"]])))
        return np.concatenate([envelope[["centre", "low", "high"]].to_numpy(float).ravel(),
                               model[["value", "value_low", "value_high"]].to_numpy(float).ravel()])


def _sorted_by_x(table: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in ["x", *columns]})
    return table.sort_values("x")[["x", *columns]].astype(float)


def _padded(values: np.ndarray, fraction: float = 0.05) -> tuple[float, float]:
    """Axis limits around the finite ``values`` with a small margin."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    margin = (high - low) * fraction or max(abs(low) * fraction, 0.5)
    return low - margin, high + margin


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
