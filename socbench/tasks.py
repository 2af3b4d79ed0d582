"""Emulation tasks: one per dataset (explained in every region it covers), the shared CV design, and why regions are skipped."""

from __future__ import annotations

import numpy as np

from .emulate import block_size_from_data
from .explain import EmulationTask, derived_seed
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


def shared_block_size(context: Context, products: list[Prepared]) -> float:
    """The spatial CV block edge of the run: fixed by the definition, or the largest the products' ln SOC asks for.

    With ``cv.block_size: auto``, each product's block edge is
    ``block_range_factor`` x the practical range of autocorrelation of its
    ln SOC over all its land (:func:`socbench.emulate.block_size_from_data`);
    their median (so that one odd product does not set it), rounded up to a
    whole multiple of ``block_size_min``, is used for every dataset, so that models and products are validated with the same folds
    and their R^2 are comparable.
    """
    cv = context.definition.learner.cv
    if cv.block_size != "auto":
        return float(cv.block_size)
    lat, lon = context.cell_coordinates()
    sizes = []
    for product in products:
        cells = product.valid(context.land) & (context.weight > 0)
        if cells.sum() >= 10:
            rng = np.random.default_rng(derived_seed(context.definition.learner.seed, "block size"))
            sizes.append(block_size_from_data(
                np.log(product.soc[cells]), lat[cells], lon[cells], rng, cv.block_size_min, cv.block_size_max,
                cv.block_range_factor,
            ))
    if not sizes:
        return float(cv.block_size_min)
    # In whole steps of block_size_min, so that one product more or less rarely moves the design.
    step = cv.block_size_min
    return float(min(cv.block_size_max, step * np.ceil(np.median(sizes) / step)))


def observation_noise(context: Context, products: list[Prepared], fit_r2: dict[str, float]) -> np.ndarray:
    """White noise with the products' unexplained variance of ln SOC, one value per cell of the grid.

    Observed SOC is only 30-50 % predictable from its drivers: the rest is
    measurement and mapping noise that model fields do not have. A boosted
    fit spends part of its trees on that noise, which pulls its driver shares
    towards equal ones; a noise-free model fitted alone would then differ from
    the products by the noise level alone. Adding noise with the products'
    unexplained variance, ``median_p (1 - R2_p) var_p(ln SOC)``, to every
    model's ln SOC before it is emulated compares like with like (and makes
    the explained-variance comparison noise-matched). The noise is the same
    for every model (one draw per grid cell, from the run's seed), so models
    differ by what they are, not by their noise draws.
    """
    variances = []
    for product in products:
        cells = product.valid(context.land) & (context.weight > 0)
        r2 = fit_r2.get(product.name, np.nan)
        if cells.sum() > 2 and np.isfinite(r2):
            y, w = np.log(product.soc[cells]), context.weight[cells]
            variance = np.average((y - np.average(y, weights=w)) ** 2, weights=w)
            variances.append(max(0.0, 1.0 - r2) * variance)
    scale = float(np.sqrt(np.median(variances))) if variances else 0.0
    rng = np.random.default_rng(derived_seed(context.definition.learner.seed, "observation noise"))
    return scale * rng.standard_normal(context.land.shape)


def build_tasks(
    context: Context,
    datasets: list[Prepared],
    bootstraps: int | None = None,
    skipped: list[dict] | None = None,
    noise: np.ndarray | None = None,
) -> list[EmulationTask]:
    """One emulation task per dataset: one fit over all its valid land, explained in each region it covers.

    A dataset, observation product or model alike, is explained in a region
    only if it has ``regions.min_cells`` valid cells there and covers
    ``scores.coverage_min`` of the region's weighted area.

    Parameters
    ----------
    bootstraps : int, optional
        Overrides the definition's number of bootstrap replicates.
    skipped : list, optional
        Receives a ``{"dataset", "kind", "region", "reason"}`` row for every
        (dataset, region) not explained.
    noise : ndarray, optional
        Added to every dataset's ln SOC (see :func:`observation_noise`).
    """
    learner = context.definition.learner
    blocks, folds = context.cell_folds()
    tasks = []
    for dataset in datasets:
        cells = dataset.valid(context.land) & (context.weight > 0)
        regions = []
        for region, mask in context.regions.items():
            reason = _skip_reason(context, dataset, region, mask & cells)
            if reason is None:
                regions.append(region)
            elif skipped is not None:
                skipped.append({"dataset": dataset.name, "kind": dataset.kind, "region": region, "reason": reason})
        if not regions:
            continue
        tasks.append(
            EmulationTask(
                dataset=dataset.name,
                X=dataset.covariates[:, cells].T.astype(float),
                y=np.log(dataset.soc[cells]) + (0.0 if noise is None else noise[cells]),
                weight=context.weight[cells] / context.weight[cells].mean(),
                regions=tuple(regions),
                membership=np.stack([context.regions[r][cells] for r in regions]),
                grids=np.stack([context.grids[r] for r in regions]),
                folds=folds[cells],
                blocks=blocks[cells],
                block_size=context.cv_block_size,
                estimator=learner.estimator,
                params=learner.params,
                explainer=learner.explainer,
                response=learner.response,
                bootstraps=learner.bootstraps if bootstraps is None else bootstraps,
                max_explain_cells=learner.max_explain_cells,
                seed=learner.seed,
                select_rounds=learner.select_rounds,
            )
        )
    return tasks
