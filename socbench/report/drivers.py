"""Per-driver findings from the ``drivers`` table: shape, sensitivity and where a model goes wrong.

Everything here reads the numbers that scoring computed (``RunResult.drivers``:
the shape correlation and the sensitivity ratio of each driver against the
observed consensus, and the products' own range of ratios), so the sentences
on the pages say exactly what the ``response`` and ``sensitivity`` scores
judged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from socbench.metrics import FLAT_RAMP, ratio_terms
from socbench.results import DRIVER_COLUMNS, RunResult
from socbench.score import OPPOSITE_SIGN

from .tables import assessment_lookup
from .values import is_number, text, truthy

#: Below this amplitude ratio a model's response is nearly flat: the sign of its correlation with the
#: observed curve is then noise, so the pages do not call it a response of the opposite sign (the
#: ratio below which the scores count a curve as flat).
FLAT_RATIO = FLAT_RAMP[0]


def signed(value: float, digits: int = 2) -> str:
    """A number with a typographic minus sign."""
    return f"{value:.{digits}f}".replace("-", "−")


def ratio_text(ratio: float) -> str:
    """An amplitude ratio for readers: ``4.8``, ``1.1``, ``0.35``, ``12``."""
    if not is_number(ratio):
        return "–"
    if ratio >= 10:
        return f"{ratio:.0f}"
    return f"{ratio:.1f}" if ratio >= 0.95 else f"{ratio:.2g}"


def sensitivity_text(row: Any) -> str:
    """``"rh sensitivity 4.8× observed (products 0.9–1.1×)"``."""
    observed = ""
    if is_number(row.observed_ratio_low) and is_number(row.observed_ratio_high):
        observed = f" (products {ratio_text(row.observed_ratio_low)}–{ratio_text(row.observed_ratio_high)}×)"
    return f"{text(row.covariate)} sensitivity {ratio_text(row.sensitivity_ratio)}× observed{observed}"


def shape_text(row: Any) -> str:
    """What the shape correlation says, e.g. ``"SOC responds with the opposite sign to the observations' (r = −0.93)"``."""
    r = float(row.shape_correlation)
    if _flat(row):
        return (f"its response is nearly flat ({ratio_text(row.sensitivity_ratio)}× the observed amplitude), "
                f"so its shape (r = {signed(r)}) means little")
    if r < OPPOSITE_SIGN:
        return f"SOC responds with the opposite sign to the observations' (r = {signed(r)})"
    if r < 0.5:
        return f"its response has a different shape from the observations' (r = {signed(r)})"
    return f"its response has the observed shape (r = {signed(r)})"


def opposite_sign_text(row: Any) -> str:
    """``"precipitation: SOC responds with the opposite sign to the observations' (r = −0.93)"``."""
    return f"{text(row.covariate)}: {shape_text(row)}"


def model_drivers(result: RunResult, model: str) -> pd.DataFrame:
    """The judged drivers of ``model``, with the share each carries of its region's scored distances.

    Columns of :data:`socbench.results.DRIVER_COLUMNS` plus ``shape_distance``
    (the driver's term of ``response_distance``: normalised observed share x
    (1 - r) / 2), ``sensitivity_distance`` (its term of
    ``sensitivity_distance``: normalised observed share x (1 - min(ratio, 1/ratio)),
    as scored), ``shape_scored`` and ``sensitivity_scored`` (False where the
    component is withheld for the model there).
    """
    table = result.drivers.reindex(columns=DRIVER_COLUMNS)
    table = table[(table["dataset"] == model) & (table["kind"] == "model")]
    table = table[np.array([truthy(v) for v in table["judged"]], bool)].copy()
    withheld = assessment_lookup(result)
    weight = table["observed_share"].astype(float).clip(lower=0.0)
    total = weight.groupby(table["region"]).transform("sum")
    weight = (weight / total.where(total > 0)).fillna(0.0)
    table["shape_distance"] = weight * (1.0 - table["shape_correlation"].astype(float)) / 2.0
    table["sensitivity_distance"] = weight * ratio_terms(table["sensitivity_ratio"].astype(float).to_numpy())
    table["shape_scored"] = [(model, r, "response") not in withheld for r in table["region"]]
    table["sensitivity_scored"] = [(model, r, "sensitivity") not in withheld for r in table["region"]]
    return table


def worst_pairs(result: RunResult, model: str, n: int) -> list[dict[str, Any]]:
    """The (region, driver) pairs that add most to the model's scored shape and sensitivity distances, worst first.

    Cost of a pair = its term of the region's response (shape) distance plus
    its term of the sensitivity distance, each counted only where that
    component is scored for the model. Pairs that cost nothing are left out.
    """
    table = model_drivers(result, model)
    rows = []
    for row in table.itertuples(index=False):
        shape = float(row.shape_distance) if row.shape_scored else 0.0
        sensitivity = float(row.sensitivity_distance) if row.sensitivity_scored else 0.0
        cost = np.nan_to_num(shape) + np.nan_to_num(sensitivity)
        if not (row.shape_scored or row.sensitivity_scored) or cost <= 0:
            continue
        parts = [shape_text(row)] if row.shape_scored else []
        parts += [sensitivity_text(row)] if row.sensitivity_scored else []
        parts.append(f"share of the explanation {float(row.share):.2f} (observed {float(row.observed_share):.2f})")
        rows.append({"region": text(row.region), "covariate": text(row.covariate), "cost": float(cost),
                     "shape_cost": shape, "sensitivity_cost": sensitivity,
                     "shape_correlation": float(row.shape_correlation),
                     "sensitivity_ratio": float(row.sensitivity_ratio),
                     "explanation": "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + "."})
    rows.sort(key=lambda r: -r["cost"])
    return rows[:n]


def opposite_signs(result: RunResult, model: str) -> list[dict[str, str]]:
    """Judged drivers whose response has the opposite sign to the observations' (r below OPPOSITE_SIGN)."""
    table = model_drivers(result, model)
    return [{"region": text(row.region), "covariate": text(row.covariate), "text": opposite_sign_text(row)}
            for row in table.itertuples(index=False)
            if row.shape_scored and float(row.shape_correlation) < OPPOSITE_SIGN and not _flat(row)]


def _flat(row: Any) -> bool:
    return is_number(row.sensitivity_ratio) and float(row.sensitivity_ratio) < FLAT_RATIO


def driver_table(result: RunResult, model: str, regions: list[str]) -> list[dict[str, Any]]:
    """One row per judged driver and region: share, shape correlation and sensitivity against the products' range."""
    table = model_drivers(result, model)
    order = {region: i for i, region in enumerate(regions)}
    rows = sorted(table.itertuples(index=False), key=lambda r: order.get(r.region, len(order)))
    return [{"region": text(row.region), "covariate": text(row.covariate),
             "share": f"{float(row.share):.2f} ({float(row.observed_share):.2f})",
             "shape": signed(float(row.shape_correlation)) + _shape_note(row),
             "shape_scored": bool(row.shape_scored),
             "sensitivity": sensitivity_text(row), "sensitivity_scored": bool(row.sensitivity_scored)}
            for row in rows]


def _shape_note(row: Any) -> str:
    if _flat(row):
        return " (nearly flat)"
    return " (opposite sign)" if float(row.shape_correlation) < OPPOSITE_SIGN else ""


def largest_sensitivity_notes(result: RunResult) -> dict[tuple[str, str, str], str]:
    """``{(model, region, "sensitivity"): "Largest ratio: rh sensitivity 4.8× observed (products 0.9–1.1×)."}``.

    The judged driver whose amplitude ratio is farthest from 1 (in ln units),
    for the scorecard's sensitivity cells.
    """
    table = result.drivers.reindex(columns=DRIVER_COLUMNS)
    table = table[(table["kind"] == "model").to_numpy() & np.array([truthy(v) for v in table["judged"]], bool)]
    table = table[np.array([is_number(v) and v > 0 for v in table["sensitivity_ratio"]], bool)]
    notes = {}
    for (model, region), group in table.groupby(["dataset", "region"], sort=False):
        row = group.iloc[int(np.argmax(np.abs(np.log(group["sensitivity_ratio"].astype(float)))))]
        notes[(model, region, "sensitivity")] = f"Largest ratio: {sensitivity_text(row)}."
    return notes
