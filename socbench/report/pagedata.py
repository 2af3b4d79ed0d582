"""Chart data shipped beside the pages as small scripts in ``data/``.

Pages opened from disk cannot ``fetch`` files (browsers treat ``file://``
as opaque origins), but they can load scripts. Each data script registers
one dataset group under ``window.socbenchData[key]``; a page lists the keys
it needs and ``assets/scorecard.js`` expands the compact column/row form
into the records that the Vega-Lite specs of :mod:`socbench.report.charts`
read. Shared data (the observational envelope and the products' curves) is
written once, not into every model page.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from .values import jsonable, rounded, text

IMPORTANCE_FIELDS = ["series", "kind", "flag", "region", "covariate", "label", "share", "low", "high", "raw_low",
                     "raw_high"]
RESPONSE_FIELDS = ["series", "kind", "flag", "region", "covariate", "x", "y", "low", "high", "raw_low", "raw_high"]
ENVELOPE_IMPORTANCE_FIELDS = ["region", "covariate", "label", "centre", "low", "high"]
ENVELOPE_RESPONSE_FIELDS = ["region", "covariate", "x", "centre", "low", "high"]
ENVELOPE_KEY = "envelope"


def recentred(point: float, low: float, high: float, floor: float | None = None) -> tuple[float, float]:
    """The 5-95 % range of the bootstrap replicates, shifted to centre on the point estimate.

    The replicates refit the emulator on resampled cells, so their percentiles
    need not contain the estimate fitted on all cells; the width of their range
    is the uncertainty they measure. ``floor`` clips the lower end (0 for shares).
    """
    if not (np.isfinite(point) and np.isfinite(low) and np.isfinite(high)):
        return point, point
    half = abs(high - low) / 2
    lower = point - half if floor is None else max(point - half, floor)
    return lower, point + half


def dataset_payload(series: str, kind: str, importances: pd.DataFrame, responses: pd.DataFrame,
                    labels: dict[str, str], flags: dict[str, str] | None = None) -> dict[str, Any]:
    """Importance and response rows of one dataset (a model, a product or a baseline version).

    ``flags`` maps a region to why the product is flagged there (e.g.
    ``"outlier: not in the envelope"``); the charts draw flagged rows dashed
    and grey, and the values tables name the flag.
    """
    flags = flags or {}
    importance_rows = []
    for row in importances.itertuples(index=False):
        share, raw_low, raw_high = (float(v) for v in (row.share, row.share_low, row.share_high))
        low, high = recentred(share, raw_low, raw_high, floor=0.0)
        importance_rows.append([series, kind, flags.get(text(row.region), ""), text(row.region), text(row.covariate),
                                labels.get(text(row.covariate), text(row.covariate)),
                                *_numbers(share, low, high, raw_low, raw_high)])
    response_rows = []
    for row in responses.itertuples(index=False):
        value, raw_low, raw_high = (float(v) for v in (row.value, row.value_low, row.value_high))
        low, high = recentred(value, raw_low, raw_high)
        response_rows.append([series, kind, flags.get(text(row.region), ""), text(row.region), text(row.covariate),
                              *_numbers(row.x, value, low, high, raw_low, raw_high)])
    return {"importance": _table(IMPORTANCE_FIELDS, importance_rows),
            "response": _table(RESPONSE_FIELDS, response_rows)}


def envelope_payload(envelope_importance: pd.DataFrame, envelope_response: pd.DataFrame,
                     labels: dict[str, str]) -> dict[str, Any]:
    """The observational envelope of every region."""
    importance_rows = [
        [text(r.region), text(r.covariate), labels.get(text(r.covariate), text(r.covariate)),
         *_numbers(r.centre, r.low, r.high)]
        for r in envelope_importance.itertuples(index=False)
    ]
    response_rows = [
        [text(r.region), text(r.covariate), *_numbers(r.x, r.centre, r.low, r.high)]
        for r in envelope_response.itertuples(index=False)
    ]
    return {"envelope_importance": _table(ENVELOPE_IMPORTANCE_FIELDS, importance_rows),
            "envelope_response": _table(ENVELOPE_RESPONSE_FIELDS, response_rows)}


def data_script(key: str, payload: dict[str, Any]) -> str:
    """A script registering ``payload`` as ``window.socbenchData[key]``.

    The JSON is ASCII-only, so no untrusted name can end the script or
    smuggle line separators into it.
    """
    body = json.dumps(jsonable(payload), ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    name = json.dumps(str(key), ensure_ascii=True)
    return f"window.socbenchData=window.socbenchData||{{}};window.socbenchData[{name}]={body};\n"


def _numbers(*values: Any) -> list[float | None]:
    return [rounded(v) for v in values]


def _table(columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"columns": columns, "rows": rows}
