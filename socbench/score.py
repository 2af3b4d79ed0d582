"""Score: compare each model with the observational envelope.

The metric functions at the top are pure functions of arrays (explicit
weights, no I/O), testable in isolation. :func:`score_region` assembles them
into tidy rows for one region; the observation products are scored the same
way against each other (leave-one-product-out) for the ceiling.

Formulas (DESIGN.md, section Score):

- tolerance score ``S = exp(-max(0, D - delta) / max(delta, delta_min))`` where
  ``delta`` is the obs-obs scale: the median pairwise distance between the
  products, or their median bootstrap spread if larger, floored at ``delta_min``;
- importance distance: total variation ``1/2 sum |s_model - s_obs|`` over the
  variance shares (driver shares times CV R^2, plus the unexplained ``1 - R^2``);
- response distance: ``sum_j s_obs_j ||f_model_j - f_obs_j|| / ||f_obs_j||``;
- stock bias (ILAMB-style): ``exp(-max(|m - o| - u, 0) / |o|)``, u the
  inter-product standard deviation of the stock;
- spatial distribution (Taylor 2001, as in ILAMB):
  ``2 (1 + R) / (sigma + 1/sigma)^2`` with sigma the ratio of weighted
  standard deviations, divided by the products' own median agreement
  (capped at 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

import numpy as np
from scipy.stats import weightedtau

from .results import COMPONENTS

# ------------------------------------------------------------ pure metrics


def total_variation(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total-variation distance ``1/2 sum |a - b|`` between share vectors."""
    return 0.5 * np.abs(np.asarray(a) - np.asarray(b)).sum(axis=axis)


def variance_shares(shares: np.ndarray, r2: float) -> np.ndarray:
    """Shares of the variance of ln SOC: each driver's, then the unexplained part.

    The importance shares (summing to 1) are scaled by the emulator's CV R^2
    (clipped to [0, 1]) and ``1 - R^2`` is appended, so a dataset that the
    drivers explain poorly differs from a well-explained one by that much.
    """
    explained = float(np.clip(r2, 0.0, 1.0)) if np.isfinite(r2) else 0.0
    shares = np.asarray(shares, float)
    tail = np.full(shares.shape[:-1] + (1,), 1.0 - explained)
    return np.concatenate([shares * explained, tail], axis=-1)


def response_distance(model: np.ndarray, obs: np.ndarray, obs_shares: np.ndarray, floor: float = 0.1) -> float:
    """Importance-weighted relative L2 distance between response curves.

    Parameters
    ----------
    model, obs : ndarray, shape (p, K)
        Centred curves on the same grid.
    obs_shares : ndarray, shape (p,)
        Observed importance shares (weights of the sum).
    floor : float
        Each ``||f_obs_j||`` is floored at ``floor`` times the largest one, so
        a covariate with a flat observed response does not divide by ~0.
    """
    model, obs = np.asarray(model, float), np.asarray(obs, float)
    norms = np.linalg.norm(obs, axis=1)
    norms = np.maximum(norms, floor * norms.max()) if norms.max() > 0 else np.ones_like(norms)
    return float(np.sum(np.asarray(obs_shares) * np.linalg.norm(model - obs, axis=1) / norms))


def tolerance_score(distance: float, delta: float, delta_min: float) -> float:
    """``exp(-max(0, D - delta) / max(delta, delta_min))``: 1 within the obs-obs scale."""
    if not np.isfinite(distance):
        return float("nan")
    scale = max(delta, delta_min) if np.isfinite(delta) else delta_min
    return float(np.exp(-max(0.0, distance - scale) / scale))


def stock_bias_score(model_stock: float, obs_stock: float, spread: float) -> float:
    """ILAMB-style bias score ``exp(-max(|m - o| - u, 0) / |o|)``."""
    if not (np.isfinite(model_stock) and np.isfinite(obs_stock)) or obs_stock == 0:
        return float("nan")
    return float(np.exp(-max(abs(model_stock - obs_stock) - spread, 0.0) / abs(obs_stock)))


def spatial_distribution_score(model: np.ndarray, obs: np.ndarray, weight: np.ndarray) -> float:
    """Taylor-style score ``2 (1 + R) / (sigma + 1/sigma)^2``, area-weighted."""
    model, obs, weight = (np.asarray(x, float).ravel() for x in (model, obs, weight))
    ok = np.isfinite(model) & np.isfinite(obs) & (weight > 0)
    if ok.sum() < 3:
        return float("nan")
    m, o, w = model[ok], obs[ok], weight[ok]
    m_anom, o_anom = m - np.average(m, weights=w), o - np.average(o, weights=w)
    sd_m, sd_o = np.sqrt(np.average(m_anom**2, weights=w)), np.sqrt(np.average(o_anom**2, weights=w))
    if sd_m == 0 or sd_o == 0:
        return 0.0
    correlation = np.average(m_anom * o_anom, weights=w) / (sd_m * sd_o)
    sigma = sd_m / sd_o
    return float(2.0 * (1.0 + correlation) / (sigma + 1.0 / sigma) ** 2)


def weighted_kendall_tau(model_shares: np.ndarray, obs_shares: np.ndarray) -> float:
    """Weighted Kendall tau of the driver rankings (top drivers count most)."""
    return float(weightedtau(np.asarray(obs_shares), np.asarray(model_shares))[0])


def obs_obs_scale(pairwise: list[float], bootstrap_spread: list[float], delta_min: float) -> float:
    """The obs-obs scale delta: median pairwise distance or bootstrap spread, floored."""
    candidates = [delta_min]
    if pairwise:
        candidates.append(float(np.median(pairwise)))
    if bootstrap_spread:
        candidates.append(float(np.median(bootstrap_spread)))
    return max(candidates)


def weighted_overall(components: dict[str, float], weights: dict[str, float]) -> float:
    """Weighted mean of the available (finite) component scores."""
    pairs = [(components[k], w) for k, w in weights.items() if w > 0 and np.isfinite(components.get(k, np.nan))]
    if not pairs:
        return float("nan")
    values, w = zip(*pairs)
    return float(np.average(values, weights=w))


# ------------------------------------------------------------ assembly


@dataclass
class Explained:
    """What scoring needs of one (dataset, region) emulation."""

    shares: np.ndarray
    curves: np.ndarray
    boot_shares: np.ndarray
    boot_curves: np.ndarray
    cv_r2: float

    def variance_shares(self, boot: bool = False) -> np.ndarray:
        """See :func:`variance_shares`; of the bootstrap replicates when ``boot``."""
        return variance_shares(self.boot_shares if boot else self.shares, self.cv_r2)


@dataclass
class RegionData:
    """Everything scored in one region.

    ``fields`` are SOC densities (kg m-2) on the analysis grid, NaN where a
    dataset has no data; ``weight`` is cell area x reference land fraction;
    ``mask`` selects the region's cells.
    """

    name: str
    mask: np.ndarray
    weight: np.ndarray
    fields: dict[str, np.ndarray]
    explained: dict[str, Explained]
    products: list[str]


@dataclass(frozen=True)
class ScoreSettings:
    weights: dict[str, float]
    delta_min: dict[str, float]


def _importance_scale(products: list[str], explained: dict[str, Explained], delta_min: float) -> float:
    pairwise = [
        total_variation(explained[a].variance_shares(), explained[b].variance_shares())
        for a, b in permutations(products, 2)
    ]
    spread = [
        float(np.mean(total_variation(explained[p].variance_shares(boot=True), explained[p].variance_shares())))
        for p in products
        if len(explained[p].boot_shares)
    ]
    return obs_obs_scale(pairwise, spread, delta_min)


def _response_scale(products: list[str], explained: dict[str, Explained], delta_min: float) -> float:
    pairwise = [
        response_distance(explained[a].curves, explained[b].curves, explained[b].shares)
        for a, b in permutations(products, 2)
    ]
    spread = [
        float(np.mean([response_distance(c, explained[p].curves, explained[p].shares) for c in explained[p].boot_curves]))
        for p in products
        if len(explained[p].boot_curves)
    ]
    return obs_obs_scale(pairwise, spread, delta_min)


def _common_cells(region: RegionData, datasets: list[str]) -> np.ndarray:
    cells = region.mask & (region.weight > 0)
    for name in datasets:
        cells &= np.isfinite(region.fields[name])
    return cells


def _stock_pg(field: np.ndarray, weight: np.ndarray, cells: np.ndarray) -> float:
    return float(np.sum(field[cells] * weight[cells]) / 1e12)


def _raw_spatial(region: RegionData, candidate: str, reference: list[str]) -> float:
    cells = _common_cells(region, [candidate, *reference])
    centre = np.mean([region.fields[p][cells] for p in reference], axis=0)
    return spatial_distribution_score(region.fields[candidate][cells], centre, region.weight[cells])


def score_against(
    candidate: str, reference: list[str], region: RegionData, settings: ScoreSettings, scale_from: list[str]
) -> dict[str, float]:
    """All component scores of ``candidate`` against the envelope of ``reference`` products.

    ``scale_from`` are the products whose mutual disagreement sets the tolerances.
    """
    explained = region.explained
    centre_shares = np.mean([explained[p].shares for p in reference], axis=0)
    centre_variance = np.mean([explained[p].variance_shares() for p in reference], axis=0)
    centre_curves = np.mean([explained[p].curves for p in reference], axis=0)
    own = explained[candidate]
    obs_r2 = float(np.median([explained[p].cv_r2 for p in reference]))
    # Curves of an emulator that explains less than the observations' emulators
    # do are trusted only in proportion.
    reliability = float(np.clip(own.cv_r2 / obs_r2, 0.0, 1.0)) if obs_r2 > 0 else float("nan")
    importance_distance = total_variation(own.variance_shares(), centre_variance)
    response = response_distance(own.curves, centre_curves, centre_shares)
    scores = {
        "importance": tolerance_score(
            importance_distance,
            _importance_scale(scale_from, explained, settings.delta_min["importance"]),
            settings.delta_min["importance"],
        ),
        "response": reliability
        * tolerance_score(
            response,
            _response_scale(scale_from, explained, settings.delta_min["response"]),
            settings.delta_min["response"],
        ),
        "importance_kendall_tau": weighted_kendall_tau(own.shares, centre_shares),
        "importance_distance": float(importance_distance),
        "response_distance": float(response),
    }
    cells = _common_cells(region, [candidate, *scale_from])
    stocks = {name: _stock_pg(region.fields[name], region.weight, cells) for name in {candidate, *scale_from, *reference}}
    scores["stock_bias"] = stock_bias_score(
        stocks[candidate],
        float(np.mean([stocks[p] for p in reference])),
        float(np.std([stocks[p] for p in scale_from])),
    )
    scores["spatial_distribution"] = _raw_spatial(region, candidate, reference)
    return scores


def products_agreement(region: RegionData) -> float:
    """Median spatial score of each product against the mean of the others."""
    products = region.products
    if len(products) < 2:
        return float("nan")
    values = [_raw_spatial(region, p, [q for q in products if q != p]) for p in products]
    return float(np.nanmedian(values))


def score_region(region: RegionData, models: list[str], settings: ScoreSettings) -> tuple[list[dict], list[dict]]:
    """Score every model, and every product against the others, in one region.

    Returns
    -------
    model_rows, ceiling_rows : list of dict
        Tidy rows ``(model|product, region, metric, value)``.
    """
    products = region.products
    agreement = products_agreement(region)
    model_rows, ceiling_rows = [], []
    for model in models:
        if model not in region.explained:
            continue
        scores = score_against(model, products, region, settings, products)
        _finish(scores, agreement, settings)
        model_rows += [{"model": model, "region": region.name, "metric": k, "value": v} for k, v in scores.items()]
    for product in products:
        others = [p for p in products if p != product]
        if not others:
            continue
        scale_from = others if len(others) >= 2 else products
        scores = score_against(product, others, region, settings, scale_from)
        _finish(scores, agreement, settings)
        ceiling_rows += [{"product": product, "region": region.name, "metric": k, "value": v} for k, v in scores.items()]
    return model_rows, ceiling_rows


def _finish(scores: dict[str, float], agreement: float, settings: ScoreSettings) -> None:
    raw = scores["spatial_distribution"]
    if np.isfinite(agreement) and agreement > 0:
        scores["spatial_distribution"] = float(min(1.0, raw / agreement))
    scores["overall"] = weighted_overall({k: scores[k] for k in COMPONENTS}, settings.weights)
