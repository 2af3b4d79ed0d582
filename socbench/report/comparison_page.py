"""View data of the comparison page: two models, or two versions of one, side by side.

The reader picks the two series (any model of this run or of the baseline)
on the page; the scores table and the charts follow without reloading.
"""

from __future__ import annotations

from typing import Any

from socbench.results import METRICS, RunResult

from . import charts
from .baseline import Baseline
from .model_page import covariate_labels
from .pagedata import ENVELOPE_KEY
from .tables import CAPPED, assessment_lookup, display_regions, metric_title, ranked_models, reason_text
from .values import rounded

BASELINE_SUFFIX = " (baseline)"


def baseline_series(model: str) -> str:
    """Series label of a model's baseline version."""
    return f"{model}{BASELINE_SUFFIX}"


def comparison_context(result: RunResult, baseline: Baseline | None,
                       data_keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Everything ``compare.html`` shows."""
    models = ranked_models(result)
    regions = display_regions(result)
    shown_metrics = list(METRICS)
    options = [{"value": m, "group": "This run"} for m in models]
    versions = [m for m in (baseline.models if baseline is not None else [])]
    options += [{"value": baseline_series(m), "group": f"Baseline ({baseline.label})"} for m in versions]
    first, second = _default_pair(models, versions)
    labels = covariate_labels(result)
    return {
        "title": f"socbench: compare models and versions ({result.name})",
        "options": options,
        "groups": list(dict.fromkeys(o["group"] for o in options)),
        "default_a": first,
        "default_b": second,
        "scores": {
            "regions": regions,
            "metrics": [{"key": m, "title": metric_title(m)} for m in shown_metrics],
            "values": _score_values(result, baseline, shown_metrics),
        },
        "importance_chart": charts.importance_chart(labels, None, compare=True),
        "response_charts": [{"covariate": c, "label": labels[c], "chart": charts.response_chart(c, labels[c], None,
                                                                                                 compare=True)}
                            for c in labels],
        "regions": regions,
        "data_keys": [*data_keys["model"].values(), *data_keys.get("baseline", {}).values(), ENVELOPE_KEY],
    }


def _default_pair(models: list[str], versions: list[str]) -> tuple[str, str]:
    """A model's baseline version against the model, else the two best models."""
    for model in models:
        if model in versions:
            return baseline_series(model), model
    if len(models) > 1:
        return models[0], models[1]
    return (models[0], models[0]) if models else ("", "")


def _score_values(result: RunResult, baseline: Baseline | None, shown: list[str]) -> dict[str, Any]:
    """``{series: {region: {metric: [value, reason, capped]}}}``.

    ``reason`` is "" unless the score is withheld; ``capped`` is "" unless the
    score is set to 0, below the null reference's (then it says why).
    """
    values: dict[str, Any] = {}
    withheld = assessment_lookup(result)
    capped = assessment_lookup(result, CAPPED)
    tables = [(result.scores, "")]
    if baseline is not None:
        tables.append((baseline.scores, BASELINE_SUFFIX))
    for table, suffix in tables:
        rows = table[table["metric"].isin(shown)]
        for model, region, metric, value in rows[["model", "region", "metric", "value"]].itertuples(index=False,
                                                                                                   name=None):
            code = withheld.get((model, region, metric)) if not suffix else None
            cap = capped.get((model, region, metric)) if not suffix else None
            reason = reason_text(code) if code else ""
            values.setdefault(f"{model}{suffix}", {}).setdefault(region, {})[metric] = [
                rounded(value), reason, f"Capped: {reason_text(cap, sentence=False)}." if cap else ""]
    return values
