"""CMEC bundles in the vocabulary of the CMIP7 Rapid Evaluation Framework (climate-ref).

``scores.json`` (metric bundle) and ``output.json`` (output bundle) are
written by ``socbench run`` and by the climate-ref provider
(:mod:`socbench.ref`) alike, so that any CMEC consumer reads socbench's
results without the REF.

The metric bundle nests values by :data:`STRUCTURE`: the model's facets
(``source_id``, ``experiment_id``, ``member_id``, ``grid_label``), ``kind``
(``model``: scored against the observational envelope, whose
``reference_source_id`` is :data:`ENVELOPE`; ``reference``: an observation
product scored alike, the observational ceiling), then ``region``, ``metric``
(a score component) and ``statistic`` (``score`` in [0, 1], or a raw
diagnostic such as ``distance``). A withheld score is ``null``; the reasons
are in the ``attributes`` of its ``(region, metric)`` entry. CMEC requires
every value of a dimension at every level above ``statistic``, so
combinations without values are empty objects.

This module has no climate-ref dependency: socbench supports Python 3.10.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from socbench import __version__
from socbench.results import METRICS
from socbench.score import METRIC_MEANINGS, REASONS

from .tables import GLOBAL_REGION
from .values import is_number, jsonable, text

#: Dimensions of the metric bundle, outermost first (the REF's controlled vocabulary).
MODEL_FACETS = ("source_id", "experiment_id", "member_id", "grid_label")
STRUCTURE = [*MODEL_FACETS, "kind", "reference_source_id", "region", "metric", "statistic"]
#: ``reference_source_id`` of model scores: the envelope of every observation product.
ENVELOPE = "observational-envelope"
#: socbench metrics that are a statistic of another metric: name -> (metric, statistic).
METRIC_STATISTICS = {
    "overall_components": ("overall", "n_components"),
    "importance_distance": ("importance", "distance"),
    "response_distance": ("response", "distance"),
    "sensitivity_distance": ("sensitivity", "distance"),
    "explained_variance_distance": ("explained_variance", "distance"),
    "importance_kendall_tau": ("importance", "kendall_tau"),
    "model_cv_r2": ("emulator", "cv_r2"),
}
STATISTIC_MEANINGS = {
    "score": "Score in [0, 1], higher is better; null where withheld (reason in the attributes).",
    "n_components": "How many components the overall score rests on.",
    "distance": "Raw distance from the observational envelope's centre (lower is better).",
    "kendall_tau": "Weighted Kendall tau between the model's and the observed driver rankings (1 same order).",
    "cv_r2": "Spatial-block cross-validated R^2 of the dataset's own emulator.",
}
_CMOR_NAME = re.compile(
    r"^(?P<variable>[^_]+)_(?P<table>[^_]+)_(?P<source_id>[^_]+)_(?P<experiment_id>[^_]+)_"
    r"(?P<member_id>[^_]+)_(?P<grid_label>[^_.]+)(?:_[0-9-]+(?:-clim)?)?\.nc$"
)
UNKNOWN = "unknown"


@dataclass(frozen=True)
class ModelFacets:
    """What identifies a model's dataset in CMIP: source, experiment, member and grid."""

    source_id: str
    experiment_id: str
    member_id: str
    grid_label: str

    def key(self) -> tuple[str, str, str, str]:
        return (self.source_id, self.experiment_id, self.member_id, self.grid_label)


def facets_from_files(name: str, files: Iterable[str], target: str, experiment: str = UNKNOWN) -> ModelFacets:
    """A model's facets from the CMOR names of its ``target`` files.

    Several members (``member: mean``) are joined with ``+``; files not named
    as CMOR writes them give ``source_id=name`` and ``unknown`` facets.
    """
    found = [m.groupdict() for m in (_CMOR_NAME.match(Path(f).name) for f in files) if m]
    found = [f for f in found if f["variable"] == target] or found
    if not found:
        return ModelFacets(name, experiment, UNKNOWN, UNKNOWN)

    def joined(facet: str) -> str:
        return "+".join(sorted({f[facet] for f in found}))

    return ModelFacets(name, joined("experiment_id"), joined("member_id"), joined("grid_label"))


def split_metric(metric: str) -> tuple[str, str]:
    """socbench metric name -> (REF ``metric``, REF ``statistic``)."""
    return METRIC_STATISTICS.get(metric, (metric, "score"))


@dataclass
class ScoreTables:
    """What the metric bundle is made of, from a run or read back from a scorecard's CSVs.

    Attributes
    ----------
    scores : DataFrame
        ``model, region, metric, value``.
    assessments : DataFrame
        ``model, region, metric, status, reason``.
    ceiling : DataFrame
        ``product, region, metric, value``.
    regions : dict
        Region -> description (``n_cells``, ``status``), in display order.
    products : list of str
        The observation products of the envelope.
    """

    scores: pd.DataFrame
    assessments: pd.DataFrame
    ceiling: pd.DataFrame
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: list[str] = field(default_factory=list)


def _value(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def _withheld(assessments: pd.DataFrame) -> dict[tuple[str, str, str], dict[str, str]]:
    """(model, region, metric) -> attributes of every component not scored."""
    attributes = {}
    for row in assessments.itertuples(index=False):
        if text(row.status) in ("", "scored"):
            continue
        code = text(row.reason)
        attributes[(str(row.model), str(row.region), str(row.metric))] = {
            "status": text(row.status), "reason": code, "explanation": REASONS.get(code, code.replace("_", " ")),
        }
    return attributes


def _leaves(tables: ScoreTables, facets: Mapping[str, ModelFacets]) -> tuple[dict[tuple, float | None], dict[tuple, dict]]:
    values: dict[tuple, float | None] = {}
    attributes: dict[tuple, dict] = {}
    withheld = _withheld(tables.assessments)
    for row in tables.scores.itertuples(index=False):
        if str(row.model) not in facets:
            continue
        metric, statistic = split_metric(str(row.metric))
        prefix = (*facets[str(row.model)].key(), "model", ENVELOPE, str(row.region), metric)
        values[(*prefix, statistic)] = _value(row.value)
        reason = withheld.get((str(row.model), str(row.region), str(row.metric)))
        if reason is not None:
            attributes[prefix] = reason
    for model in facets.values():
        for row in tables.ceiling.itertuples(index=False):
            metric, statistic = split_metric(str(row.metric))
            values[(*model.key(), "reference", str(row.product), str(row.region), metric, statistic)] = _value(row.value)
    return values, attributes


def _ordered(keys: Iterable[tuple], level: int, first: Iterable[str] = ()) -> list[str]:
    return list(dict.fromkeys([*first, *(key[level] for key in keys)]))


def _nest(levels: list[list[str]], values: dict, attributes: dict, prefix: tuple = ()) -> dict[str, Any]:
    """Every combination of the levels' values down to the last, which holds only the values present."""
    depth = len(prefix)
    if depth == len(levels) - 1:
        leaf: dict[str, Any] = {s: values[(*prefix, s)] for s in levels[-1] if (*prefix, s) in values}
        if prefix in attributes:
            leaf["attributes"] = attributes[prefix]
        return leaf
    return {value: _nest(levels, values, attributes, (*prefix, value)) for value in levels[depth]}


def _dimension_values(name: str, values: list[str], tables: ScoreTables) -> dict[str, dict[str, Any]]:
    if name == "region":
        return {region: dict(tables.regions.get(region, {})) for region in values}
    if name == "metric":
        return {m: {"description": METRIC_MEANINGS.get(m, "") or m.replace("_", " ")} for m in values}
    if name == "statistic":
        return {s: {"description": STATISTIC_MEANINGS.get(s, s.replace("_", " "))} for s in values}
    if name == "reference_source_id":
        return {
            v: {"description": "every observation product of the benchmark (its envelope)", "products": tables.products}
            if v == ENVELOPE else {"description": "observation product scored as a model is (observational ceiling)"}
            for v in values
        }
    return {value: {} for value in values}


def metric_bundle(tables: ScoreTables, facets: Mapping[str, ModelFacets], provenance: dict | None = None) -> dict[str, Any]:
    """The CMEC metric bundle of ``tables`` for the models in ``facets`` (model name -> facets).

    Returns
    -------
    dict
        ``DIMENSIONS`` (``json_structure`` = :data:`STRUCTURE`), ``RESULTS``
        and ``PROVENANCE``, plain JSON (NaN as null).
    """
    values, attributes = _leaves(tables, facets)
    first = {"region": list(tables.regions), "metric": [split_metric(m)[0] for m in METRICS], "kind": ["model"]}
    levels = [_ordered(values, i, first.get(name, ())) for i, name in enumerate(STRUCTURE)]
    if not values:  # nothing scored: CMEC wants an empty structure
        dimensions: dict[str, Any] = {"json_structure": []}
        results: dict[str, Any] = {}
    else:
        dimensions = {"json_structure": list(STRUCTURE)}
        dimensions.update({name: _dimension_values(name, levels[i], tables) for i, name in enumerate(STRUCTURE)})
        results = _nest(levels, values, attributes)
    return jsonable({
        "SCHEMA": {"name": "CMEC", "version": "v1", "package": "socbench"},
        "DIMENSIONS": dimensions,
        "RESULTS": results,
        "PROVENANCE": provenance or {},
    })


def _read_csv(path: Path) -> pd.DataFrame:
    from .files import restore_formula_text

    table = pd.read_csv(path, keep_default_na=False, na_values=["", "NaN", "nan"])
    for column in table.columns:
        if table[column].dtype == object:
            table[column] = table[column].map(restore_formula_text)
    return table


def tables_from_directory(directory: Path) -> ScoreTables:
    """The score tables of a scorecard directory, read back from its CSVs (they round-trip exactly)."""
    scores = _read_csv(directory / "scores.csv")
    assessments = _read_csv(directory / "assessments.csv")
    ceiling = _read_csv(directory / "ceiling.csv")
    region_table = _read_csv(directory / "regions.csv")
    present = set(scores["region"].astype(str)) | set(ceiling["region"].astype(str))
    regions = {
        str(row.region): {"n_cells": int(row.n_cells) if is_number(row.n_cells) else None, "status": text(row.status)}
        for row in region_table.itertuples(index=False) if str(row.region) in present
    }
    regions.update({region: {} for region in sorted(present - set(regions))})
    products = [p.strip() for cell in region_table["products"] for p in text(cell).split(",") if p.strip()]
    return ScoreTables(scores, assessments, ceiling, _global_first(regions), list(dict.fromkeys(products)))


def _global_first(regions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    if GLOBAL_REGION not in regions:
        return regions
    return {GLOBAL_REGION: regions[GLOBAL_REGION], **{k: v for k, v in regions.items() if k != GLOBAL_REGION}}


def facets_from_provenance(provenance: Mapping[str, Any], models: Iterable[str]) -> dict[str, ModelFacets]:
    """Each model's facets from the files ``provenance.json`` says it read."""
    files = provenance.get("model_files", {})
    target = provenance.get("target_variable", "")
    return {name: facets_from_files(name, files.get(name, []), target) for name in models}


# ---------------------------------------------------------------- output bundle

_SECTION_OF_SUFFIX = {".html": "html", ".png": "plots", ".svg": "plots"}
_DESCRIPTIONS = {
    "index.html": "Scorecard: scores of every model per region and component, with the observational ceiling.",
    "compare.html": "Side-by-side comparison of two models' drivers and responses.",
    "scores.csv": "Scores: model, region, metric, value (NaN where withheld).",
    "scores.json": "CMEC metric bundle of the scores.",
    "ceiling.csv": "Observational ceiling: each product scored as a model is.",
    "assessments.csv": "Per model, region and component: scored or withheld, with the reason.",
    "importances.csv": "Driver importance shares of every dataset and region.",
    "responses.csv": "Response curves of every dataset, region and driver.",
    "provenance.json": "Versions, definition hash, input checksums and seeds.",
}


def output_bundle(directory: Path, prefix: str = "", log: str = "", modeldata: Iterable[str] = (),
                  obsdata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A CMEC output bundle listing every file of a scorecard directory.

    Parameters
    ----------
    directory : Path
        The scorecard directory.
    prefix : str
        Prepended to each file name (the scorecard's path relative to the
        bundle's own directory, e.g. ``"socbench/"``).
    log : str
        The execution's log file, relative to the bundle's directory.
    modeldata, obsdata
        The model files read, and the observation products with what describes them.
    """
    sections: dict[str, dict[str, dict[str, str]]] = {"html": {}, "plots": {}, "data": {}}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith(".")):
        relative = path.relative_to(directory).as_posix()
        if relative == "output.json":
            continue
        section = _SECTION_OF_SUFFIX.get(path.suffix, "data")
        sections[section][prefix + relative] = {
            "filename": prefix + relative,
            "long_name": relative,
            "description": _DESCRIPTIONS.get(relative, _described(relative)),
        }
    return {
        "index": prefix + "index.html",
        "provenance": {
            "environment": {"socbench_version": __version__, "SOCBENCH_CACHE": os.environ.get("SOCBENCH_CACHE")},
            "modeldata": sorted(modeldata),
            "obsdata": dict(obsdata or {}),
            "log": log,
        },
        **sections,
    }


def _described(relative: str) -> str:
    if relative.startswith(("assets/", "data/")):
        return "Scorecard asset (style, script or chart data) needed to display the pages."
    if relative.startswith("models/"):
        return "Model page, or the data behind its figures."
    return f"Scorecard table {Path(relative).name}."
