"""The ``scores`` section: component weights and score-map constants, with their defaults (the only copy)."""

from __future__ import annotations

from typing import Callable, Literal, NamedTuple

from pydantic import Field, ValidationInfo, field_validator

from ..results import COMPONENTS
from .validators import Strict, complete

#: Default weight of each score component, in the order of :data:`socbench.results.COMPONENTS`.
DEFAULT_WEIGHTS = dict(zip(COMPONENTS, (0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1), strict=True))
#: Floor of the obs-obs tolerance per graded metric.
DEFAULT_DELTA_MIN = {"importance": 0.05, "response": 0.05, "sensitivity": 0.1, "explained_variance": 0.05}
#: Distance at which a graded score reaches 0: no distance can exceed 1 (total variation, shape
#: distance, sensitivity distance, R^2 shortfall), so distance_max may not be below 1 (a jump to 0).
DEFAULT_DISTANCE_MAX = {"importance": 1.0, "response": 1.0, "sensitivity": 1.0, "explained_variance": 1.0}
#: Power of the graded score map (see socbench.metrics.graded_score).
DEFAULT_POWER = {"importance": 2.0, "response": 2.0, "sensitivity": 2.0, "explained_variance": 2.0}
#: Component names of earlier versions, still accepted in definitions.
RENAMED_COMPONENTS = {"stock_bias": "total_stock"}


class _MetricMap(NamedTuple):
    """How one per-metric mapping of the scores section is completed and checked."""

    defaults: dict[str, float]
    what: str
    accepts: Callable[[dict[str, float]], bool] = lambda values: True
    requirement: str = ""
    renamed: dict[str, str] | None = None


_METRIC_MAPS = {
    "weights": _MetricMap(
        DEFAULT_WEIGHTS, "score component", lambda w: sum(w.values()) > 0,
        "at least one weight must be positive", RENAMED_COMPONENTS,
    ),
    "delta_min": _MetricMap(DEFAULT_DELTA_MIN, "delta_min metric"),
    "distance_max": _MetricMap(
        DEFAULT_DISTANCE_MAX, "distance_max metric", lambda d: all(v >= 1 for v in d.values()),
        "every distance_max must be >= 1, the largest distance any metric can take (below it, scores would jump to 0)",
    ),
    "power": _MetricMap(
        DEFAULT_POWER, "power metric", lambda p: all(v >= 1 for v in p.values()), "every power must be >= 1"
    ),
}


def _metric_map_field(defaults: dict[str, float], description: str):
    """A per-metric mapping of the scores section, defaulting to a copy of ``defaults``."""
    return Field(default_factory=lambda: dict(defaults), description=description)


class ScoreSpec(Strict):
    """Score weights and the constants of the score maps (docs/method.md)."""

    weights: dict[str, float] = _metric_map_field(
        DEFAULT_WEIGHTS, "Weight of each component in the overall score; components left out keep their default weight."
    )
    delta_min: dict[str, float] = _metric_map_field(
        DEFAULT_DELTA_MIN, "Floor of the obs-obs tolerance per graded metric (missing keys take their defaults)."
    )
    distance_max: dict[str, float] = _metric_map_field(
        DEFAULT_DISTANCE_MAX, "Distance at which a graded score reaches 0 (missing keys take their defaults)."
    )
    power: dict[str, float] = _metric_map_field(
        DEFAULT_POWER, "Power of each graded score map (missing keys take their defaults)."
    )
    discrimination_factor: float = Field(
        1.5,
        ge=1.25,
        le=10.0,
        description=(
            "A component is judged in a region only if the null reference lies at least this many tolerances "
            "(and bootstrap spreads) from the products' consensus; it also bounds the slope of the score map."
        ),
    )
    shape_agreement: float = Field(
        0.5, ge=-1.0, le=1.0,
        description="A driver's response is judged where the products' curves correlate at least this much (median, leave-one-out).",
    )
    collinear_r: float = Field(
        0.9, ge=0.0, le=1.01,
        description="Drivers whose observed values correlate at least this much in a region are one group for importance (above 1: never).",
    )
    ilamb_bias_weighting: Literal["area", "mass"] = Field(
        "area",
        description="Cell weights of ilamb_bias: 'area' as ilamb3's default, 'mass' (area x observed SOC) as ILAMB 2.x's soil carbon.",
    )
    coverage_min: float = Field(
        0.8,
        gt=0,
        le=1,
        description=(
            "A dataset (observation product or model) is scored in a region only if it covers this "
            "fraction of it; a model below it is listed with the reason."
        ),
    )

    @field_validator(*_METRIC_MAPS)
    @classmethod
    def _completed(cls, given: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        spec = _METRIC_MAPS[info.field_name]
        values = complete(given, spec.defaults, spec.what, spec.renamed)
        if not spec.accepts(values):
            raise ValueError(spec.requirement)
        return values
