"""Write every file of a scorecard into a (staging) directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from socbench.changes import TOLERANCE
from socbench.results import METRICS, RESPONSE_COLUMNS, RunResult

from .baseline import Baseline, score_changes
from .comparison_page import baseline_series, comparison_context
from .cmec import ModelFacets, facets_from_provenance, metric_bundle, output_bundle, tables_from_directory
from .files import IMPORTANCE_CSV_COLUMNS, write_csv, write_json, write_tables
from .index_page import index_context
from .maps import difference_map_png, difference_summary
from .model_page import covariate_labels, model_context, product_series
from .names import page_names, unique_stems
from .pagedata import ENVELOPE_KEY, data_script, dataset_payload, envelope_payload
from .render import render, write_assets
from .tables import benchmark_description, product_chart_flags, run_info
from .values import fmt


def write_scorecard(result: RunResult, directory: Path, baseline: Baseline | None) -> None:
    """Pages, assets, chart data and tables of ``result`` in ``directory`` (which exists and is empty)."""
    pages = page_names(result.models)
    keys = data_keys(result, baseline)
    changes = score_changes(result.scores, baseline, list(METRICS)) if baseline is not None else None
    has_compare = len(result.models) > 1 or (baseline is not None and bool(result.models))
    common = {"name": result.name, "status": result.status, "run": run_info(result),
              "description": benchmark_description(result), "has_compare": has_compare,
              "baseline_label": baseline.label if baseline is not None else None}
    write_assets(directory, with_charts=bool(result.models))
    _write_data(result, directory / "data", keys, baseline)
    models_dir = directory / "models"
    models_dir.mkdir()
    versions = set(baseline.models) if baseline is not None else set()
    for model, file_name in pages.items():
        stem = file_name.removesuffix(".html")
        context = model_context(result, model, pages, keys, changes,
                                baseline_series(model) if model in versions else None)
        context["files"] = _write_model_files(result, model, stem, models_dir)
        config = _chart_config(context, data=context["data_keys"],
                               hidden=[s["label"] for s in context["series"] if not s["checked"]])
        render("model.html", models_dir / file_name, root="../", page="model", config=config, **common, **context)
    if has_compare:
        context = comparison_context(result, baseline, keys)
        config = _chart_config(context, data=context["data_keys"], hidden=[])
        config["compare"] = {"a": context["default_a"], "b": context["default_b"], "scores": context["scores"],
                             "tolerance": TOLERANCE}
        render("compare.html", directory / "compare.html", root="", page="compare", config=config,
               **common, **context)
    render("index.html", directory / "index.html", root="", page="index", config={},
           **common, **index_context(result, pages, changes, baseline))
    write_tables(result, directory)
    if changes is not None:
        write_csv(changes, directory / "changes.csv")
    write_json(directory / "provenance.json", result.provenance)
    write_cmec_bundles(directory, facets_from_provenance(result.provenance, result.models), result.provenance)


def write_cmec_bundles(directory: Path, facets: dict[str, ModelFacets], provenance: dict[str, Any],
                       prefix: str = "", log: str = "", obsdata: dict[str, Any] | None = None) -> None:
    """``scores.json`` (metric bundle, from the directory's CSVs) and ``output.json`` (every file) of a scorecard."""
    tables = tables_from_directory(directory)
    write_json(directory / "scores.json", metric_bundle(tables, facets, provenance))
    modeldata = [f for files in provenance.get("model_files", {}).values() for f in files]
    obsdata = obsdata if obsdata is not None else {p: {} for p in tables.products}
    write_json(directory / "output.json", output_bundle(directory, prefix, log, modeldata, obsdata))


def data_keys(result: RunResult, baseline: Baseline | None) -> dict[str, dict[str, str]]:
    """Keys (and file stems) of the data scripts: one per model, product and baseline version."""
    products = list(product_series(result))
    keys = {
        "model": {m: f"model-{s}" for m, s in unique_stems(result.models).items()},
        "product": {p: f"product-{s}" for p, s in unique_stems(products).items()},
        "baseline": {},
    }
    if baseline is not None and not baseline.importances.empty:
        keys["baseline"] = {m: f"baseline-{s}" for m, s in unique_stems(baseline.models).items()}
    return keys


def _write_data(result: RunResult, directory: Path, keys: dict[str, dict[str, str]],
                baseline: Baseline | None) -> None:
    directory.mkdir()
    labels = covariate_labels(result)
    scripts = {ENVELOPE_KEY: envelope_payload(result.envelope_importance, result.envelope_response, labels)}
    series = product_series(result)
    flags = product_chart_flags(result)
    for name, key in keys["product"].items():
        scripts[key] = _payload(result.importances, result.responses, name, series[name], "observation", labels,
                                flags.get(name))
    for name, key in keys["model"].items():
        scripts[key] = _payload(result.importances, result.responses, name, name, "model", labels)
    for name, key in keys["baseline"].items():
        scripts[key] = _payload(baseline.importances, baseline.responses, name, baseline_series(name), "baseline",
                                labels)
    for key, payload in scripts.items():
        (directory / f"{key}.js").write_text(data_script(key, payload), encoding="utf-8")


def _payload(importances: pd.DataFrame, responses: pd.DataFrame, name: str, series: str, kind: str,
             labels: dict[str, str], flags: dict[str, str] | None = None) -> dict[str, Any]:
    return dataset_payload(series, kind, importances[importances["dataset"] == name],
                           responses[responses["dataset"] == name], labels, flags)


def _write_model_files(result: RunResult, model: str, stem: str, directory: Path) -> dict[str, Any]:
    """The CSVs behind a model page's figures, and its difference map."""
    files: dict[str, Any] = {"importances": f"{stem}-importances.csv", "responses": f"{stem}-responses.csv"}
    write_csv(result.importances[result.importances["dataset"] == model].reindex(columns=IMPORTANCE_CSV_COLUMNS),
              directory / files["importances"])
    write_csv(result.responses[result.responses["dataset"] == model].reindex(columns=RESPONSE_COLUMNS),
              directory / files["responses"])
    difference = result.difference_maps.get(model)
    files["difference"] = None
    if difference is not None:
        png = f"{stem}-difference.png"
        (directory / png).write_bytes(difference_map_png(difference))
        summary = difference_summary(difference)
        files["difference"] = {"src": png, "mean": fmt(summary["mean"]), "mean_abs": fmt(summary["mean_abs"]),
                               "n_cells": summary["n_cells"]}
    return files


def _chart_config(context: dict[str, Any], data: list[str], hidden: list[str]) -> dict[str, Any]:
    """Give every chart of ``context`` an element id; collect the specs for the page script."""
    charts = []
    holders = [*context.get("worst", []), *context.get("response_charts", [])]
    if "importance_chart" in context:
        context["importance_chart"] = {"chart": context["importance_chart"]}
        holders.insert(len(context.get("worst", [])), context["importance_chart"])
    for number, holder in enumerate(holders):
        holder["chart_id"] = f"chart-{number}"
        charts.append({"id": holder["chart_id"], "spec": holder.pop("chart")})
    return {"data": data, "charts": charts, "hidden": hidden}
