"""The ``scores`` section: component weights and score-map constants, with their defaults (the only copy)."""

from __future__ import annotations

from typing import Callable, NamedTuple

from pydantic import Field, ValidationInfo, field_validator

from ..results import COMPONENTS
from .validators import Strict, complete

#: Default weight of each score component, in the order of :data:`socbench.results.COMPONENTS`.
DEFAULT_WEIGHTS = dict(zip(COMPONENTS, (0.25, 0.25, 0.2, 0.1, 0.1, 0.1), strict=True))
#: Floor of the obs-obs tolerance per graded metric.
DEFAULT_DELTA_MIN = {"importance": 0.05, "response": 0.1, "explained_variance": 0.05}
#: Distance at which a graded score reaches 0 (TV and |R^2 gap| cannot exceed 1; mirrored curves are at 2).
DEFAULT_DISTANCE_MAX = {"importance": 1.0, "response": 2.5, "explained_variance": 1.0}
#: Power of the graded score map (see socbench.score.graded_score).
DEFAULT_POWER = {"importance": 2.0, "response": 3.0, "explained_variance": 2.0}
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
        DEFAULT_DISTANCE_MAX, "distance_max metric", lambda d: all(v > 0 for v in d.values()),
        "every distance_max must be > 0",
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
