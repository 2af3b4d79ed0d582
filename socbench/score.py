"""Score: each model, each product (the ceiling) and a null reference against a region's envelope.

:func:`score_candidate` scores one candidate against the envelope that
:mod:`socbench.envelope` builds; :func:`score_region` scores every model, every
product (each against the consensus of the others: the ceiling) and the null
reference alike, and returns tidy rows. The metric functions are in
:mod:`socbench.metrics`; formulas and meanings are in ``docs/method.md`` and
:data:`METRIC_MEANINGS`; the principles are in DESIGN.md (section Score).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .envelope import (
    REASONS,
    Envelope,
    Explained,
    RegionData,
    ScoreSettings,
    _cells,
    _stock_pg,
    build_envelope,
    driver_distances,
    emulator_reliable,
    model_r2_floor,
    null_explained,
    robust_driver_responses,
)
from .metrics import (
    correlation_distance,
    ratio_distance,
    graded_score,
    ilamb_bias_score,
    relative_stock_score,
    signal_spatial_score,
    weighted_kendall_tau,
    weighted_overall,
)
from .results import COMPONENTS, DRIVER_COMPONENTS, FIELD_COMPONENTS

__all__ = [
    "METRIC_MEANINGS", "REASONS", "NULL_REFERENCE", "Candidate", "CandidateScores", "Envelope", "Explained",
    "RegionData", "RegionScores", "ScoreSettings", "build_envelope", "emulator_reliable", "model_r2_floor",
    "null_candidate", "score_candidate", "score_region",
]

#: One sentence per metric: what a reader can check it means.
METRIC_MEANINGS = {
    "overall": "Weighted mean of the components judged in this region (a component a candidate could not be scored on counts 0).",
    "importance": "Do the same drivers matter, in the same proportions, within this region as in the observations?",
    "response": "Does SOC rise or fall with each driver where the observations' does (the shape of the response, whatever its amplitude)?",
    "sensitivity": "Is the amplitude of each response (e.g. the change of ln SOC per degree) within the observation products' range?",
    "explained_variance": "Do the drivers explain at least as much of the spatial variation of ln SOC as they do in the observations?",
    "total_stock": "Is the region's total soil carbon stock within the range of the observation products?",
    "ilamb_bias": "ILAMB's bias score: the per-cell relative bias, scored per cell and averaged over the region.",
    "spatial_distribution": "Does the spatial pattern (correlation and variance) match the pattern the products share, their own noise removed?",
    "importance_distance": "Total-variation distance between the model's and the observed driver shares, collinear drivers grouped (0 same, 1 disjoint).",
    "response_distance": "Share-weighted mean of (1 - r)/2 over the judged drivers, r the correlation of the model's and the observed response curves (0 same shape, 0.5 flat, 1 mirrored).",
    "sensitivity_distance": "Share-weighted mean of 1 - min(rho, 1/rho) over the judged drivers, rho the amplitude ratio (0 same amplitude, 0.5 twice or half, 1 flat).",
    "importance_kendall_tau": "Weighted Kendall tau between the model's and the observed driver rankings (1 same order).",
    "explained_variance_distance": "How far the model's emulator CV R^2 falls short of the products' (0 when it explains as much or more).",
    "model_cv_r2": "Spatial-block cross-validated R^2 of the model's emulator over the region's cells.",
    "overall_components": "How many components the overall score rests on (the same for every candidate in the region).",
}

#: Name of the null reference in the ``nulls`` table.
NULL_REFERENCE = "null"
#: Components the null reference is defined on: it knows nothing of the observations' answer.
NULL_COMPONENTS = ("importance", "response", "sensitivity", "explained_variance")
#: Shape correlation below which a driver's response is called of the opposite sign.
OPPOSITE_SIGN = -0.5


@dataclass
class Candidate:
    """What is scored: a dataset's emulation (or a null's) and its SOC field."""

    explained: Explained | None
    field: np.ndarray | None
    #: Cap its driver scores at the null's when its emulator is below the region's floor (not for the null).
    judge_emulator: bool = True
    #: Components it is defined on (the null reference has no field).
    defined: tuple = COMPONENTS


@dataclass
class CandidateScores:
    """One candidate's scores in a region.

    ``scores`` maps each component, ``overall``, ``overall_components`` and the
    diagnostics to a value (NaN where withheld); ``withheld`` maps a component
    to its reason code; ``capped`` lists the driver components capped at the
    null reference's score; ``drivers`` has one row per driver (shares, shape
    correlation, sensitivity ratio).
    """

    scores: dict[str, float]
    withheld: dict[str, str]
    capped: list[str] = field(default_factory=list)
    drivers: list[dict] = field(default_factory=list)


def _graded(metric: str, distance: float, envelope: Envelope, settings: ScoreSettings) -> float:
    return graded_score(
        distance, envelope.tolerance[metric], settings.distance_max[metric], settings.power[metric],
        envelope.null_distance.get(metric) if metric != "sensitivity" else None,
        settings.shape_null_score if metric == "response" else settings.null_score,
        settings.discrimination_factor,
    )


def _driver_scores(explained: Explained, envelope: Envelope, settings: ScoreSettings, responses) -> dict[str, float]:
    distances = driver_distances(explained, envelope, responses)
    r2 = explained.cv_r2
    distances["explained_variance"] = max(envelope.cv_r2 - r2, 0.0) if np.isfinite(r2) else float("nan")
    scores = {metric: _graded(metric, d, envelope, settings) for metric, d in distances.items()}
    scores.update({f"{metric}_distance": d for metric, d in distances.items()})
    scores["importance_kendall_tau"] = weighted_kendall_tau(explained.shares, envelope.shares)
    scores["model_cv_r2"] = float(r2)
    return scores


def _field_scores(field_: np.ndarray, envelope: Envelope, settings: ScoreSettings) -> dict[str, float]:
    region = envelope.region
    cells = _cells(region, envelope.stock_products) & np.isfinite(field_)
    if not cells.any() or envelope.centre_field is None:
        return {}
    weight = region.weight[cells]
    centre = envelope.centre_field[cells]
    observed = float(np.sum(centre * weight) / 1e12)
    modelled = float(np.sum(field_[cells] * weight) / 1e12)
    spatial = signal_spatial_score(field_[cells], centre, weight, envelope.signal_variance)
    return {
        "total_stock": relative_stock_score(modelled, observed, envelope.tolerance["total_stock"]),
        "ilamb_bias": ilamb_bias_score(
            field_[cells], centre, weight, envelope.field_spread[cells], mass_weighted=settings.ilamb_mass_weighted
        ),
        "spatial_distribution": float(spatial),
    }


def null_candidate(envelope: Envelope) -> Candidate:
    """The null reference: equal driver shares, flat responses and no explained variance.

    It uses nothing of the observations' answer, so it has no SOC field: it is
    scored on the driver components and explained variance only, and counts
    0 for the others in its overall.
    """
    explained = null_explained(envelope) if envelope.shares is not None else None
    return Candidate(explained, None, judge_emulator=False, defined=NULL_COMPONENTS)


def _driver_rows(explained: Explained, envelope: Envelope, settings: ScoreSettings, responses) -> list[dict]:
    """One row per driver: shape correlation and sensitivity ratio, each also scored alone with its component's map.

    A driver the products do not agree on is not judged: its scores are NaN.
    """
    correlation, ratio = responses
    one = np.eye(len(explained.shares))

    def alone(metric: str, distance: float, j: int) -> float:
        return _graded(metric, distance, envelope, settings) if envelope.judged[j] else float("nan")

    return [
        {
            "driver": j, "share": float(explained.shares[j]), "observed_share": float(envelope.shares[j]),
            "shape_correlation": float(correlation[j]), "sensitivity_ratio": float(ratio[j]),
            "shape_score": alone("response", correlation_distance(correlation, one[j]), j),
            "sensitivity_score": alone("sensitivity", ratio_distance(ratio, one[j]), j),
            "observed_ratio_low": float(envelope.ratio_range[j, 0]),
            "observed_ratio_high": float(envelope.ratio_range[j, 1]),
            "judged": bool(envelope.judged[j]),
        }
        for j in range(len(explained.shares))
    ]


def _zero_driver_scores(scores: dict) -> None:
    """Driver scores of a model whose emulator explains too little of its SOC: 0.

    Its shares and curves are those of an emulator that does not explain its
    SOC, so they are no evidence of any reasons, right or wrong: it scores
    below the null reference, and below any model whose drivers can be read,
    however wrong (capping at the null's score let a noise model rank above a
    fully assessed wrong-driver model on the family world: 0.331 against 0.324).
    """
    for component in DRIVER_COMPONENTS:
        scores[component] = 0.0


def score_candidate(candidate: Candidate, envelope: Envelope, settings: ScoreSettings) -> CandidateScores:
    """Score one candidate against a region's envelope.

    Components withheld for the region are NaN with the region's reason; a
    component the candidate cannot be scored on is NaN with ``not_computable``
    (or ``not_defined`` for the null) and counts 0 in its overall. A model
    whose emulator is unreliable scores 0 on its driver components, below the null's.
    """
    withheld = dict(envelope.withheld)
    scores = {c: float("nan") for c in COMPONENTS}
    result = CandidateScores(scores, withheld)
    explained = candidate.explained
    if explained is not None and envelope.shares is not None:
        responses = robust_driver_responses(explained, envelope.curves)
        scores.update(_driver_scores(explained, envelope, settings, responses))
        result.drivers = _driver_rows(explained, envelope, settings, responses)
        unreliable = not emulator_reliable(explained.fit_r2, envelope.model_r2_floor)
        if candidate.judge_emulator and unreliable:
            _zero_driver_scores(scores)
            result.capped.extend(DRIVER_COMPONENTS)
    if candidate.field is not None:
        scores.update(_field_scores(candidate.field, envelope, settings))
    for component in COMPONENTS:
        if component not in candidate.defined:
            withheld.setdefault(component, "not_defined")
        elif not np.isfinite(scores[component]):
            withheld.setdefault(component, "not_computable")
        if component in withheld:
            scores[component] = float("nan")
    assessed = envelope.assessed
    scores["overall"] = weighted_overall(scores, envelope.overall_weights(settings.weights), assessed)
    scores["overall_components"] = sum(1 for c in assessed if settings.weights.get(c, 0.0) > 0)
    return result


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
    drivers: list[dict] = field(default_factory=list)
    #: CV R^2 below which a model's emulator is unreliable here (see :func:`model_r2_floor`).
    model_r2_floor: float = float("nan")
    envelope: Envelope | None = None


def score_region(region: RegionData, models: list[str], settings: ScoreSettings) -> RegionScores:
    """Score every model, every product (the ceiling) and the null reference in one region.

    Models and the null are scored against the envelope of all products; each
    product against the consensus of the others, with the same tolerances
    (how well an independent product agrees with the rest).
    """
    envelope = build_envelope(region, settings)
    out = RegionScores(flags=list(envelope.flags), model_r2_floor=envelope.model_r2_floor, envelope=envelope)

    def scored(name: str, against: Envelope) -> CandidateScores:
        return score_candidate(Candidate(region.explained.get(name), region.fields.get(name)), against, settings)

    for product in envelope.products:
        ceiling = scored(product, envelope.without(product))
        out.ceiling += _rows("product", product, region.name, ceiling.scores)
        out.drivers += _tagged(ceiling.drivers, product, "observation", region.name)
    null_overall = float("nan")
    if envelope.shares is not None:
        null = score_candidate(null_candidate(envelope), envelope, settings)
        out.nulls += _rows("reference", NULL_REFERENCE, region.name, null.scores)
        null_overall = null.scores["overall"]
    weights = envelope.overall_weights(settings.weights)
    for model in models:
        result = scored(model, envelope)
        _cap_overall_at_the_null(result, null_overall)
        out.scores += _rows("model", model, region.name, result.scores)
        out.drivers += _tagged(result.drivers, model, "model", region.name)
        out.assessments += [_assessment(model, region.name, c, result, weights) for c in COMPONENTS]
    out.stocks += _stock_rows(region, models)
    return out


def _cap_overall_at_the_null(result: CandidateScores, null_overall: float) -> None:
    """A model whose drivers cannot be read ranks no higher than knowing nothing.

    Its driver scores are 0 already; but where a wrong-driver model's curves
    are flat or wrong too (its driver scores near 0), the field components
    alone decided, and a field of noise rescaled to the observed stock ranked
    above it (family world, tropical rain forest: 0.215 against 0.197).
    """
    if result.capped and np.isfinite(null_overall):
        result.scores["overall"] = min(result.scores["overall"], null_overall)


def _assessment(model: str, region: str, component: str, result: CandidateScores, weights: dict) -> dict:
    """Status, reason and weight in ``overall`` (0 where withheld) of one model's component."""
    weight = weights.get(component, 0.0)
    if component in result.withheld:
        status, reason, weight = "withheld", result.withheld[component], 0.0
    elif component in result.capped:
        status, reason = "capped", "model_emulator_unreliable"
    else:
        status, reason = "scored", ""
    return {"model": model, "region": region, "metric": component, "status": status, "reason": reason,
            "overall_weight": float(weight)}


def _tagged(rows: list[dict], name: str, kind: str, region: str) -> list[dict]:
    return [{"dataset": name, "kind": kind, "region": region, **row} for row in rows]


def _rows(key: str, name: str, region: str, scores: dict) -> list[dict]:
    return [{key: name, "region": region, "metric": metric, "value": float(value)} for metric, value in scores.items()]


def _stock_rows(region: RegionData, models: list[str]) -> list[dict]:
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
