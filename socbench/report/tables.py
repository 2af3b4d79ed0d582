"""Read the tidy tables of a :class:`~socbench.results.RunResult` for the pages.

Titles, meanings and reason sentences of the metrics come from
:mod:`socbench.score`, the component order from :mod:`socbench.results`.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from socbench import __version__
from socbench.results import (
    ASSESSMENT_COLUMNS,
    COMPONENTS,
    EMULATOR_COLUMNS,
    PRODUCT_FLAG_COLUMNS,
    REGION_COLUMNS,
    RunResult,
)
from socbench.score import METRIC_MEANINGS, NULL_COMPONENTS, NULL_REFERENCE, REASONS

from .values import is_number, text, truthy, unique

GLOBAL_REGION = "global"
#: Reasons that withhold a component for every candidate of a region (not one model's).
REGION_REASONS = ("products_unreliable", "products_cannot_discriminate", "products_disagree", "no_observations")

#: Diagnostics shown beside the scores on a model page (not scores: lower or signed values).
DIAGNOSTICS = ("importance_distance", "response_distance", "sensitivity_distance", "explained_variance_distance",
               "importance_kendall_tau", "overall_components", "model_cv_r2")
#: Assessment statuses (``assessments.csv``): scored, scored but set to 0, below the null's, or withheld.
SCORED, CAPPED, WITHHELD = "scored", "capped", "withheld"

METRIC_TITLES = {
    "overall": "Overall",
    "importance": "Driver importance",
    "response": "Response shape",
    "sensitivity": "Sensitivity",
    "explained_variance": "Explained variance",
    "total_stock": "Total stock",
    "ilamb_bias": "ILAMB bias",
    "spatial_distribution": "Spatial distribution",
    "importance_distance": "Importance distance",
    "response_distance": "Response shape distance",
    "sensitivity_distance": "Sensitivity distance",
    "explained_variance_distance": "Explained variance distance",
    "importance_kendall_tau": "Importance rank correlation (Kendall τ)",
    "overall_components": "Components in overall",
    "model_cv_r2": "Model emulator CV R²",
}
#: What a product flag means for the envelope, after the flag's name (socbench.score.build_envelope).
PRODUCT_FLAG_TEXTS = {
    "outlier": "outlier: left out of the consensus of driver shares and response curves",
    "suspect_units": "suspect units: left out of the consensus of stocks and SOC fields",
}


#: Short label of a flagged product in the charts and their values tables.
CHART_FLAG_TEXTS = {
    "outlier": "outlier: not in the envelope",
    "unreliable": "unreliable emulator: not in the envelope",
    "suspect_units": "suspect units: not in the stock consensus",
}


def product_chart_flags(result: RunResult) -> dict[str, dict[str, str]]:
    """``{product: {region: label}}`` of the products flagged in a region, for the charts.

    A product is flagged ``outlier`` or ``suspect_units`` (``product_flags``)
    or has an unreliable emulator (``emulators``, ``reliable`` false). Outliers
    and unreliable products are left out of the charted (and scored) envelope
    of driver shares and curves; a product with suspect units only of the
    stock consensus.
    """
    found: dict[str, dict[str, list[str]]] = {}
    emulators = result.emulators.reindex(columns=EMULATOR_COLUMNS)
    for row in emulators[emulators["kind"] == "observation"].itertuples(index=False):
        if not truthy(row.reliable):
            found.setdefault(text(row.dataset), {}).setdefault(text(row.region), []).append("unreliable")
    for row in result.product_flags.reindex(columns=PRODUCT_FLAG_COLUMNS).itertuples(index=False):
        found.setdefault(text(row.product), {}).setdefault(text(row.region), []).append(text(row.flag))
    return {product: {region: "; ".join(CHART_FLAG_TEXTS.get(f, f.replace("_", " ")) for f in unique(flags))
                      for region, flags in regions.items()}
            for product, regions in found.items()}


def metric_meaning(metric: str) -> str:
    """One sentence saying what ``metric`` measures (:data:`socbench.score.METRIC_MEANINGS`)."""
    return METRIC_MEANINGS.get(metric, "")


def reason_text(code: str, sentence: bool = True) -> str:
    """The reason of a withheld score (:data:`socbench.score.REASONS`) for readers.

    ``sentence``: capitalised with a full stop; else as a clause.
    """
    code = text(code)
    clause = REASONS.get(code, code.replace("_", " ")).rstrip(".") or "not assessed"
    return clause[:1].upper() + clause[1:] + "." if sentence else clause


def null_label(name: str) -> str:
    """Row label of a null reference: ``"null reference"`` for socbench's own, else its name."""
    return "null reference" if name == NULL_REFERENCE else name


def flag_text(flag: str) -> str:
    """What a product flag means, for readers."""
    flag = text(flag)
    return PRODUCT_FLAG_TEXTS.get(flag, flag.replace("_", " "))


def metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())


def display_regions(result: RunResult) -> list[str]:
    """Regions in display order: ``"global"`` first, then as in ``result.regions``.

    Regions with scores but no row in ``result.regions`` come last; regions
    merged into others or absent (no scores at all) are left out of the score
    tables (the regions table still lists them with their status).
    """
    scored = set(result.scores["region"]) | set(result.ceiling["region"])
    assessed = set(result.assessments["region"])
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


def skipped_lookup(result: RunResult) -> dict[tuple[str, str], str]:
    """``{(dataset, region): reason}`` of the datasets not emulated for coverage."""
    rows = result.skipped.reindex(columns=["dataset", "region", "reason"]).itertuples(index=False, name=None)
    return {(text(dataset), text(region)): text(reason) for dataset, region, reason in rows}


def assessment_lookup(result: RunResult, status: str = WITHHELD) -> dict[tuple[str, str, str], str]:
    """``{(model, region, metric): reason code}`` of every score with ``status`` (withheld, or capped)."""
    table = result.assessments.reindex(columns=ASSESSMENT_COLUMNS)
    chosen = table[table["status"].astype(str) == status]
    return {(m, r, k): text(reason) or status for m, r, k, reason in
            chosen[["model", "region", "metric", "reason"]].itertuples(index=False, name=None)}


def capped_lookup(result: RunResult) -> dict[tuple[str, str, str], str]:
    """``{(model, region, metric): reason code}`` of capped scores, and of the overall they cap at the null's."""
    capped = assessment_lookup(result, CAPPED)
    for (model, region, _), reason in list(capped.items()):
        capped.setdefault((model, region, "overall"), reason)
    return capped


def reference_withheld(result: RunResult, names: list[str], null: bool) -> dict[tuple[str, str, str], str]:
    """``{(name, region, metric): reason code}`` for the ceiling or null rows.

    A component withheld in a region is withheld for every candidate there
    (its reason is the models' in ``assessments``); the null reference is not
    defined on the field components (``not_defined``).
    """
    regional = {}
    for (_, region, metric), reason in assessment_lookup(result).items():
        if reason in REGION_REASONS:
            regional[(region, metric)] = reason
    regions = display_regions(result)
    reasons = {(name, region, metric): reason for (region, metric), reason in regional.items() for name in names}
    if null:
        reasons.update({(name, region, metric): "not_defined" for name in names for region in regions
                        for metric in COMPONENTS if metric not in NULL_COMPONENTS})
    return reasons


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
    for region, reason in result.assessments[["region", "reason"]].itertuples(index=False, name=None):
        if text(reason) == "no_observations" and statuses.get(region, "ok") == "ok":
            statuses[region] = "no observations"
    return statuses


def known_products(result: RunResult) -> list[str]:
    """Every observation product the run mentions, in order of first appearance."""
    names = list(result.provenance.get("products", []) if isinstance(result.provenance.get("products"), list) else [])
    emulators = result.emulators
    names += list(emulators.loc[emulators["kind"] == "observation", "dataset"])
    names += list(result.ceiling["product"])
    stocks = result.stocks
    names += list(stocks.loc[stocks["kind"] == "observation", "dataset"])
    names += list(result.product_flags["product"])
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
    date = text(provenance.get("run_date"))
    digest = text(provenance.get("definition_sha256"))
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
    return text(result.provenance.get("definition_description")).strip()


def nonfinite_counts(result: RunResult) -> dict[str, int]:
    """``{dataset: cells}`` of the non-finite input values masked as missing, non-zero counts only."""
    counts = result.provenance.get("nonfinite_cells", {})
    if not isinstance(counts, dict):
        return {}
    return {text(name): int(count) for name, count in counts.items() if is_number(count) and count > 0}


def input_notes(result: RunResult) -> list[str]:
    """How the inputs were read, one line each (``provenance["input_notes"]``)."""
    notes = result.provenance.get("input_notes", [])
    return [text(note) for note in notes if text(note)] if isinstance(notes, list) else []
