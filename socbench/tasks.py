"""Emulation tasks: one per (dataset, region) with enough valid cells and coverage, and why others are skipped."""

from __future__ import annotations

import numpy as np

from .explain import EmulationTask
from .prepare import Context, Prepared


def _coverage_share(dataset: Prepared, mask: np.ndarray, context: Context) -> float:
    total = context.weight[mask].sum()
    if total <= 0:
        return 0.0
    return float(context.weight[mask & dataset.valid(context.land)].sum() / total)


def _skip_reason(context: Context, dataset: Prepared, region: str, cells: np.ndarray) -> str | None:
    """Why ``dataset`` is not emulated in ``region`` (too few valid cells, too little coverage), or None."""
    definition = context.definition
    n_cells = int(cells.sum())
    if n_cells == 0:
        return "no valid cell (SOC missing, zero or non-finite, or a covariate missing, in every land cell)"
    if n_cells < definition.regions.min_cells:
        return f"{n_cells} valid cells, below regions.min_cells {definition.regions.min_cells}"
    share = _coverage_share(dataset, context.regions[region], context)
    if share < definition.scores.coverage_min:
        return f"covers {share:.0%} of {region}, below scores.coverage_min {definition.scores.coverage_min:g}"
    return None


def build_tasks(
    context: Context, datasets: list[Prepared], bootstraps: int | None = None, skipped: list[dict] | None = None
) -> list[EmulationTask]:
    """One emulation task per (dataset, region) with enough valid cells and coverage.

    A dataset, observation product or model alike, joins a region only if it
    has ``regions.min_cells`` valid cells there and covers
    ``scores.coverage_min`` of the region's weighted area.

    Parameters
    ----------
    bootstraps : int, optional
        Overrides the definition's number of bootstrap replicates.
    skipped : list, optional
        Receives a ``{"dataset", "kind", "region", "reason"}`` row for every
        (dataset, region) without a task.
    """
    definition = context.definition
    learner = definition.learner
    lat2d, lon2d = np.meshgrid(context.grid["lat"].values, context.grid["lon"].values, indexing="ij")
    tasks = []
    for region, mask in context.regions.items():
        grids = context.grids[region]
        for dataset in datasets:
            cells = mask & dataset.valid(context.land) & (context.weight > 0)
            reason = _skip_reason(context, dataset, region, cells)
            if reason is not None:
                if skipped is not None:
                    skipped.append({"dataset": dataset.name, "kind": dataset.kind, "region": region, "reason": reason})
                continue
            tasks.append(
                EmulationTask(
                    dataset=dataset.name,
                    region=region,
                    X=dataset.covariates[:, cells].T.astype(float),
                    y=np.log(dataset.soc[cells]),
                    weight=context.weight[cells] / context.weight[cells].mean(),
                    lat=lat2d[cells],
                    lon=lon2d[cells],
                    grids=grids,
                    estimator=learner.estimator,
                    params=learner.params,
                    explainer=learner.explainer,
                    response=learner.response,
                    block_size=None if learner.cv.block_size == "auto" else float(learner.cv.block_size),
                    block_size_min=learner.cv.block_size_min,
                    block_size_max=learner.cv.block_size_max,
                    block_range_factor=learner.cv.block_range_factor,
                    folds=learner.cv.folds,
                    bootstraps=learner.bootstraps if bootstraps is None else bootstraps,
                    max_explain_cells=learner.max_explain_cells,
                    seed=learner.seed,
                )
            )
    return tasks
