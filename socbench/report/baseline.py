"""A previous run to compare with: its scores and, when available, its explanations."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from socbench.errors import InputDataError
from .files import restore_formula_text
from socbench.results import IMPORTANCE_COLUMNS, RESPONSE_COLUMNS, SCORE_COLUMNS, RunResult

CHANGE_COLUMNS = ["model", "region", "metric", "baseline", "new", "delta"]


@dataclass
class Baseline:
    """Scores (and optionally importances and responses) of an earlier run.

    Attributes
    ----------
    label : str
        How pages name it (the directory or file it came from).
    scores : DataFrame
        ``model, region, metric, value``.
    importances, responses : DataFrame
        Empty when the baseline is a bare ``scores.csv``.
    provenance : dict
    """

    label: str
    scores: pd.DataFrame
    importances: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=IMPORTANCE_COLUMNS))
    responses: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RESPONSE_COLUMNS))
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.scores["model"]))


def load_baseline(source: str | os.PathLike[str] | Baseline | RunResult) -> Baseline:
    """Read a baseline: a scorecard directory, a ``scores.csv``, or an in-memory result.

    Raises
    ------
    InputDataError
        The path does not exist or its scores table lacks the expected columns.
    """
    if isinstance(source, Baseline):
        return source
    if isinstance(source, RunResult):
        return Baseline(f"run {source.name}", source.scores, source.importances, source.responses, source.provenance)
    path = Path(source)
    if path.is_dir():
        return Baseline(
            label=path.name or str(path),
            scores=_read_csv(path / "scores.csv", SCORE_COLUMNS, required=True),
            importances=_read_csv(path / "importances.csv", IMPORTANCE_COLUMNS, required=False),
            responses=_read_csv(path / "responses.csv", RESPONSE_COLUMNS, required=False),
            provenance=_read_provenance(path / "provenance.json"),
        )
    return Baseline(label=path.name, scores=_read_csv(path, SCORE_COLUMNS, required=True))


def _read_csv(path: Path, columns: list[str], required: bool) -> pd.DataFrame:
    if not path.is_file():
        if required:
            raise InputDataError("baseline scores not found: give a scorecard directory or its scores.csv",
                                 path=str(path))
        return pd.DataFrame(columns=columns)
    try:
        table = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputDataError(f"cannot read the baseline table ({type(exc).__name__}); expected a CSV file",
                             path=str(path)) from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputDataError(f"baseline table lacks the column(s) {', '.join(missing)}; expected "
                             f"{', '.join(columns)} (a socbench scores.csv)", path=str(path))
    table["value" if "value" in columns else columns[-1]] = pd.to_numeric(
        table["value" if "value" in columns else columns[-1]], errors="coerce")
    for column in ("model", "region", "metric", "dataset", "covariate"):
        if column in table.columns:
            table[column] = table[column].astype(str).map(restore_formula_text)
    return table[columns + [c for c in table.columns if c not in columns]]


def _read_provenance(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def definition_mismatch(baseline: Baseline, definition) -> str | None:
    """Why ``baseline``'s scores may not be comparable with a run of ``definition`` (one line), None if they are.

    Compares the hash of the sections that shape the scores (everything but
    ``models``, name, description and data_root; ``definition_scoring_sha256``
    of ``provenance.json``), else, for older scorecards, the whole definition's
    hash. A bare ``scores.csv`` has no provenance and cannot be checked.
    """
    from socbench.reference import SECTIONS

    provenance = baseline.provenance
    for key, current in (("definition_scoring_sha256", definition.section_hash(*SECTIONS)),
                         ("definition_sha256", definition.section_hash())):
        stored = provenance.get(key)
        if stored is None:
            continue
        if stored == current:
            return None
        name = provenance.get("definition_name", "?")
        return (f"baseline {baseline.label} was run with another benchmark definition ({name!r}, {key} "
                f"{str(stored)[:12]}... vs {current[:12]}... now): its score changes mix definition and model "
                "changes; compare runs of one definition")
    return None


def score_changes(scores: pd.DataFrame, baseline: Baseline, metrics: list[str]) -> pd.DataFrame:
    """Change of every (model, region, metric) score present in both runs, regressions first.

    Returns
    -------
    DataFrame
        ``model, region, metric, baseline, new, delta`` sorted by ``delta``
        ascending (largest drop first); pairs where either side is missing
        have ``delta`` NaN and come last.
    """
    keys = ["model", "region", "metric"]
    new = scores[scores["metric"].isin(metrics)][keys + ["value"]].rename(columns={"value": "new"})
    old = baseline.scores[baseline.scores["metric"].isin(metrics)][keys + ["value"]]
    old = old.drop_duplicates(keys).rename(columns={"value": "baseline"})
    table = new.merge(old, on=keys, how="inner")
    table["delta"] = table["new"].astype(float) - table["baseline"].astype(float)
    return table.sort_values("delta", na_position="last", kind="stable")[CHANGE_COLUMNS].reset_index(drop=True)


def change_lookup(changes: pd.DataFrame) -> dict[tuple[str, str, str], tuple[float, float]]:
    """``{(model, region, metric): (baseline, delta)}``."""
    return {(m, r, k): (b, d) for m, r, k, b, d in
            changes[["model", "region", "metric", "baseline", "delta"]].itertuples(index=False, name=None)}

