"""View data of a model page: where the model goes wrong, then one region at a time."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd

from socbench.results import METRICS, RunResult

from . import charts, drivers
from .cells import CellContext, change_row, column_values, score_cell
from .index_page import emulator_table
from .names import region_anchors
from .pagedata import ENVELOPE_KEY
from .tables import (
    DIAGNOSTICS,
    assessment_lookup,
    capped_lookup,
    covariate_info,
    covariate_label,
    display_regions,
    metric_meaning,
    metric_title,
    ranked_models,
    score_lookup,
    skipped_lookup,
)
from .values import fmt, text

N_WORST = 3


def model_context(result: RunResult, model: str, pages: dict[str, str], data_keys: dict[str, dict[str, str]],
                  changes: pd.DataFrame | None, baseline_series: str | None) -> dict[str, Any]:
    """Everything a model page shows.

    Parameters
    ----------
    pages : dict
        Model -> page file name.
    data_keys : dict
        ``{"model": {name: key}, "product": {name: key}, ...}``: keys of the data
        scripts (``data/<key>.js``).
    changes : DataFrame or None
        Score changes since the baseline (all models).
    baseline_series : str or None
        Series label of this model's baseline version, when the baseline has it.
    """
    regions = display_regions(result)
    anchors = region_anchors(regions)
    labels = covariate_labels(result)
    worst = worst_pairs(result, model)
    products = product_series(result)
    series = [model, *products.values()]
    colours = charts.series_colours(series)
    curve_regions = [r for r in regions if ((result.responses["dataset"] == model) & (result.responses["region"] == r)).any()]
    return {
        "title": f"socbench: {model}",
        "model": model,
        "stem": pages[model].removesuffix(".html"),
        "neighbours": _neighbours(result, model, pages),
        "scores": _score_rows(result, model, regions, anchors, changes),
        "components": [{"key": m, "title": metric_title(m), "meaning": metric_meaning(m)} for m in list(METRICS)],
        "diagnostics": _diagnostic_rows(result, model, regions),
        "diagnostic_meanings": [(metric_title(d), metric_meaning(d)) for d in DIAGNOSTICS
                                if (result.scores["metric"] == d).any()],
        "worst": [dict(pair, chart=charts.response_chart(pair["covariate"], pair["label"], colours,
                                                         region=pair["region"])) for pair in worst],
        "opposite": drivers.opposite_signs(result, model),
        "drivers": drivers.driver_table(result, model, regions),
        "regions": [{"name": r, "anchor": anchors[r]} for r in curve_regions],
        "importance_chart": charts.importance_chart(labels, colours),
        "response_charts": [{"covariate": c, "label": labels[c], "chart": charts.response_chart(c, labels[c], colours)}
                            for c in labels],
        "series": [{"label": s, "checked": s == model} for s in series],
        "data_keys": [data_keys["model"][model], *data_keys["product"].values(), ENVELOPE_KEY],
        "emulators": emulator_table(result.emulators[result.emulators["dataset"] == model], regions),
        "changes": _model_changes(changes, model) if changes is not None else None,
        "compare_href": (f"../compare.html#a={quote(baseline_series, safe='')}&b={quote(model, safe='')}"
                         if baseline_series else None),
    }


def covariate_labels(result: RunResult) -> dict[str, str]:
    """Covariate -> axis label with description and units, in definition order."""
    info = covariate_info(result)
    found = list(result.importances["covariate"]) + list(result.responses["covariate"])
    names = list(dict.fromkeys([*result.covariates, *[text(c) for c in found]]))
    return {name: covariate_label(name, info) for name in names if name}


def product_series(result: RunResult) -> dict[str, str]:
    """Observation product -> its series label (suffixed when a model has the same name)."""
    table = result.importances
    names = list(dict.fromkeys(table.loc[table["kind"] == "observation", "dataset"]))
    models = set(result.models)
    return {name: (f"{name} (product)" if name in models else name) for name in names}


def worst_pairs(result: RunResult, model: str, n: int = N_WORST) -> list[dict[str, Any]]:
    """The (region, driver) pairs that add most to the model's scored shape and sensitivity distances, worst first.

    See :func:`socbench.report.drivers.worst_pairs`; each pair also carries
    its axis ``label`` and ``cost_text``.
    """
    labels = covariate_labels(result)
    return [{**pair, "label": labels.get(pair["covariate"], pair["covariate"]), "cost_text": fmt(pair["cost"], digits=3)}
            for pair in drivers.worst_pairs(result, model, n)]


def _score_rows(result: RunResult, model: str, regions: list[str], anchors: dict[str, str],
                changes: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One row per region (portrait: fits a phone), one column per score."""
    from .baseline import change_lookup

    scores = score_lookup(result.scores, "model")
    withheld = assessment_lookup(result)
    context = CellContext(scores=scores, withheld=withheld,
                          changes=change_lookup(changes) if changes is not None else {},
                          columns=column_values(scores, result.models, withheld), skipped=skipped_lookup(result),
                          capped=capped_lookup(result), notes=drivers.largest_sensitivity_notes(result))
    return [{"region": region, "anchor": anchors[region],
             "cells": [score_cell(context, model, region, metric, tip_id=f"tip-{i}-{j}")
                       for j, metric in enumerate(list(METRICS))]}
            for i, region in enumerate(regions)]


def _diagnostic_rows(result: RunResult, model: str, regions: list[str]) -> dict[str, Any]:
    scores = score_lookup(result.scores, "model")
    shown = [d for d in DIAGNOSTICS if (result.scores["metric"] == d).any()]
    digits = {"overall_components": 0}
    return {"columns": [metric_title(d) for d in shown],
            "rows": [{"region": region,
                      "cells": [fmt(scores.get((model, region, d)), digits=digits.get(d, 3)) for d in shown]}
                     for region in regions]}


def _neighbours(result: RunResult, model: str, pages: dict[str, str]) -> dict[str, Any]:
    ranked = ranked_models(result)
    position = ranked.index(model)
    previous = ranked[position - 1] if position > 0 else None
    following = ranked[position + 1] if position + 1 < len(ranked) else None
    return {"rank": position + 1, "count": len(ranked),
            "previous": {"name": previous, "href": pages[previous]} if previous else None,
            "next": {"name": following, "href": pages[following]} if following else None}


def _model_changes(changes: pd.DataFrame, model: str) -> list[dict[str, str]]:
    return [change_row(row) for row in changes[changes["model"] == model].itertuples(index=False)]
