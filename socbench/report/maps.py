"""The model-minus-observation map, drawn with matplotlib as a PNG file.

A map of ten thousand grid cells is much lighter as an image than as chart
marks; its numbers are in the page's caption and the model's CSV files.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

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
        try:
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
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
            return buffer.getvalue()
        finally:
            plt.close(fig)


def difference_summary(difference: xr.DataArray) -> dict[str, float | int | None]:
    """Mean and mean absolute difference weighted by the run's cell weights, and the cell count.

    The weights are the run's own (cell area x reference land fraction, the
    ``weight`` coordinate the pipeline attaches), the same that weight every
    score, so a coastal cell counts here as it counts in the stocks.
    """
    values = difference.transpose("lat", "lon").to_numpy().astype(float)
    if "weight" not in difference.coords:
        raise ValueError("difference map without the run's cell weights (coordinate 'weight')")
    weights = difference.coords["weight"].transpose("lat", "lon").to_numpy().astype(float)
    finite = np.isfinite(values) & (weights > 0)
    total = weights[finite].sum()
    if total <= 0:
        return {"mean": None, "mean_abs": None, "n_cells": int(finite.sum())}
    return {
        "mean": float((values[finite] * weights[finite]).sum() / total),
        "mean_abs": float((np.abs(values[finite]) * weights[finite]).sum() / total),
        "n_cells": int(finite.sum()),
    }


def symmetric_limit(values: np.ndarray, quantile: float = 0.98) -> float:
    """Colour limit ``L`` for a ``[-L, L]`` scale, robust to a few extreme cells.

    Returns
    -------
    float
        The ``quantile`` of ``|values|``; strictly positive (1.0 when there
        is nothing to scale).
    """
    magnitudes = np.abs(np.asarray(values, dtype=float))
    magnitudes = magnitudes[np.isfinite(magnitudes)]
    if magnitudes.size == 0:
        return 1.0
    limit = float(np.quantile(magnitudes, quantile))
    return limit if limit > 0 else float(magnitudes.max()) or 1.0
