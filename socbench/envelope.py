"""Envelope: what every candidate in a region is scored against.

:func:`build_envelope` builds, once per region, the consensus of the
observation products (driver shares, response curves, explained variance, SOC
field and stock), the tolerances set by their spread around that consensus
(floored by their bootstrap noise), the flags of products that do not belong
(``outlier``, ``suspect_units``) and the components nobody can be judged on
there, with the reason. Models, products (the ceiling) and the null reference
are all scored against it (:mod:`socbench.score`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np

from .metrics import (
    amplitude_ratio,
    group_shares,
    log_ratio_outliers,
    nearest_neighbour_outliers,
    correlation_distance,
    ratio_distance,
    shape_correlation,
    shape_distance,
    shared_signal,
    total_variation,
)
from .results import COMPONENTS, DRIVER_COMPONENTS, FIELD_COMPONENTS


@dataclass
class Explained:
    """What scoring needs of one (dataset, region) emulation."""

    shares: np.ndarray
    curves: np.ndarray
    boot_shares: np.ndarray
    boot_curves: np.ndarray
    cv_r2: float  # out-of-fold R^2 over the region's cells
    fit_r2: float = float("nan")  # out-of-fold R^2 of the dataset's emulator over all its land


@dataclass
class RegionData:
    """Everything scored in one region.

    ``fields`` are SOC densities (kg m-2) on the analysis grid, NaN where a
    dataset has no data; ``weight`` is cell area x reference land fraction;
    ``mask`` selects the region's cells; ``products`` are the observation
    products that cover the region; ``groups`` are the groups of strongly
    collinear drivers there (each driver alone when None).
    """

    name: str
    mask: np.ndarray
    weight: np.ndarray
    fields: dict[str, np.ndarray]
    explained: dict[str, Explained]
    products: list[str]
    groups: list[list[int]] | None = None


@dataclass(frozen=True)
class ScoreSettings:
    """Score weights and the constants of the score maps (docs/method.md).

    Built from a definition by :func:`socbench.assemble.score_settings`, which
    holds no defaults of its own: those are in :mod:`socbench.definition`.
    ``min_r2``: an observation product's emulator explaining less than this of
    ln SOC over all its land is not read. A model's emulator below
    ``max(min_r2, min_r2_relative x the products' median)`` explains too little
    of its SOC to read its drivers: its driver scores are 0, below the null
    reference's. ``delta_min`` floors each tolerance; ``distance_max`` and
    ``power`` shape each graded map; a component is judged only where the
    null reference lies at least ``discrimination_factor`` tolerances from the
    consensus (and ``discrimination_factor`` bootstrap spreads: the products
    must be stable); a driver's response is judged where the products' curves
    correlate with each other at least ``shape_agreement`` (median,
    leave-one-out); drivers correlated at least ``collinear_r`` form one group
    for importance.
    """

    weights: dict[str, float]
    delta_min: dict[str, float]
    distance_max: dict[str, float]
    power: dict[str, float]
    min_r2: float
    min_r2_relative: float
    discrimination_factor: float
    shape_agreement: float
    collinear_r: float
    ilamb_mass_weighted: bool
    #: Constants of the method, not of a definition (docs/method.md).
    outlier_factor: float = 3.0
    stock_ratio_limit: float = 3.0
    null_score: float = 0.25
    #: The response shape's null (flat curves) scores 0, as a mirrored curve does (docs/method.md).
    shape_null_score: float = 0.0
    #: Shared-signal fraction of the products' variance below which spatial distribution is not judged,
    #: and from which it counts fully in ``overall`` (ramp between).
    signal_fraction: tuple = (0.05, 0.15)
    #: A component's weight in ``overall`` ramps from 0, with the null at this fraction of
    #: ``discrimination_factor`` tolerances (or bootstrap spreads), to full at ``discrimination_factor``.
    discrimination_ramp: float = 2.0 / 3.0


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
    judged : ndarray of bool, shape (p,)
        Drivers whose response the products agree on (shape and sensitivity
        are judged on these only).
    tolerance : dict
        Tolerance per graded metric: the products' spread around the consensus.
    null_distance : dict
        Distance of the null reference from the consensus, per driver metric.
    withheld : dict
        Component -> reason code, for components nobody can be scored on here.
    flags : list of dict
        ``product, region, flag, detail`` rows.
    """

    region: RegionData
    products: list[str]
    driver_products: list[str] = field(default_factory=list)
    stock_products: list[str] = field(default_factory=list)
    shares: np.ndarray | None = None
    curves: np.ndarray | None = None
    judged: np.ndarray | None = None
    cv_r2: float = float("nan")
    centre_field: np.ndarray | None = None
    field_spread: np.ndarray | None = None
    tolerance: dict[str, float] = field(default_factory=dict)
    #: Variance of SOC density (kg2 m-4) that the stock products share, and its fraction of their variance.
    signal_variance: float = float("nan")
    signal_fraction: float = float("nan")
    null_distance: dict[str, float] = field(default_factory=dict)
    model_r2_floor: float = float("nan")
    withheld: dict[str, str] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)
    groups: list[list[int]] = field(default_factory=list)
    #: (p, 2) lowest and highest amplitude ratio of a consensus product's curve to the consensus, per driver.
    ratio_range: np.ndarray | None = None
    #: Component -> fraction (0, 1) of its weight in ``overall``, where the products discriminate only in part
    #: (see :func:`discrimination`); absent means the full weight.
    overall_fraction: dict[str, float] = field(default_factory=dict)

    @property
    def assessed(self) -> list[str]:
        """Components judged here, for every candidate alike."""
        return [c for c in COMPONENTS if c not in self.withheld]

    def overall_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """The definition's component weights, each times the fraction the products can carry here."""
        return {c: w * self.overall_fraction.get(c, 1.0) for c, w in weights.items()}

    @property
    def driver_weights(self) -> np.ndarray:
        """Weight of each driver in the response metrics: its observed share where judged, else 0."""
        return self.shares * self.judged

    def without(self, product: str) -> "Envelope":
        """The same envelope (tolerances, withheld components) with a consensus of the other products only.

        A product scored against it answers: how well does an independent
        product agree with the rest? (the ceiling).
        """
        explained = self.region.explained
        drivers = [p for p in self.driver_products if p != product]
        stock = [p for p in self.stock_products if p != product]
        changes = {"shares": None, "curves": None, "cv_r2": float("nan"), "centre_field": None}
        if drivers:
            changes.update(_driver_consensus(drivers, explained))
        if stock:
            changes["centre_field"] = np.mean([self.region.fields[p] for p in stock], axis=0)
        if changes["shares"] is not None:
            changes["judged"] = self.judged
        return replace(self, driver_products=drivers, stock_products=stock, **changes)


#: Sentences of the reasons a score is withheld (or capped), shown to readers.
REASONS = {
    "model_emulator_unreliable": "the model's emulator explains too little of its SOC (CV R^2 below the region's floor) to read its drivers: its driver scores are 0, and its overall at most the null reference's",
    "products_unreliable": "the observation products cannot carry this comparison here: fewer than two have a reliable emulator, or their own bootstrap spread reaches the null reference, or (spatial distribution) they share almost none of their spatial pattern",
    "products_cannot_discriminate": "the products disagree so much that a null reference (equal shares, flat curves, no explained variance) lies within their spread",
    "products_disagree": "the observation products' stocks differ by more than the units limit and none can be singled out as the error: stock and field scores would only measure that disagreement",
    "no_observations": "no observation product covers this region",
    "not_computable": "could not be computed here (too few cells where the dataset and the products are both valid)",
    "not_defined": "the null reference knows nothing of the observations' answer here (no field, no stock), so it is not scored on this",
}


def emulator_reliable(r2: float, floor: float) -> bool:
    """Whether an emulator's CV R^2 reaches ``floor`` (NaN never does): the one rule for every table."""
    return bool(np.isfinite(r2) and r2 >= floor)


def model_r2_floor(products_median_r2: float, settings: ScoreSettings) -> float:
    """The CV R^2 below which a model's emulator is unreliable in a region."""
    relative = settings.min_r2_relative * products_median_r2 if np.isfinite(products_median_r2) else 0.0
    return float(max(settings.min_r2, relative))


def _cells(region: RegionData, datasets: list[str]) -> np.ndarray:
    cells = region.mask & (region.weight > 0)
    for name in datasets:
        cells &= np.isfinite(region.fields[name])
    return cells


def _stock_pg(field_: np.ndarray, weight: np.ndarray, cells: np.ndarray) -> float:
    return float(np.sum(field_[cells] * weight[cells]) / 1e12)


def _flag(product: str, region: str, flag: str, detail: str) -> dict:
    return {"product": product, "region": region, "flag": flag, "detail": detail}


def _driver_consensus(names: list[str], explained: dict[str, Explained]) -> dict:
    r2 = [explained[p].cv_r2 for p in names if np.isfinite(explained[p].cv_r2)]
    return {
        "shares": np.mean([explained[p].shares for p in names], axis=0),
        "curves": np.mean([explained[p].curves for p in names], axis=0),
        # the mean, as for shares and curves: a median of three switches product when the middle one moves
        "cv_r2": float(np.mean(r2)) if r2 else float("nan"),
    }


# ------------------------------------------------------------ the driver side


def robust_driver_responses(explained: Explained, consensus_curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-driver shape correlation and amplitude ratio with the consensus, median over the fit and its bootstraps.

    A driver whose curve flips between bootstrap refits of the same dataset
    (typically one collinear with another) gets a median correlation near 0:
    the dataset's own sampling spread is counted, so replicates of one model
    that differ only by noise do not score apart on it.
    """
    curves = [explained.curves, *explained.boot_curves]
    correlation = np.median([shape_correlation(c, consensus_curves) for c in curves], axis=0)
    # NaN where the observed curve is flat: no ratio, rather than a ratio of 1 that reads as agreement
    ratio = np.median([amplitude_ratio(c, consensus_curves) for c in curves], axis=0)
    return correlation, ratio


def driver_distances(explained: Explained, envelope: Envelope, responses=None) -> dict[str, float]:
    """Importance, response-shape and sensitivity distances of one emulation from the consensus.

    ``responses`` is :func:`robust_driver_responses` of the emulation, when already computed.
    """
    groups = envelope.groups
    weights = envelope.driver_weights
    correlation, ratio = responses if responses is not None else robust_driver_responses(explained, envelope.curves)
    return {
        "importance": float(total_variation(group_shares(explained.shares, groups), group_shares(envelope.shares, groups))),
        "response": correlation_distance(correlation, weights),
        "sensitivity": ratio_distance(ratio, weights),
    }


def _judged_drivers(names: list[str], explained: dict[str, Explained], agreement: float) -> np.ndarray:
    """Drivers whose curves the products agree on: median leave-one-out correlation >= ``agreement``."""
    correlations = []
    for product in names:
        others = np.mean([explained[q].curves for q in names if q != product], axis=0)
        correlations.append(shape_correlation(explained[product].curves, others))
    return np.median(correlations, axis=0) >= agreement


def _driver_outliers(names: list[str], explained: dict[str, Explained], groups, settings: ScoreSettings) -> dict[str, str]:
    """Products whose shares or curves are far from every other product's.

    Shares first, then curves among the products left, so that at least two
    always remain: flagged on the two metrics at once, two of three products
    were flagged in the real-like world's tundra (one far on shares, another
    on curves), and the consensus rested on the third alone.
    """
    found = {}
    metrics = {
        "importance": lambda a, b: float(total_variation(group_shares(a.shares, groups), group_shares(b.shares, groups))),
        "response": lambda a, b: shape_distance(a.curves, b.curves, 0.5 * (a.shares + b.shares)),
    }
    for metric, distance in metrics.items():
        left = [p for p in names if p not in found]
        matrix = np.array([[distance(explained[a], explained[b]) for b in left] for a in left])
        for i in nearest_neighbour_outliers(matrix, 2.0 * settings.delta_min[metric], settings.outlier_factor):
            nearest = np.min(np.delete(matrix[i], i))
            found[left[i]] = f"{metric} distance {nearest:.2f} to the nearest other product"
    return found


def _bootstrap_spread(explained: Explained, envelope: Envelope) -> dict[str, float]:
    """Sampling spread of a product's estimate, per driver metric.

    The mean distance of its bootstrap refits from its estimate, divided by
    sqrt(B + 1): the estimate is the mean over the fit and its B refits.
    """
    if not len(explained.boot_shares):
        return {}
    bagged = np.sqrt(len(explained.boot_shares) + 1)
    own = replace(envelope, shares=explained.shares, curves=explained.curves)
    replicates = [
        driver_distances(Explained(s, c, np.empty(0), np.empty(0), np.nan), own)
        for s, c in zip(explained.boot_shares, explained.boot_curves)
    ]
    return {metric: float(np.mean([r[metric] for r in replicates])) / bagged for metric in DRIVER_COMPONENTS}


def _driver_side(envelope: Envelope, settings: ScoreSettings) -> None:
    """Consensus, tolerances, null distances and withheld driver components of an envelope (in place)."""
    region, explained = envelope.region, envelope.region.explained
    name = region.name
    reliable = [p for p in envelope.products if emulator_reliable(explained[p].fit_r2, settings.min_r2)]
    fit_r2 = [explained[p].fit_r2 for p in envelope.products if np.isfinite(explained[p].fit_r2)]
    envelope.model_r2_floor = model_r2_floor(float(np.median(fit_r2)) if fit_r2 else float("nan"), settings)
    if len(reliable) < 2:
        envelope.withheld.update({c: "products_unreliable" for c in (*DRIVER_COMPONENTS, "explained_variance")})
        reliable = reliable or list(envelope.products)
    outliers = _driver_outliers(reliable, explained, envelope.groups, settings)
    envelope.flags += [_flag(p, name, "outlier", d) for p, d in outliers.items()]
    envelope.driver_products = [p for p in reliable if p not in outliers]
    for key, value in _driver_consensus(envelope.driver_products, explained).items():
        setattr(envelope, key, value)
    many = len(envelope.driver_products) >= 2
    envelope.judged = (
        _judged_drivers(envelope.driver_products, explained, settings.shape_agreement)
        if many else np.ones(len(envelope.shares), bool)
    )
    between = [driver_distances(explained[p], envelope) for p in envelope.driver_products]
    spreads = [s for s in (_bootstrap_spread(explained[p], envelope) for p in envelope.driver_products) if s]
    envelope.null_distance = driver_distances(null_explained(envelope), envelope)
    ratios = np.array([amplitude_ratio(explained[q].curves, envelope.curves) for q in envelope.driver_products])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a driver whose curves are all flat has no ratio
        envelope.ratio_range = np.column_stack([np.nanmin(ratios, axis=0), np.nanmax(ratios, axis=0)])
    r2 = {q: explained[q].cv_r2 for q in envelope.driver_products}
    envelope.null_distance["explained_variance"] = max(envelope.cv_r2, 0.0) if np.isfinite(envelope.cv_r2) else np.nan
    if not envelope.judged.any():  # the products agree on no driver's response
        for metric in ("response", "sensitivity"):
            envelope.withheld.setdefault(metric, "products_cannot_discriminate")
    for metric in DRIVER_COMPONENTS:
        spread = float(np.nanmedian([s[metric] for s in spreads])) if spreads else 0.0
        envelope.tolerance[metric] = float(np.nanmax([b[metric] for b in between] + [spread, settings.delta_min[metric]]))
        _withhold_if_undiscriminating(envelope, metric, spread, settings)
    finite = [v for v in r2.values() if np.isfinite(v)]
    envelope.tolerance["explained_variance"] = max(
        [abs(v - envelope.cv_r2) for v in finite] + [settings.delta_min["explained_variance"]]
    )
    if len(finite) < 2:
        envelope.withheld.setdefault("explained_variance", "products_unreliable")
    _withhold_if_undiscriminating(envelope, "explained_variance", 0.0, settings)


def discrimination(null_distance: float, scale: float, factor: float, ramp: float) -> float:
    """How far the products tell the null apart, on a scale (tolerance or bootstrap spread): 0 to 1.

    1 with the null at ``factor`` scales or more from the consensus, 0 at
    ``ramp x factor`` scales or less, linear between. A hard threshold let a
    0.1 % change of one product switch a whole component in or out of
    ``overall`` (0.07 of overall on the demo world); the ramp makes overall
    continuous in the inputs.
    """
    if not scale > 0:
        return 1.0
    low, full = ramp * factor, factor
    ratio = null_distance / scale
    if ratio >= full:
        return 1.0
    if ratio <= low or full <= low:
        return 0.0
    return float((ratio - low) / (full - low))


def _withhold_if_undiscriminating(envelope: Envelope, metric: str, spread: float, settings: ScoreSettings) -> None:
    """Withhold a component where the products cannot tell the null apart, or lower its weight in overall."""
    null = envelope.null_distance.get(metric, np.nan)
    if not np.isfinite(null):
        envelope.withheld.setdefault(metric, "products_unreliable")
        return
    factor, ramp = settings.discrimination_factor, settings.discrimination_ramp
    by_spread = discrimination(null, spread, factor, ramp)
    by_tolerance = discrimination(null, envelope.tolerance[metric], factor, ramp)
    if by_spread == 0.0:
        envelope.withheld.setdefault(metric, "products_unreliable")
    elif by_tolerance == 0.0:
        envelope.withheld.setdefault(metric, "products_cannot_discriminate")
    elif min(by_spread, by_tolerance) < 1.0 and metric not in envelope.withheld:
        envelope.overall_fraction[metric] = min(by_spread, by_tolerance)


# ------------------------------------------------------------ the field side


def _field_side(envelope: Envelope, settings: ScoreSettings) -> None:
    """Stock consensus, flags, tolerance and withheld field components of an envelope (in place)."""
    region = envelope.region
    products = envelope.products
    cells = _cells(region, products)
    stocks = np.array([_stock_pg(region.fields[p], region.weight, cells) for p in products])
    flagged, consistent = log_ratio_outliers(stocks, settings.stock_ratio_limit)
    median = float(np.median(stocks)) if len(stocks) else float("nan")
    for i in flagged:
        envelope.flags.append(_flag(
            products[i], region.name, "suspect_units",
            f"stock {stocks[i]:.4g} Pg is {stocks[i] / median:.3g} x the products' median ({median:.4g} Pg); check its units",
        ))
    envelope.stock_products = [p for i, p in enumerate(products) if i not in flagged]
    if not consistent:
        envelope.withheld.update({c: "products_disagree" for c in FIELD_COMPONENTS})
    stack = np.stack([region.fields[p] for p in envelope.stock_products])
    envelope.centre_field = np.mean(stack, axis=0)
    envelope.field_spread = np.std(stack, axis=0)
    kept = stocks[[i for i in range(len(products)) if i not in flagged]]
    centre = float(np.mean(kept)) if len(kept) else float("nan")
    envelope.tolerance["total_stock"] = float(np.max(np.abs(kept - centre)) / abs(centre)) if centre else 0.0
    _signal_side(envelope, _cells(region, envelope.stock_products), settings)


def _signal_side(envelope: Envelope, cells: np.ndarray, settings: ScoreSettings) -> None:
    """The SOC pattern the products share; spatial distribution is judged only where it is more than noise.

    Its weight in ``overall`` ramps from 0, where the shared variance is
    ``signal_fraction[0]`` of a product's variance, to full at
    ``signal_fraction[1]``, by the ramp of :func:`discrimination`.
    """
    if cells.any():
        fields = np.array([envelope.region.fields[p][cells] for p in envelope.stock_products])
        envelope.signal_variance, envelope.signal_fraction = shared_signal(fields, envelope.region.weight[cells])
    low, full = settings.signal_fraction
    fraction = envelope.signal_fraction
    weight = discrimination(fraction, 1.0, full, low / full) if np.isfinite(fraction) else 0.0
    if weight == 0.0:
        envelope.withheld.setdefault("spatial_distribution", "products_unreliable")
    elif weight < 1.0 and "spatial_distribution" not in envelope.withheld:
        envelope.overall_fraction["spatial_distribution"] = weight


def null_explained(envelope: Envelope) -> Explained:
    """The null reference's emulation: equal shares, flat curves, R^2 0 (nothing of the observations' answer)."""
    p, k = envelope.curves.shape
    return Explained(np.full(p, 1.0 / p), np.zeros((p, k)), np.empty((0, p)), np.empty((0, p, k)), 0.0, 0.0)


def build_envelope(region: RegionData, settings: ScoreSettings) -> Envelope:
    """The observational envelope of a region: consensus, tolerances, flags, withheld components."""
    products = [p for p in region.products if p in region.explained]
    p = len(next(iter(region.explained.values())).shares) if region.explained else 0
    envelope = Envelope(region=region, products=products, groups=region.groups or [[j] for j in range(p)])
    if not products:
        envelope.withheld = {c: "no_observations" for c in COMPONENTS}
        envelope.model_r2_floor = model_r2_floor(float("nan"), settings)
        return envelope
    _field_side(envelope, settings)
    _driver_side(envelope, settings)
    return envelope
