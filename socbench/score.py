"""Score: compare each model with the observational envelope of a region.

The metric functions at the top are pure functions of arrays (explicit
``axis`` and ``weights``, no I/O), testable in isolation, in the manner of
xskillscore. :func:`build_envelope` builds, once per region, what every
candidate is scored against: the consensus of the observation products, the
tolerances set by their disagreement, and the flags of products that do not
belong. :func:`score_candidate` scores one dataset against it; models, the
products themselves (the ceiling) and a null reference are scored alike by
:func:`score_region`.

The formulas and their one-sentence meanings are in ``docs/method.md`` and in
:data:`METRIC_MEANINGS`; the principles are in DESIGN.md (section Score).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import weightedtau

from .results import COMPONENTS, DRIVER_COMPONENTS

#: One sentence per metric: what a reader can check it means.
METRIC_MEANINGS = {
    "overall": "Weighted mean of the components that could be assessed in this region.",
    "importance": "Do the same drivers matter, in the same proportions, as in the observations?",
    "response": "Does SOC respond to each driver with the same shape as in the observations?",
    "explained_variance": "Do the drivers explain as much of the spatial variation of ln SOC as they do in the observations?",
    "total_stock": "Is the region's total soil carbon stock within the range of the observation products?",
    "ilamb_bias": "ILAMB's bias score: the per-cell relative bias, scored per cell and averaged over the region.",
    "spatial_distribution": "Does the spatial pattern (correlation and variance) match the products', relative to how well they match each other?",
    "importance_distance": "Total-variation distance between the model's and the observed driver shares (0 same, 1 disjoint).",
    "response_distance": "Importance-weighted relative L2 distance between the model's and the observed response curves (0 same, 1 = flat).",
    "importance_kendall_tau": "Weighted Kendall tau between the model's and the observed driver rankings (1 same order).",
    "explained_variance_distance": "Absolute difference between the model's and the observed emulator CV R^2.",
    "model_cv_r2": "Spatial-block cross-validated R^2 of the model's own emulator.",
    "overall_components": "How many components the overall score rests on.",
}

#: Reason codes of withheld scores, with the sentence shown to readers.
REASONS = {
    "model_emulator_unreliable": "the model's emulator explains too little (CV R^2 below min_r2, or below min_r2_relative times the products' median) to read its drivers",
    "products_unreliable": "the observation products' emulators explain too little (median CV R^2 below min_r2)",
    "products_cannot_discriminate": "the products disagree so much that a null reference (equal shares, flat curves) lies within their spread",
    "no_observations": "no observation product covers this region",
    "not_computable": "could not be computed here (too few cells where the dataset and the products are both valid)",
}

#: Name of the null reference in the ``nulls`` table.
NULL_REFERENCE = "null"

# ------------------------------------------------------------ pure metrics


def total_variation(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Total-variation distance ``1/2 sum |a - b|`` between share vectors along ``axis``."""
    return 0.5 * np.abs(np.asarray(a, float) - np.asarray(b, float)).sum(axis=axis)


def response_distance(model: np.ndarray, obs: np.ndarray, obs_shares: np.ndarray, floor: float = 0.1) -> float:
    """Importance-weighted relative L2 distance between response curves.

    ``D = sum_j s_j ||f_model_j - f_obs_j|| / ||f_obs_j||``: 0 for the same
    curves, 1 for flat curves, 2 for mirrored ones.

    Parameters
    ----------
    model, obs : ndarray, shape (p, K)
        Centred curves on the same grid.
    obs_shares : ndarray, shape (p,)
        Observed importance shares (weights of the sum, summing to 1).
    floor : float
        Each ``||f_obs_j||`` is floored at ``floor`` times the largest one, so
        a covariate with a flat observed response does not divide by ~0.
    """
    model, obs = np.asarray(model, float), np.asarray(obs, float)
    norms = np.linalg.norm(obs, axis=1)
    norms = np.maximum(norms, floor * norms.max()) if norms.max() > 0 else np.ones_like(norms)
    return float(np.sum(np.asarray(obs_shares) * np.linalg.norm(model - obs, axis=1) / norms))


def graded_score(
    distance: float,
    tolerance: float,
    distance_max: float,
    power: float,
    null_distance: float | None = None,
    null_score: float = 0.25,
) -> float:
    """Graded score of a distance: 1 within the tolerance, 0 at ``distance_max``, strictly decreasing between.

    Without a null reference, ``((d_max - D) / (d_max - tolerance))^power``.
    With one (``null_distance``, the distance of a reference that knows
    nothing, e.g. equal driver shares), the score is anchored to it as a skill
    score is to its reference forecast (Murphy 1988, MWR 116:2417): it falls
    linearly from 1 at the tolerance to ``null_score`` at the null's distance,
    then as ``null_score ((d_max - D) / (d_max - d_null))^power`` to 0 at
    ``distance_max``. A candidate no closer than the null thus never scores
    above ``null_score``, however much the products disagree, and bad and very
    bad candidates stay apart (no exponential tail).
    """
    if not np.isfinite(distance):
        return float("nan")
    if distance <= tolerance:
        return 1.0
    if distance >= distance_max or tolerance >= distance_max:
        return 0.0
    if null_distance is None or not np.isfinite(null_distance) or null_distance <= tolerance:
        return float(((distance_max - distance) / (distance_max - tolerance)) ** power)
    null_distance = min(null_distance, distance_max)
    if distance <= null_distance:
        return float(1.0 - (1.0 - null_score) * (distance - tolerance) / (null_distance - tolerance))
    return float(null_score * ((distance_max - distance) / (distance_max - null_distance)) ** power)


def relative_stock_score(model_stock: float, obs_stock: float, tolerance: float) -> float:
    """Total-stock score ``exp(-max(0, |m - o| / |o| - tolerance))``, tolerance relative to ``o``."""
    if not (np.isfinite(model_stock) and np.isfinite(obs_stock)) or obs_stock == 0:
        return float("nan")
    return float(np.exp(-max(abs(model_stock - obs_stock) / abs(obs_stock) - tolerance, 0.0)))


def ilamb_bias_score(model: np.ndarray, reference: np.ndarray, weights: np.ndarray, uncertainty=0.0) -> float:
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
    """
    model, reference, weights = (np.asarray(x, float) for x in (model, reference, weights))
    uncertainty = np.broadcast_to(np.asarray(uncertainty, float), model.shape)
    ok = np.isfinite(model) & np.isfinite(reference) & (reference != 0) & (weights > 0)
    if not ok.any():
        return float("nan")
    excess = np.maximum(np.abs(model[ok] - reference[ok]) - uncertainty[ok], 0.0)
    return float(np.average(np.exp(-excess / np.abs(reference[ok])), weights=weights[ok]))


def spatial_distribution_score(model: np.ndarray, obs: np.ndarray, weight: np.ndarray) -> float:
    """Taylor-style score ``2 (1 + R) / (sigma + 1/sigma)^2``, area-weighted (as in ILAMB)."""
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


def weighted_overall(components: dict[str, float], weights: dict[str, float]) -> tuple[float, int]:
    """Weighted mean of the finite component scores, and how many it rests on."""
    pairs = [(components[k], w) for k, w in weights.items() if w > 0 and np.isfinite(components.get(k, np.nan))]
    if not pairs:
        return float("nan"), 0
    values, w = zip(*pairs)
    return float(np.average(values, weights=w)), len(pairs)


# ------------------------------------------------------------ robust envelope statistics


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


def leave_one_out_tolerance(loo_distances: list[float], boot_spreads: list[float], floor: float) -> float:
    """Obs-obs tolerance: median leave-one-out distance or median bootstrap spread, floored."""
    candidates = [floor]
    candidates += [float(np.median(loo_distances))] if loo_distances else []
    candidates += [float(np.median(boot_spreads))] if boot_spreads else []
    return max(candidates)


# ------------------------------------------------------------ region data


@dataclass
class Explained:
    """What scoring needs of one (dataset, region) emulation."""

    shares: np.ndarray
    curves: np.ndarray
    boot_shares: np.ndarray
    boot_curves: np.ndarray
    cv_r2: float


@dataclass
class RegionData:
    """Everything scored in one region.

    ``fields`` are SOC densities (kg m-2) on the analysis grid, NaN where a
    dataset has no data; ``weight`` is cell area x reference land fraction;
    ``mask`` selects the region's cells; ``products`` are the observation
    products that cover the region.
    """

    name: str
    mask: np.ndarray
    weight: np.ndarray
    fields: dict[str, np.ndarray]
    explained: dict[str, Explained]
    products: list[str]


@dataclass(frozen=True)
class ScoreSettings:
    """Score weights and the constants of the score maps.

    A model's emulator is unreliable below ``min_r2``, or below
    ``min_r2_relative`` times the products' median CV R^2 in the region (its
    drivers explain too little of its SOC, next to the observations', to read
    which ones matter). ``delta_min`` floors each tolerance; ``distance_max`` and ``power`` shape
    each graded score map (:func:`graded_score`), whose driver maps give the
    null reference ``null_score``; a driver score is withheld for everyone in a
    region when the null reference lies within ``discrimination_factor`` times
    the products' tolerance (the products cannot tell a know-nothing answer
    from their own disagreement).
    """

    weights: dict[str, float]
    delta_min: dict[str, float]
    distance_max: dict[str, float]
    power: dict[str, float]
    min_r2: float = 0.3
    min_r2_relative: float = 0.5
    outlier_factor: float = 3.0
    stock_ratio_limit: float = 3.0
    discrimination_factor: float = 1.25
    null_score: float = 0.25


@dataclass
class Envelope:
    """The observational envelope of one region, built once by :func:`build_envelope`.

    Attributes
    ----------
    products : list of str
        Products covering the region.
    driver_products : list of str
        Products forming the consensus of driver shares and curves (reliable
        emulators, outliers removed).
    stock_products : list of str
        Products forming the consensus of the SOC field (suspected units
        errors removed).
    tolerance : dict
        Obs-obs tolerance per graded metric (importance, response,
        explained_variance, total_stock).
    withheld : dict
        Component -> reason code, for components nobody can be scored on here.
    flags : list of dict
        ``product, region, flag, detail`` rows.
    """

    region: RegionData
    products: list[str]
    driver_products: list[str]
    stock_products: list[str]
    shares: np.ndarray | None
    curves: np.ndarray | None
    cv_r2: float
    centre_field: np.ndarray | None
    field_spread: np.ndarray | None
    tolerance: dict[str, float]
    spatial_agreement: float
    null_distance: dict[str, float] = field(default_factory=dict)
    model_r2_floor: float = float("nan")
    withheld: dict[str, str] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)


def _cells(region: RegionData, datasets: list[str]) -> np.ndarray:
    cells = region.mask & (region.weight > 0)
    for name in datasets:
        cells &= np.isfinite(region.fields[name])
    return cells


def _stock_pg(field_: np.ndarray, weight: np.ndarray, cells: np.ndarray) -> float:
    return float(np.sum(field_[cells] * weight[cells]) / 1e12)


def _symmetric_response(a: Explained, b: Explained) -> float:
    return 0.5 * (response_distance(a.curves, b.curves, b.shares) + response_distance(b.curves, a.curves, a.shares))


def _driver_outliers(names: list[str], explained: dict[str, Explained], settings: ScoreSettings) -> dict[str, str]:
    """Products whose shares or curves are far from every other product's."""
    found = {}
    metrics = {
        "importance": lambda a, b: float(total_variation(a.shares, b.shares)),
        "response": _symmetric_response,
    }
    for metric, distance in metrics.items():
        matrix = np.array([[distance(explained[a], explained[b]) for b in names] for a in names])
        floor = 2.0 * settings.delta_min[metric]
        for i in nearest_neighbour_outliers(matrix, floor, settings.outlier_factor):
            nearest = np.min(np.delete(matrix[i], i))
            found.setdefault(names[i], f"{metric} distance {nearest:.2f} to the nearest other product")
    return found


def _stock_outliers(region: RegionData, names: list[str], settings: ScoreSettings) -> dict[str, str]:
    """Products whose stock is implausible next to the others' (suspected units error)."""
    if len(names) < 3:
        return {}
    cells = _cells(region, names)
    stocks = {p: _stock_pg(region.fields[p], region.weight, cells) for p in names}
    found = {}
    limit = settings.stock_ratio_limit
    for product in names:
        others = float(np.median([stocks[q] for q in names if q != product]))
        ratio = stocks[product] / others if others > 0 else np.inf
        if not 1.0 / limit <= ratio <= limit:
            found[product] = f"stock {stocks[product]:.4g} Pg is {ratio:.3g} x the other products' median ({others:.4g} Pg); check its units"
    return found


def _driver_tolerances(names: list[str], explained: dict[str, Explained], settings: ScoreSettings) -> dict[str, float]:
    """Importance and response tolerances: leave-one-product-out distances and bootstrap spreads."""
    loo_importance, loo_response = [], []
    for product in names if len(names) >= 2 else []:
        others = [q for q in names if q != product]
        shares = np.mean([explained[q].shares for q in others], axis=0)
        curves = np.mean([explained[q].curves for q in others], axis=0)
        loo_importance.append(float(total_variation(explained[product].shares, shares)))
        loo_response.append(response_distance(explained[product].curves, curves, shares))
    boot_importance = [
        float(np.mean(total_variation(explained[p].boot_shares, explained[p].shares)))
        for p in names
        if len(explained[p].boot_shares)
    ]
    boot_response = [
        float(np.mean([response_distance(c, explained[p].curves, explained[p].shares) for c in explained[p].boot_curves]))
        for p in names
        if len(explained[p].boot_curves)
    ]
    return {
        "importance": leave_one_out_tolerance(loo_importance, boot_importance, settings.delta_min["importance"]),
        "response": leave_one_out_tolerance(loo_response, boot_response, settings.delta_min["response"]),
    }


def _r2_consensus(products: list[str], outliers: dict, explained: dict[str, Explained], settings: ScoreSettings) -> dict[str, float]:
    """CV R^2 of the products that set the explained-variance consensus.

    Driver outliers are left out, and so is a product whose R^2 is far from
    every other product's (the nearest-neighbour rule on |R^2 differences|),
    so that one failed emulator does not widen the tolerance for everyone.
    """
    r2 = {p: explained[p].cv_r2 for p in products if p not in outliers and np.isfinite(explained[p].cv_r2)}
    names = list(r2)
    gaps = np.abs(np.subtract.outer([r2[p] for p in names], [r2[p] for p in names]))
    floor = 2.0 * settings.delta_min["explained_variance"]
    for i in nearest_neighbour_outliers(gaps, floor, settings.outlier_factor):
        r2.pop(names[i])
    return r2


def _loo_scalar_tolerance(values: dict[str, float], floor: float, relative: bool = False) -> float:
    """Median distance of each product's value to the mean of the others' (relative to it if asked)."""
    names = list(values)
    distances = []
    for product in names if len(names) >= 2 else []:
        others = float(np.mean([values[q] for q in names if q != product]))
        gap = abs(values[product] - others)
        distances.append(gap / abs(others) if relative and others else gap)
    return leave_one_out_tolerance(distances, [], floor)


def build_envelope(region: RegionData, settings: ScoreSettings) -> Envelope:
    """The observational envelope of a region: consensus, tolerances, flags, withheld components."""
    products = [p for p in region.products if p in region.explained]
    explained = region.explained
    flags: list[dict] = []
    withheld: dict[str, str] = {}
    if not products:
        withheld = {c: "no_observations" for c in COMPONENTS}
        return Envelope(
            region=region, products=[], driver_products=[], stock_products=[], shares=None, curves=None,
            cv_r2=float("nan"), centre_field=None, field_spread=None, tolerance={}, spatial_agreement=float("nan"),
            model_r2_floor=model_r2_floor(float("nan"), settings), withheld=withheld,
        )

    stock_outliers = _stock_outliers(region, products, settings)
    flags += [_flag(p, region.name, "suspect_units", d) for p, d in stock_outliers.items()]
    stock_products = [p for p in products if p not in stock_outliers] or products

    reliable = [p for p in products if explained[p].cv_r2 >= settings.min_r2]
    products_r2 = float(np.median([explained[p].cv_r2 for p in products]))
    if products_r2 < settings.min_r2:
        withheld.update({c: "products_unreliable" for c in DRIVER_COMPONENTS})
    outliers = _driver_outliers(reliable, explained, settings)
    flags += [_flag(p, region.name, "outlier", d) for p, d in outliers.items()]
    driver_products = [p for p in (reliable or products) if p not in outliers]

    tolerance = _driver_tolerances(driver_products, explained, settings)
    r2 = _r2_consensus(products, outliers, explained, settings)
    tolerance["explained_variance"] = _loo_scalar_tolerance(r2, settings.delta_min["explained_variance"])
    cells = _cells(region, stock_products)
    stocks = {p: _stock_pg(region.fields[p], region.weight, cells) for p in stock_products}
    tolerance["total_stock"] = _loo_scalar_tolerance(stocks, 0.0, relative=True)

    stack = np.stack([region.fields[p] for p in stock_products])
    shares = np.mean([explained[p].shares for p in driver_products], axis=0)
    curves = np.mean([explained[p].curves for p in driver_products], axis=0)
    null_distance = {
        "importance": float(total_variation(np.full_like(shares, 1.0 / len(shares)), shares)),
        "response": response_distance(np.zeros_like(curves), curves, shares),
    }
    for metric, distance in null_distance.items():
        if metric not in withheld and distance < settings.discrimination_factor * tolerance[metric]:
            withheld[metric] = "products_cannot_discriminate"
    envelope = Envelope(
        region=region,
        products=products,
        driver_products=driver_products,
        stock_products=stock_products,
        shares=shares,
        curves=curves,
        cv_r2=float(np.mean(list(r2.values()))),
        centre_field=np.mean(stack, axis=0),
        field_spread=np.std(stack, axis=0),
        tolerance=tolerance,
        spatial_agreement=_spatial_agreement(region, stock_products),
        null_distance=null_distance,
        model_r2_floor=model_r2_floor(products_r2, settings),
        withheld=withheld,
        flags=flags,
    )
    return envelope


def model_r2_floor(products_median_r2: float, settings: ScoreSettings) -> float:
    """The CV R^2 below which a model's emulator is unreliable in a region."""
    relative = settings.min_r2_relative * products_median_r2 if np.isfinite(products_median_r2) else 0.0
    return float(max(settings.min_r2, relative))


def _flag(product: str, region: str, flag: str, detail: str) -> dict:
    return {"product": product, "region": region, "flag": flag, "detail": detail}


def _spatial_agreement(region: RegionData, products: list[str]) -> float:
    """Median Taylor score of each product against the mean of the others."""
    if len(products) < 2:
        return float("nan")
    cells = _cells(region, products)
    values = []
    for product in products:
        others = [q for q in products if q != product]
        centre = np.mean([region.fields[q][cells] for q in others], axis=0)
        values.append(spatial_distribution_score(region.fields[product][cells], centre, region.weight[cells]))
    return float(np.nanmedian(values))


# ------------------------------------------------------------ scoring a candidate


@dataclass
class Candidate:
    """What is scored: a dataset's emulation (or a null's) and its SOC field."""

    explained: Explained | None
    field: np.ndarray | None
    #: Withhold its driver scores when its emulator is below the region's model R^2 floor (not for the null).
    judge_emulator: bool = True


def score_candidate(candidate: Candidate, envelope: Envelope, settings: ScoreSettings) -> tuple[dict[str, float], dict[str, str]]:
    """Score one candidate against a region's envelope.

    Returns
    -------
    scores : dict
        Component scores, ``overall``, ``overall_components`` and diagnostics.
    withheld : dict
        Component -> reason code for every score withheld (set to NaN).
    """
    withheld = dict(envelope.withheld)
    scores = {c: float("nan") for c in COMPONENTS}
    if envelope.products:
        scores.update(_driver_scores(candidate.explained, envelope, settings))
        scores.update(_field_scores(candidate.field, envelope))
        unreliable = candidate.explained is not None and not candidate.explained.cv_r2 >= envelope.model_r2_floor
        if candidate.judge_emulator and unreliable:
            for component in DRIVER_COMPONENTS:
                withheld.setdefault(component, "model_emulator_unreliable")
    for component in COMPONENTS:
        if not np.isfinite(scores[component]):
            withheld.setdefault(component, "not_computable")
    for component in withheld:
        scores[component] = float("nan")
    scores["overall"], scores["overall_components"] = weighted_overall(
        {c: scores[c] for c in COMPONENTS}, settings.weights
    )
    return scores, withheld


def _driver_scores(explained: Explained | None, envelope: Envelope, settings: ScoreSettings) -> dict[str, float]:
    if explained is None:
        return {}
    importance = float(total_variation(explained.shares, envelope.shares))
    response = response_distance(explained.curves, envelope.curves, envelope.shares)
    r2_gap = abs(explained.cv_r2 - envelope.cv_r2) if np.isfinite(explained.cv_r2) else float("nan")
    distances = {"importance": importance, "response": response, "explained_variance": r2_gap}
    return {
        **{
            metric: graded_score(
                distance, envelope.tolerance[metric], settings.distance_max[metric], settings.power[metric],
                envelope.null_distance.get(metric), settings.null_score,
            )
            for metric, distance in distances.items()
        },
        "importance_distance": importance,
        "response_distance": response,
        "explained_variance_distance": r2_gap,
        "importance_kendall_tau": weighted_kendall_tau(explained.shares, envelope.shares),
        "model_cv_r2": float(explained.cv_r2),
    }


def _field_scores(field_: np.ndarray | None, envelope: Envelope) -> dict[str, float]:
    if field_ is None:
        return {}
    region = envelope.region
    cells = _cells(region, envelope.stock_products) & np.isfinite(field_)
    if not cells.any():
        return {}
    weight = region.weight[cells]
    centre = envelope.centre_field[cells]
    observed = float(np.sum(centre * weight) / 1e12)
    modelled = float(np.sum(field_[cells] * weight) / 1e12)
    raw_spatial = spatial_distribution_score(field_[cells], centre, weight)
    agreement = envelope.spatial_agreement
    spatial = min(1.0, raw_spatial / agreement) if np.isfinite(agreement) and agreement > 0 else raw_spatial
    return {
        "total_stock": relative_stock_score(modelled, observed, envelope.tolerance["total_stock"]),
        "ilamb_bias": ilamb_bias_score(field_[cells], centre, weight, envelope.field_spread[cells]),
        "spatial_distribution": float(spatial),
    }


# ------------------------------------------------------------ a region


@dataclass
class RegionScores:
    """Tidy rows of one region (see :class:`socbench.results.RunResult`)."""

    scores: list[dict] = field(default_factory=list)
    assessments: list[dict] = field(default_factory=list)
    ceiling: list[dict] = field(default_factory=list)
    nulls: list[dict] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    stocks: list[dict] = field(default_factory=list)
    #: CV R^2 below which a model's emulator is unreliable here (see :func:`model_r2_floor`).
    model_r2_floor: float = float("nan")


def null_candidate(envelope: Envelope) -> Candidate:
    """The null reference: equal driver shares, flat responses, no explained variance,
    and a uniform field holding the observed mean density."""
    if envelope.shares is None:
        return Candidate(None, None)
    p, k = envelope.curves.shape
    explained = Explained(np.full(p, 1.0 / p), np.zeros((p, k)), np.empty((0, p)), np.empty((0, p, k)), 0.0)
    region = envelope.region
    cells = _cells(region, envelope.stock_products)
    mean_density = np.average(envelope.centre_field[cells], weights=region.weight[cells])
    uniform = np.where(region.mask, mean_density, np.nan)
    return Candidate(explained, uniform, judge_emulator=False)


def score_region(region: RegionData, models: list[str], settings: ScoreSettings) -> RegionScores:
    """Score every model, every product (the ceiling) and the null reference in one region.

    All are scored against the same :class:`Envelope`, so a copy of a product
    scores exactly what that product's ceiling row says.
    """
    envelope = build_envelope(region, settings)
    out = RegionScores(flags=list(envelope.flags), model_r2_floor=envelope.model_r2_floor)

    def scored(name: str) -> tuple[dict, dict]:
        return score_candidate(Candidate(region.explained.get(name), region.fields.get(name)), envelope, settings)

    ceilings = {p: scored(p) for p in envelope.products}
    null_scores, _ = score_candidate(null_candidate(envelope), envelope, settings)
    for product, (scores, _) in ceilings.items():
        out.ceiling += _rows("product", product, region.name, scores)
    out.nulls += _rows("reference", NULL_REFERENCE, region.name, null_scores)
    for model in models:
        scores, withheld = scored(model)
        out.scores += _rows("model", model, region.name, scores)
        out.assessments += [
            {"model": model, "region": region.name, "metric": c, "status": "withheld" if c in withheld else "scored",
             "reason": withheld.get(c, "")}
            for c in COMPONENTS
        ]
    out.stocks += _stock_rows(region, envelope, models)
    return out


def _rows(key: str, name: str, region: str, scores: dict) -> list[dict]:
    return [{key: name, "region": region, "metric": metric, "value": float(value)} for metric, value in scores.items()]


def _stock_rows(region: RegionData, envelope: Envelope, models: list[str]) -> list[dict]:
    rows = []
    for name in [*region.products, *models]:
        if name not in region.fields:
            continue
        cells = _cells(region, [name])
        kind = "observation" if name in region.products else "model"
        rows.append(
            {"dataset": name, "kind": kind, "region": region.name,
             "stock_pg": _stock_pg(region.fields[name], region.weight, cells),
             "area_km2": float(region.weight[cells].sum() / 1e6)}
        )
    return rows
