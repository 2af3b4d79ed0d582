"""Metrics: pure functions of arrays that the scores are built from.

Each takes arrays (explicit ``axis`` and ``weights`` where it matters) and
returns numbers; no I/O and no knowledge of datasets or regions, in the manner
of xskillscore. The formulas and their meanings are in ``docs/method.md``.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import weightedtau

#: Below this norm (ln SOC units) a response curve counts as flat.
FLAT_CURVE = 1e-9


def total_variation(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total-variation distance ``1/2 sum |a - b|`` between share vectors along ``axis``."""
    return 0.5 * np.abs(np.asarray(a, float) - np.asarray(b, float)).sum(axis=axis)


def group_shares(shares: np.ndarray, groups: list[list[int]]) -> np.ndarray:
    """Shares summed within each group of drivers, along the last axis.

    Strongly collinear drivers trade credit between fits (a tree splits on
    whichever it meets first), so their shares are compared as one group.
    """
    shares = np.asarray(shares, float)
    return np.stack([shares[..., group].sum(axis=-1) for group in groups], axis=-1)


def collinear_groups(covariates: np.ndarray, weight: np.ndarray, threshold: float) -> list[list[int]]:
    """Groups of drivers linked by a weighted |correlation| of at least ``threshold``.

    Parameters
    ----------
    covariates : ndarray, shape (p, n)
        The drivers over a region's cells.
    weight : ndarray, shape (n,)
        Cell weights.
    threshold : float
        Drivers correlated at least this strongly (either sign) share a group;
        groups are the connected components of that relation. Above 1, every
        driver is its own group.
    """
    covariates, weight = np.asarray(covariates, float), np.asarray(weight, float)
    p = len(covariates)
    parent = list(range(p))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    if threshold <= 1 and covariates.shape[1] > 2:
        anomalies = covariates - np.average(covariates, axis=1, weights=weight)[:, None]
        scale = np.sqrt(np.average(anomalies**2, axis=1, weights=weight))
        for i in range(p):
            for j in range(i + 1, p):
                if scale[i] > 0 and scale[j] > 0:
                    r = np.average(anomalies[i] * anomalies[j], weights=weight) / (scale[i] * scale[j])
                    if abs(r) >= threshold:
                        parent[root(j)] = root(i)
    groups: dict[int, list[int]] = {}
    for i in range(p):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def curve_correlation(model: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-driver correlation of centred response curves (1 same shape, 0 flat, -1 mirrored).

    Parameters
    ----------
    model, obs : ndarray, shape (p, K)
        Curves on the same grid of observed quantiles (equal observation mass
        between grid points, so the points weigh alike). A flat curve has
        correlation 0 with any other.
    """
    model, obs = np.asarray(model, float), np.asarray(obs, float)
    model = model - model.mean(axis=-1, keepdims=True)
    obs = obs - obs.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(model, axis=-1) * np.linalg.norm(obs, axis=-1)
    dot = np.sum(model * obs, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > FLAT_CURVE**2, dot / np.where(norms > 0, norms, 1.0), 0.0)


def amplitude_ratio(model: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """Per-driver ratio of curve amplitudes ``||f_model|| / ||f_obs||`` (the sensitivity ratio).

    For straight curves it is the ratio of slopes, e.g. of d ln SOC / d MAT
    (the quantity Koven et al. 2017 and Varney et al. 2020 compare); NaN where
    the observed curve is flat.
    """
    model, obs = np.asarray(model, float), np.asarray(obs, float)
    model_norm = np.linalg.norm(model - model.mean(axis=-1, keepdims=True), axis=-1)
    obs_norm = np.linalg.norm(obs - obs.mean(axis=-1, keepdims=True), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(obs_norm > FLAT_CURVE, model_norm / np.where(obs_norm > 0, obs_norm, 1.0), np.nan)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    weights = np.asarray(weights, float)
    if weights.sum() <= 0:
        return float("nan")
    return float(np.sum(weights * values) / weights.sum())


#: Amplitude ratios between which a response curve goes from flat to fully shaped (see :func:`shape_correlation`).
FLAT_RAMP = (0.15, 0.4)


def shape_correlation(model: np.ndarray, obs: np.ndarray, flat_ramp: tuple = FLAT_RAMP) -> np.ndarray:
    """Per-driver correlation of the curves, counting a curve of negligible amplitude as flat.

    The correlation of a curve with almost no amplitude (a driver the
    dataset hardly responds to) is noise: its sign flips between replicate
    fits. Below ``flat_ramp[0]`` times the observed amplitude the curve
    counts as flat (0); above ``flat_ramp[1]`` its correlation counts whole;
    linearly in between. Steeper curves (ratio > 1) are never affected, so
    shape stays apart from sensitivity.
    """
    low, high = flat_ramp
    ratio = np.nan_to_num(amplitude_ratio(model, obs), nan=0.0)
    return curve_correlation(model, obs) * np.clip((ratio - low) / (high - low), 0.0, 1.0)


def shape_distance(model: np.ndarray, obs: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean of ``(1 - r_j) / 2`` over drivers: 0 same shapes, 0.5 flat, 1 mirrored.

    ``r_j`` is :func:`shape_correlation`; ``weights`` (p,) weigh the drivers
    (observed shares; 0 for drivers whose shape is not judged).
    """
    return correlation_distance(shape_correlation(model, obs), weights)


def correlation_distance(correlation: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean of ``(1 - r_j) / 2``: the shape distance from per-driver correlations."""
    return _weighted_mean((1.0 - np.asarray(correlation, float)) / 2.0, weights)


def ratio_terms(ratio: np.ndarray) -> np.ndarray:
    """Per driver, ``1 - min(rho, 1/rho)``: the share of the amplitude missing or in excess (NaN counts 0)."""
    ratio = np.asarray(ratio, float)
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        closeness = np.where(ratio > 0, np.minimum(ratio, 1.0 / np.where(ratio > 0, ratio, 1.0)), 0.0)
    return 1.0 - closeness


def ratio_distance(ratio: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean of :func:`ratio_terms`: the sensitivity distance from per-driver ratios."""
    return _weighted_mean(ratio_terms(ratio), weights)


def sensitivity_distance(model: np.ndarray, obs: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean over drivers of ``1 - min(rho, 1/rho)``, rho the amplitude ratio.

    The share of the amplitude missing (rho < 1) or in excess (rho > 1): 0 for
    the observed amplitude, 0.5 for twice or half, 0.75 for four times or a
    quarter, 1 for a flat curve. Symmetric in ln rho like ``|ln rho|``, but
    bounded, so that a barely responding driver (rho 0.06 or 0.27) does not
    swing the score as ``|ln rho|`` would.
    """
    return ratio_distance(amplitude_ratio(model, obs), weights)


def graded_score(
    distance: float,
    tolerance: float,
    distance_max: float,
    power: float,
    null_distance: float | None = None,
    null_score: float = 0.25,
    anchor_factor: float = 1.5,
) -> float:
    """Graded score of a distance: 1 within the tolerance, falling with a slope bounded in tolerance units.

    With a null reference (``null_distance``, the distance of a reference that
    knows nothing, e.g. equal driver shares), the score is anchored to it as
    a skill score is to its reference forecast (Murphy 1988, MWR 116:2417):
    it falls linearly from 1 at the tolerance ``t`` to ``null_score`` at the
    anchor ``a = max(d_null, anchor_factor t)``, then as
    ``null_score ((d_max' - D) / (d_max' - a))^power`` to 0 at ``d_max'``.
    Without one, it is ``((d_max' - D) / (d_max' - t))^power``.

    ``d_max'`` is ``distance_max``, extended where needed so that the tail
    never falls faster than the segment before it. The slope of the map is
    thus at most ``max(1 - null_score, 1) / ((anchor_factor - 1) t)`` (or
    ``1 / t`` without a null), and the score is continuous in the distance,
    the tolerance, the null distance and ``distance_max``: no setting can
    make it jump.
    """
    if not np.isfinite(distance):
        return float("nan")
    if distance <= tolerance:
        return 1.0
    if null_distance is None or not np.isfinite(null_distance):
        top = max(distance_max, tolerance * (1.0 + power))
        return float(max(0.0, (top - distance) / (top - tolerance)) ** power)
    anchor = max(null_distance, anchor_factor * tolerance)
    if distance <= anchor:
        return float(1.0 - (1.0 - null_score) * (distance - tolerance) / (anchor - tolerance))
    linear_slope = (1.0 - null_score) / (anchor - tolerance)
    top = max(distance_max, anchor + null_score * power / linear_slope)
    return float(null_score * max(0.0, (top - distance) / (top - anchor)) ** power)


def relative_stock_score(model_stock: float, obs_stock: float, tolerance: float) -> float:
    """Total-stock score ``exp(-max(0, |m - o| / |o| - tolerance))``, tolerance relative to ``o``."""
    if not (np.isfinite(model_stock) and np.isfinite(obs_stock)) or obs_stock == 0:
        return float("nan")
    return float(np.exp(-max(abs(model_stock - obs_stock) / abs(obs_stock) - tolerance, 0.0)))


def ilamb_bias_score(
    model: np.ndarray, reference: np.ndarray, weights: np.ndarray, uncertainty=0.0, mass_weighted: bool = False
) -> float:
    """ILAMB's bias score of a time-mean field (Collier et al. 2018, JAMES 10:2731).

    Per cell ``s = exp(-max(0, |m - r| - u) / |r|)``, then the weighted mean
    over the cells where both are finite. This is ilamb3's ``Collier2018``
    method (``ilamb3.analysis.bias``) for a reference without time variation,
    where the bias is normalised by the reference itself.

    Parameters
    ----------
    model, reference : ndarray
        Fields on the same cells.
    weights : ndarray
        Cell weights (area x land fraction).
    uncertainty : float or ndarray
        Reference uncertainty per cell (here the spread of the products).
    mass_weighted : bool
        Weight cells by area x |reference| (the reference's mass), as ILAMB 2.x
        does for soil carbon (``mass_weighting = True`` in its confrontation);
        by area only (ilamb3's default) otherwise.
    """
    model, reference, weights = (np.asarray(x, float) for x in (model, reference, weights))
    uncertainty = np.broadcast_to(np.asarray(uncertainty, float), model.shape)
    ok = np.isfinite(model) & np.isfinite(reference) & (reference != 0) & (weights > 0)
    if not ok.any():
        return float("nan")
    excess = np.maximum(np.abs(model[ok] - reference[ok]) - uncertainty[ok], 0.0)
    cell_weights = weights[ok] * np.abs(reference[ok]) if mass_weighted else weights[ok]
    return float(np.average(np.exp(-excess / np.abs(reference[ok])), weights=cell_weights))


def _taylor_score(correlation: float, sigma: float) -> float:
    """ILAMB's spatial distribution score ``2 (1 + R) / (sigma + 1/sigma)^2`` (Taylor 2001)."""
    return float(2.0 * (1.0 + correlation) / (sigma + 1.0 / sigma) ** 2)


def _weighted_anomalies(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return values - np.average(values, weights=weight)


def shared_signal(products: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Variance the products share, and its fraction of their mean variance.

    Parameters
    ----------
    products : ndarray, shape (n, cells)
        Two or more SOC fields on the same cells (no NaN).
    weight : ndarray, shape (cells,)

    The mean covariance over pairs of products estimates the variance of the
    field they all measure, when their errors are independent; the rest of a
    product's variance is its own noise. A single product has no pair to tell
    its noise apart: its whole variance counts (fraction 1), so that the
    spatial score against it is ILAMB's. NaN for no product.
    """
    products = np.asarray(products, float)
    n = len(products)
    if n == 0:
        return float("nan"), float("nan")
    anomalies = np.array([_weighted_anomalies(p, weight) for p in products])
    if n == 1:
        return float(np.average(anomalies[0] ** 2, weights=weight)), 1.0
    pairs = [np.average(anomalies[i] * anomalies[j], weights=weight) for i in range(n) for j in range(i + 1, n)]
    signal = float(np.mean(pairs))
    total = float(np.mean([np.average(a * a, weights=weight) for a in anomalies]))
    return signal, (signal / total if total > 0 else float("nan"))


def signal_spatial_score(model: np.ndarray, centre: np.ndarray, weight: np.ndarray, signal: float) -> float:
    """Taylor score of a field against the products' shared signal rather than their noisy mean.

    ``R = cov(model, centre) / (sd_model sqrt(signal))`` (clipped to [-1, 1])
    and ``sigma = sd_model / sqrt(signal)``, with ``signal`` from
    :func:`shared_signal`: the correlation and the spread the field would have
    against the field the products measure, were their noise removed (the
    correction for attenuation, Spearman 1904). Against the noisy mean, a
    field with the true pattern and spread scored ~0.24 where the products
    share a tenth of their variance, and a field of noise with the products'
    spread ~0.4. Here the first scores ~1 and the second ~0.5 at best (R 0).
    """
    model, centre, weight = (np.asarray(x, float).ravel() for x in (model, centre, weight))
    if not signal > 0 or len(model) < 3:
        return float("nan")
    m_anom = _weighted_anomalies(model, weight)
    sd_m = float(np.sqrt(np.average(m_anom**2, weights=weight)))
    if sd_m == 0:
        return 0.0
    covariance = float(np.average(m_anom * _weighted_anomalies(centre, weight), weights=weight))
    correlation = float(np.clip(covariance / (sd_m * np.sqrt(signal)), -1.0, 1.0))
    return _taylor_score(correlation, sd_m / np.sqrt(signal))


def weighted_kendall_tau(model_shares: np.ndarray, obs_shares: np.ndarray) -> float:
    """Weighted Kendall tau of the driver rankings (top drivers count most)."""
    return float(weightedtau(np.asarray(obs_shares), np.asarray(model_shares))[0])


def weighted_overall(components: dict[str, float], weights: dict[str, float], assessed: list[str]) -> float:
    """Weighted mean of the ``assessed`` components, a missing score counting 0.

    ``assessed`` are the components judged in the region for everyone, so
    every candidate's overall rests on the same components: one never ranks
    above another for having fewer.
    """
    pairs = [(components.get(k, np.nan), weights.get(k, 0.0)) for k in assessed if weights.get(k, 0.0) > 0]
    if not pairs:
        return float("nan")
    values, w = zip(*pairs)
    values = np.where(np.isfinite(values), values, 0.0)
    return float(np.average(values, weights=w))


def nearest_neighbour_outliers(distances: np.ndarray, floor: float, factor: float = 3.0) -> list[int]:
    """Indices of members far from every other member of a set.

    A member is an outlier when the distance to its nearest neighbour exceeds
    both ``floor`` and ``factor`` times the median nearest-neighbour distance
    of the other members. Needs three members or more (with two, neither can
    be told from the other); at least two members are always kept, the
    farthest outliers being removed first.

    Parameters
    ----------
    distances : ndarray, shape (n, n)
        Symmetric distances between the members.
    """
    distances = np.asarray(distances, float)
    n = len(distances)
    if n < 3:
        return []
    nearest = np.array([np.min(np.delete(distances[i], i)) for i in range(n)])
    outliers = []
    for i in np.argsort(-nearest):
        others = np.median(np.delete(nearest, i))
        if nearest[i] > max(floor, factor * others) and n - len(outliers) > 2:
            outliers.append(int(i))
    return sorted(outliers)


def log_ratio_outliers(values: np.ndarray, limit: float) -> tuple[list[int], bool]:
    """Values more than ``limit`` times above or below the median of all, and whether the rest agree.

    Ratios are compared on a log scale, so 10x and 0.1x are equally far. A
    strict minority at most is flagged: when half the values or more would
    be, none is. The set is consistent when the values left span at most a
    factor ``limit``; with two values that disagree by more, neither can be
    told from the other, and the set is inconsistent.

    Returns
    -------
    flagged : list of int
        Indices of the outlying values.
    consistent : bool
        Whether the values that are not flagged agree within ``limit``.
    """
    values = np.asarray(values, float)
    if len(values) == 0 or np.any(values <= 0) or not np.all(np.isfinite(values)):
        return [], False
    log_gap = np.abs(np.log(values) - np.log(np.median(values)))
    flagged = [int(i) for i in np.flatnonzero(log_gap > np.log(limit))]
    if len(flagged) >= len(values) / 2:
        flagged = []
    kept = np.delete(values, flagged)
    return flagged, bool(kept.max() / kept.min() <= limit)
