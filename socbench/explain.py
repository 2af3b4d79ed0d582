"""Explain: importance shares and response curves of a fitted emulator.

One emulator per dataset is fitted over all the land it covers, and explained
per region from that region's cells (regional attribution): inside a biome
most of the climate gradient is gone, so a per-biome fit on a noisy product
learns little, while the all-land fit learns the responses from the whole
gradient and the region's cells say how much each driver moves ln SOC there.

- Importance shares: mean |SHAP| per covariate over the region's cells,
  centred on the region's mean contribution, area-weighted, normalised to
  sum to 1 (permutation importance as a registered alternative).
- Response curves: accumulated local effects (ALE; Apley & Zhu 2020, JRSS-B
  82:1059) on a shared grid of pooled observed covariate quantiles, centred,
  in ln SOC units, so that curves of different datasets are comparable.
- Spatial-block bootstraps (whole blocks of about the autocorrelation range
  resampled with replacement, refit) give each dataset's sampling spread; the
  shares and curves reported are the mean over the fit and its refits
  (bagging), which are stabler than one boosted fit on a noisy product.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import clone

from .emulate import make_learner, out_of_fold_predictions, select_rounds, weighted_r2
from .registry import Registry

#: Importance methods ``(estimator, X, weight, rng) -> (p,) shares``.
EXPLAINERS: Registry[Callable] = Registry("learner.explainer", "explainer")
#: Response-curve methods ``(estimator, X, weight, grids) -> (p, K) curves``.
RESPONSE_METHODS: Registry[Callable] = Registry("learner.response", "response method")
explainer = EXPLAINERS.register
response_method = RESPONSE_METHODS.register


def derived_seed(*parts) -> int:
    """A seed from the run seed and task labels, independent of worker scheduling."""
    text = "/".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _normalise(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    return values / total if total > 0 else np.full_like(values, 1.0 / len(values))


def shap_values(estimator, X: np.ndarray) -> np.ndarray:
    """(n, p) SHAP values: exact partial effects for additive models, TreeSHAP for trees."""
    if hasattr(estimator, "partial_effects"):
        effects = estimator.partial_effects(X)
        return effects - effects.mean(axis=0)
    import shap

    if hasattr(estimator, "tree_model_"):
        return np.asarray(shap.TreeExplainer(estimator.tree_model_).shap_values(estimator.transform(X)))
    return np.asarray(shap.TreeExplainer(estimator).shap_values(X))


@explainer("shap")
def shap_shares(estimator, X, weight, rng) -> np.ndarray:
    """Mean |SHAP - its mean over the cells| per covariate, weighted, normalised to sum to 1.

    Centring each covariate's contributions on their mean over ``X`` (a
    region's cells) measures how much the covariate moves ln SOC *within*
    the region; for an emulator fitted over all land, the uncentred values
    would also count the region's offset from the global mean.
    """
    values = shap_values(estimator, X)
    mean = np.average(values, axis=0, weights=weight)
    return _normalise(np.average(np.abs(values - mean), axis=0, weights=weight))


@explainer("permutation")
def permutation_shares(estimator, X, weight, rng, repeats: int = 3) -> np.ndarray:
    """Increase of weighted squared error when one covariate is permuted, normalised."""
    base = estimator.predict(X)
    losses = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[:, j] = X[rng.permutation(len(X)), j]
            losses[j] += np.average((estimator.predict(shuffled) - base) ** 2, weights=weight)
    return _normalise(np.clip(losses, 0.0, None))


@response_method("ale")
def ale_curves(estimator, X, weight, grids: np.ndarray, min_points: int = 5) -> np.ndarray:
    """Centred accumulated local effects on per-covariate grids.

    Parameters
    ----------
    grids : ndarray, shape (p, K)
        Ascending grid points of each covariate.
    min_points : int
        An interval holding fewer of the dataset's cells borrows the local
        effect estimated over all cells (the emulator's extrapolation), so a
        dataset whose climate does not reach part of the grid still gets a
        curve there rather than a flat segment by construction.

    Returns
    -------
    ndarray, shape (p, K)
        Curve values in units of the target (ln SOC), centred to mean zero
        over the K grid points. The grid is the region's pooled observed
        quantiles, shared by every dataset, so this centring is the same for
        all of them; centring on each dataset's own weighted distribution would
        shift curves of the same response apart.
    """
    n_features, n_points = grids.shape
    curves = np.zeros((n_features, n_points))
    for j in range(n_features):
        batches, owners = [], []
        which = np.searchsorted(grids[j], X[:, j], side="left")
        for k in range(1, n_points):
            members = np.flatnonzero(which == k)
            if len(members) < min_points:
                members = np.arange(len(X))
            for edge in (k - 1, k):
                block = X[members].copy()
                block[:, j] = grids[j, edge]
                batches.append(block)
            owners.append(members)
        predictions = estimator.predict(np.concatenate(batches))
        offset, effects = 0, np.zeros(n_points - 1)
        for k, members in enumerate(owners):
            size = len(members)
            low = predictions[offset : offset + size]
            high = predictions[offset + size : offset + 2 * size]
            offset += 2 * size
            effects[k] = np.average(high - low, weights=weight[members])
        accumulated = np.concatenate([[0.0], np.cumsum(effects)])
        curves[j] = accumulated - accumulated.mean()
    return curves


@dataclass
class EmulationTask:
    """Inputs of one dataset's emulation: plain arrays, picklable.

    One emulator is fitted over all the dataset's valid cells (all land it
    covers), cross-validated with the run's shared spatial folds, and explained
    per region from the cells of that region (regional attribution).
    """

    dataset: str
    X: np.ndarray  # (n, p) covariates
    y: np.ndarray  # (n,) ln SOC
    weight: np.ndarray  # (n,) area x land fraction
    regions: tuple  # (R,) names of the regions explained
    membership: np.ndarray  # (R, n) bool: the cells of each region
    grids: np.ndarray  # (R, p, K) shared response grid of each region
    folds: np.ndarray  # (n,) CV fold of each cell: the same design for every dataset
    blocks: np.ndarray  # (n,) bootstrap block of each cell (about the autocorrelation range)
    block_size: float  # spatial CV block edge (degrees), for the record
    estimator: str
    params: dict
    explainer: str
    response: str
    bootstraps: int
    max_explain_cells: int
    seed: int
    select_rounds: bool = True  # boosted learners: rounds chosen by the out-of-fold R^2 (emulate.select_rounds)


@dataclass
class EmulationResult:
    """Outputs of one (dataset, region): the dataset's emulator explained over the region's cells."""

    dataset: str
    region: str
    n_cells: int
    cv_r2: float  # out-of-fold R^2 over the region's cells
    shares: np.ndarray  # (p,)
    curves: np.ndarray  # (p, K)
    boot_shares: np.ndarray  # (B, p) of each bootstrap refit (shares and curves are the mean over the fit and these)
    boot_curves: np.ndarray  # (B, p, K)
    block_size: float = float("nan")  # spatial CV block edge used (degrees)
    fit_r2: float = float("nan")  # out-of-fold R^2 of the emulator over all its cells
    rounds: float = float("nan")  # boosting rounds of the dataset's emulator (NaN for other learners)


def run_emulation(task: EmulationTask) -> list[EmulationResult]:
    """Fit, cross-validate, explain per region and bootstrap one dataset."""
    from threadpoolctl import threadpool_limits

    # One thread per task: results must not depend on the number of workers.
    with threadpool_limits(limits=1):
        return _run_emulation(task)


def _run_emulation(task: EmulationTask) -> list[EmulationResult]:
    # Common random numbers: every dataset gets the same seeds, so that datasets on
    # the same cells share explain samples and bootstrap draws, and a dataset's
    # results do not depend on its name.
    seed = derived_seed(task.seed)
    estimator = make_learner(task.estimator, task.params, seed % (2**31))
    if task.select_rounds:
        estimator, prediction = select_rounds(
            estimator, task.X, task.y, task.weight, task.folds, task.blocks, derived_seed(seed, "rounds")
        )
    else:
        prediction = out_of_fold_predictions(estimator, task.X, task.y, task.weight, task.folds)
    rounds = estimator.mean_rounds if hasattr(estimator, "mean_rounds") else float("nan")
    fit_r2 = weighted_r2(task.y, prediction, task.weight) if prediction is not None else float("nan")
    samples = [
        _explain_sample(np.flatnonzero(members), task.max_explain_cells, np.random.default_rng(derived_seed(seed, region)))
        for region, members in zip(task.regions, task.membership)
    ]

    def explain(sample_weight: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        keep = sample_weight > 0
        model = clone(estimator).fit(task.X[keep], task.y[keep], sample_weight=sample_weight[keep])
        return [
            (
                EXPLAINERS[task.explainer](model, task.X[rows], task.weight[rows], np.random.default_rng(seed + 1)),
                RESPONSE_METHODS[task.response](model, task.X[rows], task.weight[rows], grids),
            )
            for rows, grids in zip(samples, task.grids)
        ]

    main = explain(task.weight)
    rng = np.random.default_rng(derived_seed(seed, "bootstrap"))
    boots = [explain(task.weight * _block_bootstrap_counts(task.blocks, rng)) for _ in range(task.bootstraps)]
    results = []
    for r, (region, members) in enumerate(zip(task.regions, task.membership)):
        p, k = task.grids[r].shape
        # Bagging: the estimate is the mean over the fit and its bootstrap refits. On a noisy
        # product one boosted fit's shares move by a total variation of ~0.1 between refits;
        # the mean of B + 1 fits moves about sqrt(B + 1) times less.
        fits = [main[r], *(b[r] for b in boots)]
        results.append(
            EmulationResult(
                dataset=task.dataset,
                region=region,
                n_cells=int(members.sum()),
                cv_r2=_region_r2(task.y, prediction, task.weight, members),
                shares=np.mean([f[0] for f in fits], axis=0),
                curves=np.mean([f[1] for f in fits], axis=0),
                boot_shares=np.array([b[r][0] for b in boots]).reshape(-1, p),
                boot_curves=np.array([b[r][1] for b in boots]).reshape(-1, p, k),
                block_size=float(task.block_size),
                fit_r2=fit_r2,
                rounds=rounds,
            )
        )
    return results


def _region_r2(y: np.ndarray, prediction: np.ndarray | None, weight: np.ndarray, members: np.ndarray) -> float:
    if prediction is None or members.sum() < 2:
        return float("nan")
    return weighted_r2(y[members], prediction[members], weight[members])


def _explain_sample(rows: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return np.sort(rng.choice(rows, size=limit, replace=False))


def _block_bootstrap_counts(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How many times each cell is drawn when whole blocks are resampled."""
    labels, index = np.unique(groups, return_inverse=True)
    drawn = rng.integers(0, len(labels), size=len(labels))
    block_counts = np.bincount(drawn, minlength=len(labels))
    return block_counts[index].astype(float)
