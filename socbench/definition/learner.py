"""The ``learner`` section: how emulators are fitted, cross-validated and explained."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from .validators import Strict, buildable_learner, registered


class CVSpec(Strict):
    """Spatial block cross-validation."""

    block_size: float | Literal["auto"] = Field(
        "auto",
        description=(
            "Spatial block edge in degrees, or 'auto': block_range_factor x the practical range of spatial "
            "autocorrelation of ln SOC (correlogram below 0.05), the median over the observation products, "
            "clipped to [block_size_min, block_size_max]; the same folds for every dataset."
        ),
    )
    block_size_min: float = Field(10.0, gt=0, le=90, description="Smallest automatic block edge (degrees).")
    block_size_max: float = Field(60.0, gt=0, le=180, description="Largest automatic block edge (degrees).")
    block_range_factor: float = Field(
        2.0, ge=1.0, le=5.0, description="Automatic block edge as a multiple of the autocorrelation range."
    )
    folds: int = Field(5, ge=2, le=20)

    @field_validator("block_size")
    @classmethod
    def _positive(cls, value):
        if value != "auto" and not (math.isfinite(value) and value > 0):
            raise ValueError("block_size must be 'auto' or a number of degrees > 0")
        return value


class LearnerSpec(Strict):
    """How emulators are fitted and explained."""

    estimator: str = Field("gradient_boosting", description="Registered learner: gradient_boosting or gam.")
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to the learner.")
    cv: CVSpec = CVSpec()
    explainer: str = Field("shap", description="Registered importance method: shap or permutation.")
    response: str = Field("ale", description="Registered response-curve method: ale.")
    grid_points: int = Field(12, ge=4, le=50, description="Quantile grid size of response curves.")
    bootstraps: int = Field(8, ge=0, le=500, description="Spatial-block bootstrap replicates.")
    max_explain_cells: int = Field(2000, ge=100, description="Cells sampled for SHAP per fit.")
    min_r2: float = Field(
        0.2, le=1.0,
        description="Observation products whose emulator explains less than this (CV R^2 over all their land) are not read.",
    )
    min_r2_relative: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "A model's emulator is unreliable (its driver scores set to 0, below the null reference's) when its CV R^2 "
            "is below min_r2 or this fraction of the observation products' median."
        ),
    )
    match_observation_noise: bool = Field(
        False,
        description=(
            "Add white noise with the observation products' unexplained variance to every model's ln SOC before "
            "it is emulated (docs/method.md; off by default: on the real-like world it made replicate models "
            "score further apart)."
        ),
    )
    select_rounds: bool = Field(
        True,
        description=(
            "Boosted learners: each dataset's emulator is the mean of its truncations after 1..params.max_iter "
            "rounds, each weighted by how often (over block bootstraps) its out-of-fold predictions on the shared "
            "spatial folds explain most of its ln SOC, so a noisy product gets a smoother emulator instead of one "
            "that fits its noise (docs/method.md)."
        ),
    )
    seed: int = 20240101

    @field_validator("estimator", "explainer", "response")
    @classmethod
    def _known_method(cls, name: str, info: ValidationInfo) -> str:
        from ..emulate import LEARNERS
        from ..explain import EXPLAINERS, RESPONSE_METHODS

        registry = {"estimator": LEARNERS, "explainer": EXPLAINERS, "response": RESPONSE_METHODS}[info.field_name]
        return registered(registry, name)

    @field_validator("params")
    @classmethod
    def _buildable(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if "estimator" not in info.data:  # the estimator's own error is reported
            return params
        return buildable_learner(info.data["estimator"], params)
