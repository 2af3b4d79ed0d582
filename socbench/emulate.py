"""Emulate: per (dataset, region), learn ln(SOC) from the covariates.

Learners are registered by name; each is a scikit-learn style regressor with
``fit(X, y, sample_weight)`` and ``predict(X)``. Skill is measured by spatial
block cross-validation (blocks of ``block_size`` degrees are kept whole, so
neighbouring, autocorrelated cells never sit on both sides of a split;
latitude and longitude are never predictors).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import HistGradientBoostingRegressor

from .errors import DefinitionError
from .registry import Registry

#: Learner factories ``(params, seed) -> estimator``.
LEARNERS: Registry[Callable[[dict[str, Any], int], BaseEstimator]] = Registry("learner.estimator", "learner")
learner = LEARNERS.register


def make_learner(name: str, params: dict[str, Any], seed: int) -> BaseEstimator:
    """Build the registered learner ``name``."""
    factory = LEARNERS.get(name)
    try:
        return factory(dict(params), seed)
    except TypeError as exc:
        raise DefinitionError(f"learner.params: not valid for {name!r}: {exc}") from None


def check_learner(name: str, params: dict[str, Any]) -> None:
    """Build learner ``name`` and fit it on a small table, so that bad parameters fail at load.

    Raises
    ------
    DefinitionError
        Naming ``learner.params`` and what the learner refused.
    """
    from threadpoolctl import threadpool_limits

    estimator = make_learner(name, params, seed=0)
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(60, 2))
    y = X[:, 0] + 0.5 * np.sin(6.0 * X[:, 1]) + rng.normal(0.0, 0.05, size=60)
    try:
        with threadpool_limits(limits=1):  # starting a thread pool costs far more than this tiny fit
            estimator.fit(X, y, sample_weight=np.ones(60))
    except Exception as exc:  # learners validate their parameters in fit, with many exception types
        raise DefinitionError(f"learner.params: not valid for {name!r}: {exc}") from None


class BinnedGradientBoosting(RegressorMixin, BaseEstimator):
    """Histogram gradient-boosted trees on covariates binned by unweighted quantiles.

    scikit-learn's histogram GBM bins features itself, but with sample weights
    it finds the bin edges by weighted percentiles, which dominates the cost on
    small tables. Binning each covariate at its unweighted quantiles first
    (the same 255-bin resolution) gives the booster at most 255 distinct values
    per feature, so its own binning is trivial. The transform is monotone per
    feature, so SHAP values of the inner model are those of the covariates.

    Parameters
    ----------
    max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization
        As in :class:`sklearn.ensemble.HistGradientBoostingRegressor`.
    max_bins : int
        Bins per covariate (at most 255).
    random_state : int
    round_weights : sequence of float, optional
        Weight of the model cut after each round, ``1..max_iter`` (they are
        normalised to sum to 1). The fitted model is then the weighted mean of
        its truncations: tree ``t`` counts with the summed weight of the rounds
        ``>= t`` (see :func:`select_rounds`). None keeps every round.
    """

    def __init__(
        self,
        max_iter: int = 150,
        learning_rate: float = 0.1,
        max_depth: int | None = 4,
        min_samples_leaf: int = 10,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        random_state: int = 0,
        round_weights=None,
    ):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.random_state = random_state
        self.round_weights = round_weights

    def fit(self, X, y, sample_weight=None):
        X = np.asarray(X, dtype=float)
        levels = np.linspace(0.0, 1.0, self.max_bins + 1)[1:-1]
        self.thresholds_ = [np.unique(np.quantile(column, levels)) for column in X.T]
        # Early stopping would hold out a random validation split: keep all cells, fixed rounds.
        self.tree_model_ = HistGradientBoostingRegressor(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            early_stopping=False,
            random_state=self.random_state,
        ).fit(self.transform(X), y, sample_weight=sample_weight)
        if self.round_weights is not None:
            self._weight_trees(np.asarray(self.round_weights, float))
        return self

    def _weight_trees(self, round_weights: np.ndarray) -> None:
        # The mean of the truncated models is one ensemble whose tree t is scaled by the
        # weight of the truncations that hold it; scaling the leaf values makes predict()
        # and TreeSHAP (which reads the same nodes) explain that ensemble exactly.
        # ``_predictors`` is scikit-learn's private state (shap reads it too); a test checks
        # the mixture against staged predictions, so a change there fails loudly.
        if len(round_weights) != self.max_iter or np.any(round_weights < 0) or round_weights.sum() <= 0:
            raise ValueError(f"round_weights: expected {self.max_iter} non-negative weights, not all 0")
        tree_weights = np.cumsum((round_weights / round_weights.sum())[::-1])[::-1]
        for (predictor,), scale in zip(self.tree_model_._predictors, tree_weights):
            predictor.nodes["value"] *= scale

    @property
    def mean_rounds(self) -> float:
        """Boosting rounds: ``max_iter``, or the weighted mean round of a mixture (``round_weights``)."""
        if self.round_weights is None:
            return float(self.max_iter)
        weights = np.asarray(self.round_weights, float)
        return float(np.average(np.arange(1, len(weights) + 1), weights=weights))

    def transform(self, X) -> np.ndarray:
        """Bin index of each covariate value (as float)."""
        X = np.asarray(X, dtype=float)
        return np.column_stack(
            [np.searchsorted(edges, column, side="left") for edges, column in zip(self.thresholds_, X.T)]
        ).astype(float)

    def predict(self, X):
        return self.tree_model_.predict(self.transform(X))

    def staged_predict(self, X):
        """Predictions after each boosting round (a generator, as scikit-learn's)."""
        yield from self.tree_model_.staged_predict(self.transform(X))


@learner("gradient_boosting")
def gradient_boosting(params: dict[str, Any], seed: int) -> BaseEstimator:
    """Histogram gradient-boosted trees (scikit-learn), see :class:`BinnedGradientBoosting`."""
    return BinnedGradientBoosting(random_state=seed, **params)


class AdditiveGAM(RegressorMixin, BaseEstimator):
    """Penalised B-spline GAM, one smooth per covariate (statsmodels GLMGam).

    The transparent baseline learner: the functional-form approach of
    Nyaupane et al. (2024, Biogeosciences 21:5173). Being additive, its exact
    SHAP values are its centred partial effects (:meth:`partial_effects`).

    Parameters
    ----------
    df : int
        Degrees of freedom (basis size) of each spline.
    alpha : float
        Smoothing penalty of each spline.
    """

    def __init__(self, df: int = 8, alpha: float = 1.0):
        self.df = df
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        from statsmodels.gam.api import BSplines, GLMGam

        X = np.asarray(X, dtype=float)
        # Splines cannot extrapolate: predictions clip covariates to the training range.
        self.lower_, self.upper_ = X.min(axis=0), X.max(axis=0)
        self.splines_ = BSplines(X, df=[self.df] * X.shape[1], degree=[3] * X.shape[1])
        weights = None if sample_weight is None else np.asarray(sample_weight, float) / np.mean(sample_weight)
        model = GLMGam(
            np.asarray(y, float),
            exog=np.ones((len(X), 1)),
            smoother=self.splines_,
            alpha=[self.alpha] * X.shape[1],
            var_weights=weights,
        )
        self.result_ = model.fit()
        return self

    def _basis(self, X) -> np.ndarray:
        X = np.clip(np.asarray(X, dtype=float), self.lower_, self.upper_)
        return self.splines_.transform(X)

    def predict(self, X):
        basis = self._basis(X)
        return self.result_.params[0] + basis @ self.result_.params[1:]

    def partial_effects(self, X) -> np.ndarray:
        """(n, p) per-covariate contributions (not centred)."""
        basis = self._basis(X)
        coef = self.result_.params[1:]
        columns = []
        for mask in self.splines_.mask:
            columns.append(basis[:, mask] @ coef[mask])
        return np.column_stack(columns)


@learner("gam")
def gam(params: dict[str, Any], seed: int) -> BaseEstimator:
    """Additive spline GAM (statsmodels); deterministic, so the seed is unused."""
    return AdditiveGAM(**params)


def spatial_blocks(lat: np.ndarray, lon: np.ndarray, block_size: float) -> np.ndarray:
    """Integer block label of each cell: square blocks of ``block_size`` degrees."""
    rows = np.floor((np.asarray(lat) + 90.0) / block_size).astype(int)
    cols = np.floor((np.asarray(lon) + 180.0) / block_size).astype(int)
    return rows * 10_000 + cols


def great_circle_degrees(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, n) great-circle distances between points, in degrees of arc."""
    phi, lam = np.radians(lat), np.radians(lon)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    return np.degrees(np.arccos(np.clip(xyz @ xyz.T, -1.0, 1.0)))


def correlation_range(
    values: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    rng: np.random.Generator,
    threshold: float = 0.1,
    lag_step: float = 2.5,
    max_lag: float = 90.0,
    max_cells: int = 1500,
) -> float:
    """Distance (degrees) at which the structured spatial correlation of ``values`` falls below ``threshold``.

    The empirical correlogram (mean product of standardised values over
    pairs of cells in distance classes of ``lag_step`` degrees, classes with at
    least 100 pairs) is read from at most ``max_cells`` cells drawn with ``rng``
    and divided by its value at the shortest lag: white noise on top of a
    smooth field (a variogram's nugget) lowers every lag alike, so dividing it
    out makes the range that of the smooth part, whatever its noise. A field
    with no correlation at the shortest lag has range 0; ``max_lag`` is returned
    when the correlation never falls that low within it (or the region is smaller).
    """
    values = np.asarray(values, float)
    if len(values) > max_cells:
        keep = np.sort(rng.choice(len(values), size=max_cells, replace=False))
        values, lat, lon = values[keep], np.asarray(lat)[keep], np.asarray(lon)[keep]
    spread = values.std()
    if len(values) < 10 or spread == 0:
        return 0.0
    z = (values - values.mean()) / spread
    upper = np.triu_indices(len(z), k=1)
    distance = great_circle_degrees(lat, lon)[upper]
    products = np.outer(z, z)[upper]
    lag = np.floor(distance / lag_step).astype(int)
    n_lags = int(max_lag / lag_step)
    inside = lag < n_lags
    counts = np.bincount(lag[inside], minlength=n_lags)
    sums = np.bincount(lag[inside], weights=products[inside], minlength=n_lags)
    lags = [k for k in range(n_lags) if counts[k] >= 100]
    if not lags:
        return float(max_lag)
    first = sums[lags[0]] / counts[lags[0]]
    # mostly noise even at the shortest lag: correlation below 0.2, or within 3 standard errors of 0
    if first < max(threshold, 0.2, 3.0 / np.sqrt(counts[lags[0]])):
        return 0.0
    for k in lags[1:]:
        if sums[k] / counts[k] / first < threshold:
            return float(k * lag_step)
    return float(max_lag)


def block_size_from_data(
    y, lat, lon, rng, smallest: float, largest: float, factor: float = 2.0, threshold: float = 0.05
) -> float:
    """Spatial CV block edge (degrees): ``factor`` x the practical range of the spatial autocorrelation of ``y``.

    As blockCV does (Valavi et al. 2019, MEE 10:225; Roberts et al. 2017,
    Ecography 40:913), blocks are made at least as large as the range of
    spatial autocorrelation of the response: the distance at which its
    correlogram falls below ``threshold`` (the practical range). A field that
    the covariates truly explain is predicted across blocks of any size; a
    field that is only spatially smooth is not, once its blocks are larger than
    its features, because covariates can no longer stand in for location.
    Cells near a block's edge still see the neighbouring blocks within the
    range, hence the margin ``factor``: on the synthetic world a noise field
    with a ~35 degree practical range keeps a CV R^2 of 0.59 with blocks of
    1x its range and 0.23 with 2x, while the faithful model keeps 0.89-0.93
    (tests/test_scenarios.py). The result is rounded up to a whole degree and
    clipped to ``[smallest, largest]``.
    """
    distance = correlation_range(np.asarray(y, float), lat, lon, rng, threshold=threshold)
    return float(np.clip(np.ceil(factor * distance), smallest, largest))


def weighted_r2(y: np.ndarray, prediction: np.ndarray, weight: np.ndarray) -> float:
    """Weighted coefficient of determination."""
    mean = np.average(y, weights=weight)
    total = np.sum(weight * (y - mean) ** 2)
    if total <= 0:
        return float("nan")
    return float(1.0 - np.sum(weight * (y - prediction) ** 2) / total)


def block_folds(blocks: np.ndarray, folds: int, seed: int) -> dict[int, int]:
    """CV fold of each spatial block: the blocks, shuffled with ``seed``, dealt to ``folds`` folds in turn.

    Built once from every land block of the analysis grid, so that every
    dataset is validated with the same folds whatever cells it covers.
    """
    labels = np.unique(np.asarray(blocks))
    order = np.random.default_rng(seed).permutation(len(labels))
    return {int(labels[i]): position % folds for position, i in enumerate(order)}


def _fold_fits(estimator: BaseEstimator, X, y, weight, folds: np.ndarray):
    """Each fold's held-out cells and a clone of ``estimator`` fitted on the other folds."""
    from sklearn.base import clone

    for fold in np.unique(folds):
        test = folds == fold
        yield test, clone(estimator).fit(X[~test], y[~test], sample_weight=weight[~test])


def out_of_fold_predictions(estimator: BaseEstimator, X, y, weight, folds: np.ndarray) -> np.ndarray | None:
    """Predictions of each cell by a model fitted on the other folds (None with fewer than two folds)."""
    if len(np.unique(folds)) < 2:
        return None
    prediction = np.empty_like(y, dtype=float)
    for test, model in _fold_fits(estimator, X, y, weight, folds):
        prediction[test] = model.predict(X[test])
    return prediction


def select_rounds(
    estimator: BaseEstimator, X, y, weight, folds: np.ndarray, blocks: np.ndarray, seed: int, resamples: int = 200
) -> tuple[BaseEstimator, np.ndarray | None]:
    """Out-of-fold predictions, with a boosted learner averaged over the rounds that predict best out of fold.

    A boosted fit on a noisy product would go on fitting its noise, and SHAP
    spreads that fit over all drivers, flattening the product's shares toward
    equal; so the number of rounds is chosen by the out-of-fold weighted R^2
    on the shared spatial folds. On a noisy product that skill curve is flat
    near its top, and its argmax jumps (26 -> 36 rounds under a 0.1 % change
    of one product's SOC), taking the driver scores with it. The argmax is
    therefore bagged like the shares: the spatial ``blocks`` are resampled
    ``resamples`` times (fixed ``seed``), and each round is weighted by how
    often it predicts best. The learner becomes the weighted mean of its
    truncations (``round_weights``), which moves little when the curve does;
    a nearly deterministic model keeps (almost) all its rounds.

    Learners without ``staged_predict`` and ``round_weights`` are returned
    unchanged with their out-of-fold predictions.

    Returns
    -------
    estimator, prediction
        The (possibly re-parametrised) unfitted estimator and its out-of-fold
        predictions (None with fewer than two folds).
    """
    from sklearn.base import clone

    boosted = hasattr(estimator, "staged_predict") and "round_weights" in estimator.get_params()
    if len(np.unique(folds)) < 2 or not boosted:
        return estimator, out_of_fold_predictions(estimator, X, y, weight, folds)
    stages = np.zeros((estimator.get_params()["max_iter"], len(y)))
    for test, model in _fold_fits(estimator, X, y, weight, folds):
        for round_, prediction in enumerate(model.staged_predict(X[test])):
            stages[round_, test] = prediction
    round_weights = best_round_frequency(stages, y, weight, blocks, seed, resamples)
    used = int(np.flatnonzero(round_weights)[-1]) + 1
    chosen = clone(estimator).set_params(max_iter=used, round_weights=tuple(round_weights[:used]))
    return chosen, round_weights @ stages


def best_round_frequency(
    stages: np.ndarray, y: np.ndarray, weight: np.ndarray, blocks: np.ndarray, seed: int, resamples: int
) -> np.ndarray:
    """How often each round's predictions (rows of ``stages``) have the least weighted squared error.

    Over ``resamples`` block bootstraps of the cells (whole ``blocks`` drawn
    with replacement); returns one weight per round, summing to 1. With the
    same draws for every dataset, a small change of the inputs moves a few
    resamples' best round, not the whole choice.
    """
    labels, index = np.unique(blocks, return_inverse=True)
    squared_error = weight * (stages - y) ** 2  # (rounds, cells)
    per_block = np.stack([np.bincount(index, weights=row, minlength=len(labels)) for row in squared_error], axis=1)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, len(labels), len(labels)), minlength=len(labels)) for _ in range(resamples)])
    best = np.argmin(counts @ per_block, axis=1)
    return np.bincount(best, minlength=len(stages)) / resamples


def cross_validated_r2(estimator: BaseEstimator, X, y, weight, groups, folds: int, seed: int = 0) -> float:
    """Weighted R^2 of out-of-fold predictions over spatial-block folds."""
    fold_of = block_folds(groups, folds, seed)
    prediction = out_of_fold_predictions(estimator, X, y, weight, np.array([fold_of[int(g)] for g in groups]))
    return weighted_r2(y, prediction, weight) if prediction is not None else float("nan")
