"""Explain: importance shares and response curves of a fitted emulator.

- Importance shares: mean |SHAP| per covariate, area-weighted, normalised to
  sum to 1 (grouped permutation importance as a registered alternative).
- Response curves: accumulated local effects (ALE; Apley & Zhu 2020, JRSS-B
  82:1059) on a shared grid of pooled observed covariate quantiles, centred,
  in ln SOC units, so that curves of different datasets are comparable.
- Spatial-block bootstraps (whole blocks resampled with replacement, refit)
  give each dataset's sampling spread.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.base import clone

from .emulate import block_size_from_data, cross_validated_r2, make_learner, spatial_blocks
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
    """Mean |SHAP| per covariate, weighted, normalised to sum to 1."""
    values = np.abs(shap_values(estimator, X))
    return _normalise(np.average(values, axis=0, weights=weight))


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
    """Inputs of one (dataset, region) emulation: plain arrays, picklable."""

    dataset: str
    region: str
    X: np.ndarray  # (n, p) covariates
    y: np.ndarray  # (n,) ln SOC
    weight: np.ndarray  # (n,) area x land fraction
    lat: np.ndarray
    lon: np.ndarray
    grids: np.ndarray  # (p, K) shared response grid
    estimator: str
    params: dict
    explainer: str
    response: str
    block_size: float | None  # None: chosen from the data, within the limits below
    block_size_min: float
    block_size_max: float
    block_range_factor: float
    folds: int
    bootstraps: int
    max_explain_cells: int
    seed: int


@dataclass
class EmulationResult:
    """Outputs of one (dataset, region) emulation."""

    dataset: str
    region: str
    n_cells: int
    cv_r2: float
    shares: np.ndarray  # (p,)
    curves: np.ndarray  # (p, K)
    boot_shares: np.ndarray  # (B, p)
    boot_curves: np.ndarray  # (B, p, K)
    block_size: float = float("nan")  # spatial CV block edge used (degrees)


def run_emulation(task: EmulationTask) -> EmulationResult:
    """Fit, cross-validate, explain and bootstrap one (dataset, region)."""
    from threadpoolctl import threadpool_limits

    # One thread per task: results must not depend on the number of workers.
    with threadpool_limits(limits=1):
        return _run_emulation(task)


def _run_emulation(task: EmulationTask) -> EmulationResult:
    # Common random numbers: every dataset of a region gets the same seed, so that
    # datasets on the same cells share explain samples and bootstrap draws, and a
    # dataset's results do not depend on its name.
    seed = derived_seed(task.seed, task.region)
    rng = np.random.default_rng(seed)
    estimator = make_learner(task.estimator, task.params, seed % (2**31))
    block_size = task.block_size
    if block_size is None:
        block_size = block_size_from_data(
            task.y, task.lat, task.lon, np.random.default_rng(seed + 2), task.block_size_min, task.block_size_max,
            task.block_range_factor,
        )
    groups = spatial_blocks(task.lat, task.lon, block_size)
    cv_r2 = cross_validated_r2(estimator, task.X, task.y, task.weight, groups, task.folds)
    explain_rows = _explain_sample(len(task.y), task.max_explain_cells, rng)
    X_explain, w_explain = task.X[explain_rows], task.weight[explain_rows]

    def explain(sample_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        keep = sample_weight > 0
        model = clone(estimator).fit(task.X[keep], task.y[keep], sample_weight=sample_weight[keep])
        shares = EXPLAINERS[task.explainer](model, X_explain, w_explain, np.random.default_rng(seed + 1))
        curves = RESPONSE_METHODS[task.response](model, X_explain, w_explain, task.grids)
        return shares, curves

    shares, curves = explain(task.weight)
    boot_shares, boot_curves = [], []
    for _ in range(task.bootstraps):
        counts = _block_bootstrap_counts(groups, rng)
        b_shares, b_curves = explain(task.weight * counts)
        boot_shares.append(b_shares)
        boot_curves.append(b_curves)
    p, k = task.grids.shape
    return EmulationResult(
        dataset=task.dataset,
        region=task.region,
        n_cells=len(task.y),
        cv_r2=cv_r2,
        shares=shares,
        curves=curves,
        boot_shares=np.array(boot_shares).reshape(-1, p),
        boot_curves=np.array(boot_curves).reshape(-1, p, k),
        block_size=float(block_size),
    )


def _explain_sample(n: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(rng.choice(n, size=limit, replace=False))


def _block_bootstrap_counts(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How many times each cell is drawn when whole blocks are resampled."""
    labels, index = np.unique(groups, return_inverse=True)
    drawn = rng.integers(0, len(labels), size=len(labels))
    block_counts = np.bincount(drawn, minlength=len(labels))
    return block_counts[index].astype(float)
