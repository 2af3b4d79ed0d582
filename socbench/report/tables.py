"""Read the tidy tables of a :class:`~socbench.results.RunResult` for the pages.

This is the only module of the report that knows the result contract
(docs: the "Result contract" of the scoring rework). Tables added by that
rework (``assessments``, ``nulls``, ``product_flags``, ``stocks``) are read
with :func:`optional_table`, so a result without them still renders.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pandas as pd

from socbench import __version__, results
from socbench.results import REGION_COLUMNS, RunResult

from .values import is_number, text, unique

GLOBAL_REGION = "global"

ASSESSMENT_COLUMNS = ["model", "region", "metric", "status", "reason"]
NULL_COLUMNS = ["reference", "region", "metric", "value"]
PRODUCT_FLAG_COLUMNS = ["product", "region", "flag", "detail"]
STOCK_COLUMNS = ["dataset", "kind", "region", "stock_pg", "area_km2"]

#: The components of the result contract, in display order; used until socbench.results has them.
CONTRACT_COMPONENTS = (
    "importance", "response", "explained_variance", "total_stock", "ilamb_bias", "spatial_distribution",
)
#: Diagnostics shown beside the scores on a model page (not scores: lower or signed values).
DIAGNOSTICS = ("importance_distance", "response_distance", "importance_kendall_tau", "overall_components",
               "model_cv_r2")

METRIC_TITLES = {
    "overall": "Overall",
    "importance": "Driver importance",
    "response": "Response shape",
    "explained_variance": "Explained variance",
    "total_stock": "Total stock",
    "stock_bias": "Stock bias",
    "ilamb_bias": "ILAMB bias",
    "spatial_distribution": "Spatial distribution",
    "importance_distance": "Importance distance",
    "response_distance": "Response distance",
    "importance_kendall_tau": "Importance rank correlation (Kendall τ)",
    "overall_components": "Components in overall",
    "model_cv_r2": "Model emulator CV R²",
}

# Fallbacks for socbench.score.METRIC_MEANINGS / REASONS (the scoring rework adds them).
_METRIC_MEANINGS = {
    "overall": "Weighted mean of the assessable component scores (weights from the benchmark definition).",
    "importance": "Do the same drivers matter? The model's normalised driver shares against the products'.",
    "response": "Does SOC respond to each driver with the right shape? Response curves against the products'.",
    "explained_variance": "Do the drivers explain as much of the SOC pattern? Model CV R² against the products' spread.",
    "total_stock": "The region's total SOC stock against the products' stocks.",
    "stock_bias": "ILAMB-comparable bias score of the region's stock.",
    "ilamb_bias": "ILAMB's per-cell relative bias score (Collier et al. 2018).",
    "spatial_distribution": "Taylor score against the products' mean, relative to the products' own agreement.",
    "importance_distance": (
        "Total-variation distance between the model's and the observed driver shares "
        "(0 = same shares, 1 = disjoint); the importance score discounts the products' own distance."
    ),
    "response_distance": (
        "Importance-weighted relative L2 distance between the model's and the observed response curves "
        "(0 = same curves); the response score discounts the products' own distance."
    ),
    "importance_kendall_tau": "Weighted Kendall rank correlation of model and observed driver shares (-1..1).",
    "overall_components": "How many components the overall score rests on.",
    "model_cv_r2": "Spatial block cross-validated R² of the model's emulator.",
}
_REASONS = {
    "model_emulator_unreliable": "The model's emulator explains too little of its SOC here (CV R² below the minimum).",
    "products_unreliable": "The observation products' emulators explain too little here (CV R² below the minimum).",
    "products_cannot_discriminate": (
        "The observation products disagree so much that a null reference would score near the ceiling."
    ),
    "no_observations": "No observation product covers this region.",
}


def _score_module_constant(name: str, fallback: dict[str, str]) -> dict[str, str]:
    from socbench import score

    return {**fallback, **getattr(score, name, {})}


def metric_meaning(metric: str) -> str:
    """One sentence saying what ``metric`` measures."""
    return _score_module_constant("METRIC_MEANINGS", _METRIC_MEANINGS).get(metric, "")


def reason_text(code: str) -> str:
    """The human-readable sentence of a withheld-score reason code."""
    code = text(code)
    return _score_module_constant("REASONS", _REASONS).get(code, code.replace("_", " ") or "Not assessed.")


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())


def optional_table(result: RunResult, name: str, columns: list[str]) -> pd.DataFrame:
    """``result.<name>`` with ``columns`` (empty when the result predates the table)."""
    table = getattr(result, name, None)
    if not isinstance(table, pd.DataFrame):
        table = pd.DataFrame(columns=columns)
    return table.reindex(columns=columns)


def components(result: RunResult) -> list[str]:
    """Score components in display order (those the run has, or all of them for an empty run)."""
    known = unique(list(results.COMPONENTS) + list(CONTRACT_COMPONENTS))
    present = set(result.scores["metric"]) | set(result.ceiling["metric"])
    shown = [m for m in known if m in present]
    return shown or [m for m in results.COMPONENTS]


def metrics(result: RunResult) -> list[str]:
    """``overall`` then the components."""
    return ["overall", *components(result)]


def display_regions(result: RunResult) -> list[str]:
    """Regions in display order: ``"global"`` first, then as in ``result.regions``.

    Regions with scores but no row in ``result.regions`` come last; regions
    merged into others or absent (no scores at all) are left out of the score
    tables (the regions table still lists them with their status).
    """
    scored = set(result.scores["region"]) | set(result.ceiling["region"])
    assessed = set(optional_table(result, "assessments", ASSESSMENT_COLUMNS)["region"])
    listed = [r for r in result.region_names if r in scored | assessed or result.scores.empty]
    listed += list(result.scores["region"]) + list(result.ceiling["region"])
    ordered = unique(listed)
    if GLOBAL_REGION in ordered:
        ordered.remove(GLOBAL_REGION)
        ordered.insert(0, GLOBAL_REGION)
    return ordered


def score_lookup(table: pd.DataFrame, key: str) -> dict[tuple[str, str, str], float]:
    """``{(model or product, region, metric): value}``."""
    rows = table.reindex(columns=[key, "region", "metric", "value"]).itertuples(index=False, name=None)
    return {(name, region, metric): value for name, region, metric, value in rows}


def assessment_lookup(result: RunResult) -> dict[tuple[str, str, str], str]:
    """``{(model, region, metric): reason code}`` of every withheld score."""
    table = optional_table(result, "assessments", ASSESSMENT_COLUMNS)
    withheld = table[table["status"].astype(str) == "withheld"]
    return {(m, r, k): text(reason) or "withheld" for m, r, k, reason in
            withheld[["model", "region", "metric", "reason"]].itertuples(index=False, name=None)}


def ranked_models(result: RunResult) -> list[str]:
    """Models by global (else first region's) overall score, best first; unscored last, stable."""
    regions = display_regions(result)
    lookup = score_lookup(result.scores, "model")
    region = regions[0] if regions else GLOBAL_REGION

    def key(model: str) -> float:
        value = lookup.get((model, region, "overall"))
        return -float(value) if is_number(value) else float("inf")

    return sorted(result.models, key=key)


def region_statuses(result: RunResult) -> dict[str, str]:
    """Status per region; a region without any observation product is ``"no observations"``."""
    statuses = {}
    for row in result.regions.reindex(columns=REGION_COLUMNS).itertuples(index=False):
        status = text(row.status) or "unknown"
        if status == "ok" and not text(row.products).strip(" ,"):
            status = "no observations"
        statuses[row.region] = status
    assessments = optional_table(result, "assessments", ASSESSMENT_COLUMNS)
    for region, reason in assessments[["region", "reason"]].itertuples(index=False, name=None):
        if text(reason) == "no_observations" and statuses.get(region, "ok") == "ok":
            statuses[region] = "no observations"
    return statuses


def known_products(result: RunResult) -> list[str]:
    """Every observation product the run mentions, in order of first appearance."""
    names = list(result.provenance.get("products", []) if isinstance(result.provenance.get("products"), list) else [])
    emulators = result.emulators
    names += list(emulators.loc[emulators["kind"] == "observation", "dataset"])
    names += list(result.ceiling["product"])
    stocks = optional_table(result, "stocks", STOCK_COLUMNS)
    names += list(stocks.loc[stocks["kind"] == "observation", "dataset"])
    names += list(optional_table(result, "product_flags", PRODUCT_FLAG_COLUMNS)["product"])
    return [text(n) for n in unique(names) if text(n)]


def products_in_no_region(result: RunResult) -> list[str]:
    """Products that no region's envelope uses."""
    used = {p.strip() for products in result.regions["products"] for p in text(products).split(",")}
    failed = set(result.failures["dataset"])
    return [p for p in known_products(result) if p not in used and p not in failed]


def covariate_info(result: RunResult) -> dict[str, dict[str, str]]:
    """``{covariate: {"units": ..., "description": ...}}`` from the provenance (may be empty)."""
    info = result.provenance.get("covariates", {})
    if not isinstance(info, dict):
        return {}
    return {str(k): {"units": text(v.get("units")), "description": text(v.get("description"))}
            for k, v in info.items() if isinstance(v, dict)}


def covariate_label(name: str, info: dict[str, dict[str, str]]) -> str:
    """Axis label: the description (else the name) and the units in brackets."""
    entry = info.get(name, {})
    label = entry.get("description") or name
    units = entry.get("units", "")
    return f"{label} [{units}]" if units and units != "1" else label


def run_info(result: RunResult) -> dict[str, str]:
    """Run date, definition hash and socbench version, for the footer of every page."""
    provenance = result.provenance
    date = next((text(provenance[k]) for k in ("run_date", "started", "date", "timestamp") if provenance.get(k)), "")
    digest = next((text(provenance[k]) for k in ("definition_sha256", "definition_hash") if provenance.get(k)), "")
    return {
        "run_date": date,
        "report_date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "definition_hash": digest[:12] or "not recorded",
        "definition_hash_full": digest,
        "definition_name": text(provenance.get("definition_name")) or result.name,
        "version": text(provenance.get("socbench_version")) or __version__,
        "report_version": __version__,
    }


def benchmark_description(result: RunResult) -> str:
    return text(result.provenance.get("definition_description") or result.provenance.get("description"))


def region_products(result: RunResult) -> dict[str, list[str]]:
    return {row.region: [p.strip() for p in text(row.products).split(",") if p.strip()]
            for row in result.regions.reindex(columns=REGION_COLUMNS).itertuples(index=False)}


def lookup_value(lookup: dict, *key: Any) -> float | None:
    value = lookup.get(tuple(key))
    return float(value) if is_number(value) else None
