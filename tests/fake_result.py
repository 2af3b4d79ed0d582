"""A small but realistic :class:`~socbench.results.RunResult` for report tests.

Three models (one with a hostile name), two observation products, three
regions, three covariates, 10 x 20 difference maps and one failed dataset.
It has the tables of :class:`~socbench.results.RunResult` with their real
columns: the seven components and the diagnostics, the ``assessments``
(withheld scores with reason codes, and driver scores capped for an unreliable
model emulator), ``nulls`` (no field components: not defined), ``drivers``,
``product_flags``, ``stocks`` and ``skipped`` tables. Everything is derived from a seeded generator, so the result is reproducible.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import xarray as xr

from socbench.results import (
    ASSESSMENT_COLUMNS,
    CEILING_COLUMNS,
    COMPONENTS,
    DRIVER_COLUMNS,
    DRIVER_COMPONENTS,
    EMULATOR_COLUMNS,
    ENVELOPE_IMPORTANCE_COLUMNS,
    ENVELOPE_RESPONSE_COLUMNS,
    FAILURE_COLUMNS,
    IMPORTANCE_COLUMNS,
    METRICS,
    NULL_COLUMNS,
    PRODUCT_FLAG_COLUMNS,
    REGION_COLUMNS,
    RESPONSE_COLUMNS,
    SCORE_COLUMNS,
    SKIPPED_COLUMNS,
    STOCK_COLUMNS,
    RunResult,
    empty_table,
)
from socbench.score import NULL_COMPONENTS, NULL_REFERENCE

HOSTILE_MODEL = "<script>alert(1)</script>/../x"
MODELS = ["CESM2", "IPSL-CM6A-LR", HOSTILE_MODEL]
PRODUCTS = ["HWSD-like", "NCSCD-like"]
REGIONS = ["global", "Tropical forest", "Tundra"]
COVARIATES = ["temperature", "precipitation", "clay"]
N_POINTS = 8
FAILURE = ("BadModel", "model", "cSoil has units 'K', expected kg m-2 <b>not bold</b>")
DIAGNOSTICS = ("importance_distance", "response_distance", "sensitivity_distance", "explained_variance_distance",
               "importance_kendall_tau", "overall_components", "model_cv_r2")
NULL_REFERENCES = [NULL_REFERENCE]
#: (model index, region index, components, reason): scores withheld in the fake (for every model of the region).
WITHHELD = [
    (None, -1, ("response", "sensitivity"), "products_unreliable"),
    (None, 1, ("spatial_distribution",), "products_cannot_discriminate"),
]
#: (model index, region index): a model whose emulator is unreliable there, its driver scores capped at the null's.
CAPPED = (1, 0)
COVARIATE_INFO = {
    "temperature": {"units": "degC", "description": "Mean annual air temperature"},
    "precipitation": {"units": "mm yr-1", "description": "Mean annual precipitation"},
    "clay": {"units": "percent", "description": "Topsoil clay content"},
}
PRODUCT_FLAGS = [
    ("NCSCD-like", "Tundra", "suspect_units", "stock 1000 times the median of the other products'"),
    ("HWSD-like", "Tropical forest", "outlier", "driver shares far from every other product's"),
]
#: A (dataset, kind, region, reason) row of the ``skipped`` table.
SKIPPED = ("NCSCD-like", "observation", "Tropical forest", "covers 12% of Tropical forest, below scores.coverage_min 0.8")
NONFINITE_CELLS = {"covariate:temperature": 0, "CESM2": 17, "HWSD-like": 0}
INPUT_NOTES = ["CESM2/cSoil: 17 infinite value(s) masked as missing"]


def make_fake_result(
    seed: int = 0,
    *,
    models: list[str] | None = None,
    regions: list[str] | None = None,
    covariates: list[str] | None = None,
    with_failure: bool = True,
    products: list[str] | None = None,
    region_without_observations: str | None = None,
) -> RunResult:
    """Build a fake run result.

    Parameters
    ----------
    seed : int
        Seed of every random number drawn.
    models, regions, covariates : list of str, optional
        Override the defaults (e.g. to time a large page). ``regions`` must
        start with ``"global"``.
    with_failure : bool
        Whether one dataset is listed as failed.
    products : list of str, optional
        Observation products (default :data:`PRODUCTS`).
    region_without_observations : str, optional
        Add this region with no product in its envelope and every score
        withheld (reason ``no_observations``).

    Returns
    -------
    RunResult
    """
    rng = np.random.default_rng(seed)
    models = models or MODELS
    regions = regions or REGIONS
    covariates = covariates or COVARIATES
    products = products or PRODUCTS
    datasets = [(name, "model") for name in models] + [(name, "observation") for name in products]
    withheld = _withheld(models, regions)
    result = RunResult(
        name="fake",
        scores=_scores(rng, models, regions, withheld),
        ceiling=_ceiling(rng, regions, products),
        emulators=_emulators(rng, datasets, regions),
        importances=_importances(rng, datasets, regions, covariates),
        responses=_responses(rng, datasets, regions, covariates),
        envelope_importance=_envelope_importance(rng, regions, covariates),
        envelope_response=_envelope_response(rng, regions, covariates),
        regions=_regions(regions, products),
        failures=(
            pd.DataFrame([FAILURE], columns=FAILURE_COLUMNS) if with_failure else empty_table(FAILURE_COLUMNS)
        ),
        difference_maps={name: _difference_map(rng) for name in models},
        covariates=list(covariates),
        provenance={
            "socbench_version": "0.1.0",
            "definition_sha256": "3f2a9c0d5e",
            "run_date": "2024-05-01T12:00:00+00:00",
            "definition_description": "A fake benchmark: three models against two products.",
            "seeds": {"bootstrap": 1234, "cv": 99},
            "inputs": {"HWSD-like": "sha256:ab12", "CESM2": "sha256:cd34"},
            "covariates": {name: COVARIATE_INFO[name] for name in covariates if name in COVARIATE_INFO},
            "nonfinite_cells": dict(NONFINITE_CELLS),
            "input_notes": list(INPUT_NOTES),
        },
    )
    result.assessments = _assessments(models, regions, withheld)
    result.nulls = _nulls(rng, regions)
    result.drivers = _drivers(rng, result)
    result.product_flags = pd.DataFrame(
        [flag for flag in PRODUCT_FLAGS if flag[0] in products and flag[1] in regions], columns=PRODUCT_FLAG_COLUMNS)
    result.stocks = _stocks(rng, datasets, regions)
    result.skipped = pd.DataFrame([SKIPPED] if SKIPPED[0] in products and SKIPPED[2] in regions else [],
                                  columns=SKIPPED_COLUMNS)
    if region_without_observations:
        _add_region_without_observations(result, region_without_observations)
    return result


def _withheld(models: list[str], regions: list[str]) -> dict[tuple[str, str, str], str]:
    """``{(model, region, component): reason}`` of the withheld scores."""
    cells = {}
    for model_index, region_index, metrics, reason in WITHHELD:
        chosen = models if model_index is None else [models[model_index]]
        for model, metric in itertools.product(chosen, metrics):
            cells[(model, regions[region_index], metric)] = reason
    return cells


def _capped(models: list[str], regions: list[str]) -> set[tuple[str, str, str]]:
    """``{(model, region, component)}`` of the driver scores capped at the null reference's."""
    model_index, region_index = CAPPED
    if model_index >= len(models):
        return set()
    return {(models[model_index], regions[region_index], c) for c in DRIVER_COMPONENTS}


def _assessments(models: list[str], regions: list[str], withheld: dict) -> pd.DataFrame:
    capped = _capped(models, regions)
    rows = []
    for key in itertools.product(models, regions, COMPONENTS):
        if key in withheld:
            rows.append((*key, "withheld", withheld[key], 0.0))
        elif key in capped:
            rows.append((*key, "capped", "model_emulator_unreliable", 0.1))
        else:
            rows.append((*key, "scored", "", 0.1))
    return pd.DataFrame(rows, columns=ASSESSMENT_COLUMNS)


def _nulls(rng: np.random.Generator, regions: list[str]) -> pd.DataFrame:
    """The null reference: scored on the driver components and explained variance only (NaN elsewhere)."""
    rows = [(reference, region, metric,
             float(rng.uniform(0.0, 0.35)) if metric in ("overall", *NULL_COMPONENTS) else np.nan)
            for reference, region, metric in itertools.product(NULL_REFERENCES, regions, METRICS)]
    return pd.DataFrame(rows, columns=NULL_COLUMNS)


def _drivers(rng: np.random.Generator, result: RunResult) -> pd.DataFrame:
    """Per driver: shares from the importances, a shape correlation and a sensitivity ratio against the consensus."""
    observed = result.envelope_importance.set_index(["region", "covariate"])["centre"]
    rows = []
    for row in result.importances.itertuples(index=False):
        correlation = float(rng.uniform(0.2, 1.0))
        ratio = float(np.exp(rng.normal(0.0, 0.4 if row.kind == "model" else 0.05)))
        low, high = sorted(float(v) for v in np.exp(rng.normal(0.0, 0.08, size=2)))
        shape_score, sensitivity_score = float(rng.uniform(0.0, 1.0)), float(rng.uniform(0.0, 1.0))
        rows.append((row.dataset, row.kind, row.region, row.covariate, float(row.share),
                     float(observed[(row.region, row.covariate)]), correlation, ratio, shape_score, sensitivity_score,
                     min(low, 1.0), max(high, 1.0), True))
    return pd.DataFrame(rows, columns=DRIVER_COLUMNS)


def plant_driver(result: RunResult, model: str, region: str, covariate: str, **values: float) -> None:
    """Set columns of one (model, region, covariate) row of ``result.drivers`` (e.g. a mirrored response)."""
    table = result.drivers
    row = (table["dataset"] == model) & (table["region"] == region) & (table["covariate"] == covariate)
    for column, value in values.items():
        table.loc[row, column] = value


def _stocks(rng: np.random.Generator, datasets: list[tuple[str, str]], regions: list[str]) -> pd.DataFrame:
    rows = [(name, kind, region, float(rng.uniform(20, 1500)), float(rng.uniform(1e6, 1.3e8)))
            for (name, kind), region in itertools.product(datasets, regions)]
    return pd.DataFrame(rows, columns=STOCK_COLUMNS)


def _add_region_without_observations(result: RunResult, region: str) -> None:
    """A region no product covers: listed with no products, every model's score withheld."""
    result.regions = pd.concat(
        [result.regions, pd.DataFrame([(region, 120, 5.0e6, "ok", "")], columns=REGION_COLUMNS)], ignore_index=True)
    rows = [(model, region, metric, np.nan) for model in result.models for metric in METRICS]
    result.scores = pd.concat([result.scores, pd.DataFrame(rows, columns=SCORE_COLUMNS)], ignore_index=True)
    withheld = pd.DataFrame([(model, region, metric, "withheld", "no_observations", 0.0)
                             for model in result.models for metric in COMPONENTS],
                            columns=ASSESSMENT_COLUMNS)
    result.assessments = pd.concat([result.assessments, withheld], ignore_index=True)


def _scores(rng: np.random.Generator, models: list[str], regions: list[str], withheld: dict) -> pd.DataFrame:
    rows = []
    capped = _capped(models, regions)
    for model, region in itertools.product(models, regions):
        components = {metric: float(rng.uniform(0.05, 0.99)) for metric in COMPONENTS}
        if model == models[-1] and region == regions[-1]:
            components["spatial_distribution"] = float("nan")  # e.g. too few cells
        for metric in COMPONENTS:
            if (model, region, metric) in withheld:
                components[metric] = float("nan")
            elif (model, region, metric) in capped:
                components[metric] = min(components[metric], 0.25)
        judged = [m for m in COMPONENTS if (model, region, m) not in withheld]
        values = {"overall": float(np.nansum([components[m] for m in judged]) / len(judged)), **components}
        values["importance_distance"] = float(rng.uniform(0.05, 0.6))
        values["response_distance"] = float(rng.uniform(0.0, 1.0))
        values["sensitivity_distance"] = float(rng.uniform(0.0, 1.5))
        values["explained_variance_distance"] = float(rng.uniform(0.0, 0.4))
        values["importance_kendall_tau"] = float(rng.uniform(-0.2, 0.9))
        values["overall_components"] = float(len(judged))
        values["model_cv_r2"] = float(rng.uniform(0.3, 0.95))
        rows += [(model, region, metric, value) for metric, value in values.items()]
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _ceiling(rng: np.random.Generator, regions: list[str], products: list[str]) -> pd.DataFrame:
    rows = [
        (product, region, metric, float(rng.uniform(0.5, 1.0)))
        for product, region, metric in itertools.product(products, regions, METRICS)
    ]
    table = pd.DataFrame(rows, columns=CEILING_COLUMNS)
    skipped = (table["product"] == SKIPPED[0]) & (table["region"] == SKIPPED[2])
    table.loc[skipped, "value"] = np.nan  # a product not emulated in a region has no ceiling there
    return table


def _emulators(rng: np.random.Generator, datasets: list[tuple[str, str]], regions: list[str]) -> pd.DataFrame:
    rows = []
    for (name, kind), region in itertools.product(datasets, regions):
        r2 = float(rng.uniform(0.55, 0.95))
        if name == datasets[1][0] and region == regions[-1]:
            r2 = 0.12  # one poor emulator, flagged
        rows.append((name, kind, region, int(rng.integers(60, 4000)), r2, r2, 8.0, 100.0, r2 >= 0.3))
    return pd.DataFrame(rows, columns=EMULATOR_COLUMNS)


def _shares(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.dirichlet(np.ones(n) * 2.0)


def _importances(
    rng: np.random.Generator, datasets: list[tuple[str, str]], regions: list[str], covariates: list[str]
) -> pd.DataFrame:
    rows = []
    for (name, kind), region in itertools.product(datasets, regions):
        for covariate, share in zip(covariates, _shares(rng, len(covariates))):
            spread = float(rng.uniform(0.01, 0.08))
            rows.append((name, kind, region, covariate, share, max(share - spread, 0.0), share + spread))
    return pd.DataFrame(rows, columns=IMPORTANCE_COLUMNS)


def _envelope_importance(rng: np.random.Generator, regions: list[str], covariates: list[str]) -> pd.DataFrame:
    rows = []
    for region in regions:
        for covariate, share in zip(covariates, _shares(rng, len(covariates))):
            spread = float(rng.uniform(0.03, 0.15))
            rows.append((region, covariate, share, max(share - spread, 0.0), share + spread))
    return pd.DataFrame(rows, columns=ENVELOPE_IMPORTANCE_COLUMNS)


def _curve(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 1.0, N_POINTS)
    y = rng.normal(0, 0.6) * np.tanh(3 * (x - rng.uniform(0.2, 0.8)))
    return x, y - y.mean()


def _responses(
    rng: np.random.Generator, datasets: list[tuple[str, str]], regions: list[str], covariates: list[str]
) -> pd.DataFrame:
    rows = []
    for (name, kind), region, covariate in itertools.product(datasets, regions, covariates):
        x, y = _curve(rng)
        for point, (xi, yi) in enumerate(zip(x, y)):
            rows.append((name, kind, region, covariate, point, xi, yi, yi - 0.1, yi + 0.1))
    return pd.DataFrame(rows, columns=RESPONSE_COLUMNS)


def _envelope_response(rng: np.random.Generator, regions: list[str], covariates: list[str]) -> pd.DataFrame:
    rows = []
    for region, covariate in itertools.product(regions, covariates):
        x, y = _curve(rng)
        for point, (xi, yi) in enumerate(zip(x, y)):
            rows.append((region, covariate, point, xi, yi, yi - 0.25, yi + 0.25))
    return pd.DataFrame(rows, columns=ENVELOPE_RESPONSE_COLUMNS)


def _regions(regions: list[str], products: list[str]) -> pd.DataFrame:
    rows = []
    for i, region in enumerate(regions):
        n_cells = 1800 if region == "global" else 400 // (i + 1)
        status = "insufficient data" if region == "Tundra" else "ok"
        rows.append((region, n_cells, n_cells * 48_000.0, status, ",".join(products)))
    return pd.DataFrame(rows, columns=REGION_COLUMNS)


def _difference_map(rng: np.random.Generator) -> xr.DataArray:
    lat = np.linspace(-85.5, 85.5, 10)
    lon = np.linspace(-171.0, 171.0, 20)
    values = rng.normal(0.0, 4.0, size=(lat.size, lon.size))
    values[:2, :5] = np.nan  # ocean / no data
    area = np.cos(np.deg2rad(lat))[:, None] * np.ones(lon.size)
    land_fraction = np.where(np.arange(lon.size) % 4 == 0, 0.5, 1.0)
    return xr.DataArray(
        values, dims=("lat", "lon"),
        coords={"lat": lat, "lon": lon, "weight": (("lat", "lon"), area * land_fraction)},
        name="cSoil_difference", attrs={"units": "kg m-2"},
    )
