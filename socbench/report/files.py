"""Machine-readable outputs: tidy CSVs, the CMEC metric bundle and provenance.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from socbench.results import (
    ASSESSMENT_COLUMNS,
    CEILING_COLUMNS,
    DRIVER_COLUMNS,
    EMULATOR_COLUMNS,
    ENVELOPE_IMPORTANCE_COLUMNS,
    ENVELOPE_RESPONSE_COLUMNS,
    FAILURE_COLUMNS,
    METRICS,
    NULL_COLUMNS,
    PRODUCT_FLAG_COLUMNS,
    REGION_COLUMNS,
    RESPONSE_COLUMNS,
    SCORE_COLUMNS,
    SKIPPED_COLUMNS,
    STOCK_COLUMNS,
    RunResult,
)

from .tables import region_statuses
from .values import jsonable, text

#: Column order of ``importances.csv``.
IMPORTANCE_CSV_COLUMNS = ["dataset", "region", "covariate", "share", "share_low", "share_high", "kind"]
#: The tables of a run written as ``<name>.csv``, in this order, with their columns.
_CSV_COLUMNS = dict(
    scores=SCORE_COLUMNS, ceiling=CEILING_COLUMNS, importances=IMPORTANCE_CSV_COLUMNS, responses=RESPONSE_COLUMNS,
    envelope_importance=ENVELOPE_IMPORTANCE_COLUMNS, envelope_response=ENVELOPE_RESPONSE_COLUMNS,
    emulators=EMULATOR_COLUMNS, drivers=DRIVER_COLUMNS, regions=REGION_COLUMNS, failures=FAILURE_COLUMNS,
    assessments=ASSESSMENT_COLUMNS,
    nulls=NULL_COLUMNS, product_flags=PRODUCT_FLAG_COLUMNS, stocks=STOCK_COLUMNS, skipped=SKIPPED_COLUMNS,
)
#: A spreadsheet evaluates a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_tables(result: RunResult, directory: Path) -> None:
    """The run's tidy tables as CSV files in ``directory``."""
    for name, columns in _CSV_COLUMNS.items():
        table = _regions_with_status(result) if name == "regions" else getattr(result, name)
        write_csv(table.reindex(columns=columns), directory / f"{name}.csv")


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write ``table`` with text cells made safe for spreadsheets; floats round-trip exactly."""
    # float_format=None writes the shortest repr, which round-trips exactly.
    neutralise_formulas(table).to_csv(path, index=False, float_format=None)


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'``.

    Only text is changed: a negative number stays a number. socbench reads
    such a name back (a baseline ``scores.csv``) with the prefix removed.
    """
    safe = table.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(_neutralise)
    return safe


def _neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def restore_formula_text(value: Any) -> Any:
    """Undo :func:`neutralise_formulas` on one cell read back from a CSV."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES):
        return value[1:]
    return value


def _regions_with_status(result: RunResult) -> pd.DataFrame:
    table = result.regions.reindex(columns=REGION_COLUMNS).copy()
    statuses = region_statuses(result)
    table["status"] = [statuses.get(region, text(status)) for region, status in zip(table["region"], table["status"])]
    return table


def write_json(path: Path, payload: Any) -> None:
    text_ = json.dumps(jsonable(payload), indent=2, allow_nan=False, ensure_ascii=False)
    path.write_text(text_ + "\n", encoding="utf-8")
