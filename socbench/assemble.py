"""Assemble a run's tables: scores per region, emulator rows, envelopes, difference maps, unscored models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .config import Definition
from .explain import EmulationResult
from .prepare import Context, Prepared
from .results import (
    ASSESSMENT_COLUMNS,
    CEILING_COLUMNS,
    DRIVER_COLUMNS,
    EMULATOR_COLUMNS,
    FAILURE_COLUMNS,
    NULL_COLUMNS,
    PRODUCT_FLAG_COLUMNS,
    SCORE_COLUMNS,
    STOCK_COLUMNS,
    RunResult,
    empty_table,
)
from .metrics import collinear_groups
from .score import Explained, RegionData, RegionScores, ScoreSettings, emulator_reliable, score_region


def unscored_models(models: list[str], scores: pd.DataFrame, skipped: list[dict]) -> list[dict]:
    """A failure row for every model that has no score row, with the reason.

    A model read without error can still get no score: every region may lack
    valid cells or coverage (all-zero or non-finite SOC, a small domain), or
    every component with a weight may be withheld, leaving no ``overall``.
    Listing it as a failure makes the run partial and the CI gate fail,
    instead of dropping the model silently.
    """
    scored = set(scores["model"])
    with_overall = set(scores.loc[(scores["metric"] == "overall") & np.isfinite(scores["value"].astype(float)), "model"])
    rows = []
    for name in models:
        if name in with_overall:
            continue
        if name in scored:
            # Every weighted component withheld everywhere: a run must not call such a model "ok".
            reason = ("no overall score in any region: every component with a weight in scores.weights was "
                      "withheld (see the assessments and the model's page for the reasons)")
            rows.append({"dataset": name, "kind": "model", "reason": reason})
            continue
        reasons = [f"{row['region']}: {row['reason']}" for row in skipped if row["dataset"] == name]
        detail = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more region(s)" if len(reasons) > 3 else "")
        reason = f"not scored in any region: {detail}" if reasons else "not scored in any region (no score was computed)"
        rows.append({"dataset": name, "kind": "model", "reason": reason})
    return rows


def score_settings(definition: Definition) -> ScoreSettings:
    """The scoring constants of a definition."""
    return settings_from(definition.scores, definition.learner)


def settings_from(scores, learner) -> ScoreSettings:
    """Scoring constants from a definition's ``scores`` and ``learner`` sections (their defaults are the only copy)."""
    return ScoreSettings(
        scores.weights, scores.delta_min, scores.distance_max, scores.power,
        min_r2=learner.min_r2, min_r2_relative=learner.min_r2_relative,
        discrimination_factor=scores.discrimination_factor, shape_agreement=scores.shape_agreement,
        collinear_r=scores.collinear_r, ilamb_mass_weighted=scores.ilamb_bias_weighting == "mass",
    )


def _region_data(context: Context, region: str, fields, emulations, products, settings: ScoreSettings) -> RegionData:
    mask = context.regions[region]
    cells = mask & context.land & (context.weight > 0)
    explained = {
        name: Explained(r.shares, r.curves, r.boot_shares, r.boot_curves, r.cv_r2, r.fit_r2)
        for (name, reg), r in emulations.items()
        if reg == region
    }
    groups = collinear_groups(context.obs_covariates[:, cells], context.weight[cells], settings.collinear_r)
    present = [p for p in products if (p, region) in emulations]
    return RegionData(region, mask, context.weight, fields, explained, present, groups)


def assemble(reference: Reference, model_data: list[Prepared], model_emulations, failures) -> RunResult:
    context = reference.context
    definition = context.definition
    names = context.covariate_names
    datasets = reference.products + model_data
    products = [p.name for p in reference.products]
    emulations = {**reference.emulations, **model_emulations}
    kinds = {d.name: d.kind for d in datasets}
    models = [d.name for d in model_data]
    settings = score_settings(definition)
    scored = RegionScores()
    region_rows, importances, responses, envelope_i, envelope_r, emulator_rows = [], [], [], [], [], []
    fields = {d.name: np.where(d.valid(context.land), d.soc, np.nan) for d in datasets}
    for region, mask in context.regions.items():
        data = _region_data(context, region, fields, emulations, products, settings)
        region_scores = score_region(data, [m for m in models if m in data.explained], settings)
        envelope = region_scores.envelope
        for table in ("scores", "assessments", "ceiling", "nulls", "flags", "stocks", "drivers"):
            getattr(scored, table).extend(getattr(region_scores, table))
        region_rows.append(
            {"region": region, "n_cells": int((mask & context.land).sum()),
             "area_km2": float(context.weight[mask].sum() / 1e6), "products": ", ".join(data.products)}
        )
        grids = context.grids[region]
        if envelope.driver_products:
            scored_by = [emulations[(p, region)] for p in envelope.driver_products]
            envelope_i += _envelope_importance(region, names, scored_by)
            envelope_r += _envelope_response(region, names, grids, scored_by)
        for name in (n for n in kinds if (n, region) in emulations):
            result, kind = emulations[(name, region)], kinds[name]
            floor = settings.min_r2 if kind == "observation" else envelope.model_r2_floor
            emulator_rows.append(
                {"dataset": name, "kind": kind, "region": region, "n_cells": result.n_cells, "cv_r2": result.cv_r2,
                 "fit_r2": result.fit_r2, "cv_block_size": result.block_size,
                 "boosting_rounds": result.rounds,
                 "reliable": emulator_reliable(result.fit_r2, floor)}
            )
            importances += _importance_rows(name, kind, region, names, result)
            responses += _response_rows(name, kind, region, names, grids, result)
    drivers = pd.DataFrame(scored.drivers)
    if len(drivers):
        drivers["covariate"] = [names[j] for j in drivers.pop("driver")]
    return RunResult(
        name=definition.name,
        scores=_table(scored.scores, SCORE_COLUMNS),
        ceiling=_table(scored.ceiling, CEILING_COLUMNS),
        emulators=_table(emulator_rows, EMULATOR_COLUMNS),
        importances=pd.DataFrame(importances),
        responses=pd.DataFrame(responses),
        envelope_importance=pd.DataFrame(envelope_i),
        envelope_response=pd.DataFrame(envelope_r),
        regions=_region_table(context.region_table, pd.DataFrame(region_rows)),
        failures=_table(failures, FAILURE_COLUMNS),
        nulls=_table(scored.nulls, NULL_COLUMNS),
        assessments=_table(scored.assessments, ASSESSMENT_COLUMNS),
        product_flags=_table(scored.flags, PRODUCT_FLAG_COLUMNS),
        stocks=_table(scored.stocks, STOCK_COLUMNS),
        drivers=drivers[DRIVER_COLUMNS] if len(drivers) else empty_table(DRIVER_COLUMNS),
        difference_maps=_difference_maps(context, fields, products, models),
        covariates=names,
    )


def _difference_maps(context: Context, fields, products: list[str], models: list[str]) -> dict[str, xr.DataArray]:
    centre = _observation_centre([fields[p] for p in products])
    coords = {
        "lat": context.grid["lat"].values,
        "lon": context.grid["lon"].values,
        "weight": (("lat", "lon"), context.weight),  # the run's cell weights, for summaries
    }
    units = context.definition.target.units
    return {
        m: xr.DataArray(fields[m] - centre, dims=("lat", "lon"), coords=coords, attrs={"units": units}) for m in models
    }


def _table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else empty_table(columns)


def _observation_centre(fields: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(fields)
    counts = np.isfinite(stack).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)


def _region_table(scheme_table: pd.DataFrame, used: pd.DataFrame) -> pd.DataFrame:
    status = dict(zip(scheme_table["region"], scheme_table["status"]))
    used = used.copy()
    used["status"] = [status.get(r, "ok") for r in used["region"]]
    dropped = scheme_table[~scheme_table["region"].isin(used["region"]) & (scheme_table["status"] != "absent")]
    extra = pd.DataFrame(
        {"region": dropped["region"], "n_cells": dropped["n_cells"], "area_km2": np.nan, "status": dropped["status"], "products": ""}
    )
    return pd.concat([used, extra], ignore_index=True)[["region", "n_cells", "area_km2", "status", "products"]]


def _spread(values: np.ndarray, boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(boot) == 0:
        return values, values
    return np.percentile(boot, 5, axis=0), np.percentile(boot, 95, axis=0)


def _importance_rows(name, kind, region, covariates, result: EmulationResult) -> list[dict]:
    low, high = _spread(result.shares, result.boot_shares)
    return [
        {"dataset": name, "kind": kind, "region": region, "covariate": c, "share": result.shares[j], "share_low": low[j], "share_high": high[j]}
        for j, c in enumerate(covariates)
    ]


def _response_rows(name, kind, region, covariates, grids, result: EmulationResult) -> list[dict]:
    low, high = _spread(result.curves, result.boot_curves)
    return [
        {"dataset": name, "kind": kind, "region": region, "covariate": c, "point": k, "x": grids[j, k], "value": result.curves[j, k], "value_low": low[j, k], "value_high": high[j, k]}
        for j, c in enumerate(covariates)
        for k in range(grids.shape[1])
    ]


def _envelope_importance(region, covariates, present: list[EmulationResult]) -> list[dict]:
    shares = np.array([r.shares for r in present])
    lows, highs = (np.array(side) for side in zip(*(_spread(r.shares, r.boot_shares) for r in present)))
    return [
        {"region": region, "covariate": c, "centre": shares[:, j].mean(), "low": min(shares[:, j].min(), lows[:, j].min()), "high": max(shares[:, j].max(), highs[:, j].max())}
        for j, c in enumerate(covariates)
    ]


def _envelope_response(region, covariates, grids, present: list[EmulationResult]) -> list[dict]:
    curves = np.array([r.curves for r in present])
    lows, highs = (np.array(side) for side in zip(*(_spread(r.curves, r.boot_curves) for r in present)))
    rows = []
    for j, c in enumerate(covariates):
        for k in range(grids.shape[1]):
            rows.append(
                {
                    "region": region,
                    "covariate": c,
                    "point": k,
                    "x": grids[j, k],
                    "centre": curves[:, j, k].mean(),
                    "low": min(curves[:, j, k].min(), lows[:, j, k].min()),
                    "high": max(curves[:, j, k].max(), highs[:, j, k].max()),
                }
            )
    return rows
