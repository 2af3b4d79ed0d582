"""The schema of a benchmark definition: one pydantic model per YAML section."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator, model_serializer, model_validator

from .hashing import section_hash
from .learner import LearnerSpec
from .scores import ScoreSpec
from .validators import Strict, known_regridder, refuse_duplicates, registered, whole_cells


class TargetSpec(Strict):
    """The scored variable."""

    variable: str = Field("cSoil", description="CMIP variable name of the target in model output.")
    table: str = Field("Emon", description="CMIP table of the target (Emon for CMIP6, Lmon for CMIP5).")
    units: str = Field("kg m-2", description="Canonical units every dataset is converted to.")
    add: list[str] = Field(
        default_factory=list,
        description="Model variables added to the target, e.g. [cLitter] (same table and units).",
    )
    prefer: list[str] = Field(
        default_factory=list,
        description=(
            "Model variables to read for the target, in order of preference (same table), e.g. "
            "[cSoilAbove1m, cSoil]: a model's first one present is used (cSoilAbove1m is the 0-1 m "
            "stock, comparable with 0-1 m products); list the target itself last to fall back to it. "
            "Empty: the target variable only."
        ),
    )


class _MissingValues(Strict):
    """Keys that declare values of a source as missing, in the file's own units."""

    missing_values: list[float] = Field(
        default_factory=list,
        description="Values that mean 'no data' in this source, e.g. [0] (compared in the file's units).",
    )
    valid_range: list[float] | None = Field(
        None, description="[min, max] in the file's units: values outside are missing."
    )

    @field_validator("missing_values")
    @classmethod
    def _finite_missing_values(cls, values: list[float]) -> list[float]:
        if not all(math.isfinite(v) for v in values):
            raise ValueError("missing_values must be finite numbers (NaN and inf are always missing)")
        return values

    @field_validator("valid_range")
    @classmethod
    def _ordered_range(cls, bounds: list[float] | None) -> list[float] | None:
        if bounds is None:
            return None
        if len(bounds) != 2 or not all(math.isfinite(b) for b in bounds) or bounds[0] >= bounds[1]:
            raise ValueError(f"valid_range must be [min, max] with finite min < max, not {bounds}")
        return bounds

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler):
        # Unset keys are left out of dumps, so that adding them did not change
        # the definition hashes stored in existing reference bundles.
        data = handler(self)
        if isinstance(data, dict):
            if not data.get("missing_values"):
                data.pop("missing_values", None)
            if data.get("valid_range") is None:
                data.pop("valid_range", None)
        return data


class ModelSource(_MissingValues):
    """Where models take a covariate from (their own output)."""

    variable: str = Field(..., description="CMIP variable name, e.g. tas.")
    table: str = Field("Amon", description="CMIP table, e.g. Amon, Lmon.")


class FileSource(_MissingValues):
    """A covariate field read from a file (an observed product or a shared map)."""

    path: str = Field(..., description="Path or glob, relative to data_root.")
    variable: str = Field(..., description="Variable name in the file.")
    units: str | None = Field(
        None,
        description="Units to assume when the file does not say (the file's own units attribute wins).",
    )


class CovariateSpec(Strict):
    """One driver of SOC.

    Either ``shared`` (one observed field used for every dataset) or both
    ``model`` and ``obs`` (models use their own output, observation products
    use an observed field).
    """

    units: str = Field(..., description="Canonical units every source is converted to.")
    model: ModelSource | None = None
    obs: FileSource | None = None
    shared: FileSource | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_kind_of_source(self) -> "CovariateSpec":
        if self.shared is not None and (self.model is not None or self.obs is not None):
            raise ValueError("give either 'shared' or 'model' + 'obs', not both")
        if self.shared is None and (self.model is None or self.obs is None):
            raise ValueError("needs 'shared', or both 'model' and 'obs'")
        return self


class ObservationSpec(_MissingValues):
    """An observational SOC product."""

    name: str = Field(..., description="Short name shown in the scorecard.")
    path: str = Field(..., description="Path or glob, relative to data_root.")
    variable: str = Field(..., description="SOC variable name in the file.")
    units: str | None = Field(
        None,
        description="Units to assume when the file does not say (the file's own units attribute wins).",
    )
    description: str = ""


class ExplicitModel(Strict):
    """A model given by explicit paths (globs) per variable."""

    name: str
    paths: dict[str, str] = Field(..., description="Variable name -> path or glob (relative to data_root).")


class ModelsSpec(Strict):
    """Where to find model output."""

    drs_root: str | None = Field(
        None, description="Root of a CMIP DRS tree, the CMIP6/CMIP5 directory or its parent (relative to data_root)."
    )
    layout: Literal["cmip6", "cmip5"] = Field(
        "cmip6",
        description=(
            "Directory layout of drs_root: cmip6 (activity/institution/source/experiment/member/table/"
            "variable/grid/version) or cmip5 (ESGF: product/institute/model/experiment/frequency/realm/"
            "table/ensemble/version/variable)."
        ),
    )
    catalog: str | None = Field(
        None,
        description=(
            "Path (relative to data_root) or URL of an intake-esm catalogue (ESM collection JSON) whose "
            "catalog_file CSV lists one asset per row (a netCDF file, or a zarr store when assets.format is "
            "zarr, as in the Pangeo CMIP6 catalogue) with source_id, experiment_id, member_id, table_id, "
            "variable_id, grid_label, version and its path. Used instead of walking a DRS tree; may be "
            "combined with drs_root and explicit models."
        ),
    )
    experiment: str = "historical"
    member: Literal["first", "mean"] = Field("first", description="Which ensemble member(s) to use.")
    include: list[str] | None = Field(None, description="Only these source_ids (default: every one found).")
    exclude: list[str] = Field(default_factory=list)
    explicit: list[ExplicitModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_source(self) -> "ModelsSpec":
        if self.drs_root is None and self.catalog is None and not self.explicit:
            raise ValueError("give 'drs_root', 'catalog' or a list of 'explicit' models")
        refuse_duplicates([m.name for m in self.explicit], "model names")
        return self


class GridSpec(Strict):
    """The regular lat/lon analysis grid every dataset is regridded to."""

    resolution: float = Field(2.0, gt=0.05, le=10.0, description="Cell size in degrees.")
    lat_min: float = Field(-60.0, ge=-90.0, lt=90.0, description="Southern edge (default excludes Antarctica).")
    lat_max: float = Field(90.0, gt=-90.0, le=90.0)
    regridder: str = Field(
        "builtin",
        description=(
            "Registered regridder: builtin (exact conservative, the tested default) or xesmf (ESMF "
            "conservative; only when asked for, and untested on some platforms). Both take rectilinear grids: "
            "curvilinear inputs are refused."
        ),
    )

    @field_validator("resolution")
    @classmethod
    def _whole_cells(cls, resolution: float) -> float:
        return whole_cells(resolution)

    @field_validator("regridder")
    @classmethod
    def _known_regridder(cls, name: str) -> str:
        return known_regridder(name)

    @model_validator(mode="after")
    def _ordered(self) -> "GridSpec":
        if self.lat_min >= self.lat_max:
            raise ValueError("lat_min must be below lat_max")
        return self


class PeriodSpec(Strict):
    """The climatology period (inclusive years)."""

    start: int = Field(..., ge=1000, le=3000)
    end: int = Field(..., ge=1000, le=3000)

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodSpec":
        if self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class RegionSpec(Strict):
    """The region scheme."""

    scheme: str = Field("whittaker", description="Registered region scheme (whittaker, global_only, mask, file).")
    min_cells: int = Field(40, ge=5, description="Biomes with fewer land cells are merged into a neighbour.")
    include_global: bool = True
    mask_path: str | None = Field(
        None,
        description=(
            "For scheme 'mask': netCDF of integer region codes on the analysis grid; for 'file': on any regular "
            "grid, e.g. ILAMB's regions/Whittaker.nc (named by 'labels'/'names' or flag_values/flag_meanings)."
        ),
    )
    mask_variable: str | None = None
    temperature_covariate: str = Field("temperature", description="Covariate giving mean annual temperature (degC).")
    precipitation_covariate: str = Field(
        "precipitation", description="Covariate giving mean annual precipitation (mm yr-1)."
    )

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, name: str) -> str:
        from ..regions import REGION_SCHEMES

        return registered(REGION_SCHEMES, name)


class Definition(Strict):
    """A socbench benchmark definition."""

    name: str
    description: str = ""
    data_root: str = Field(".", description="Base for relative paths (relative to the YAML file).")
    target: TargetSpec = TargetSpec()
    covariates: dict[str, CovariateSpec]
    observations: list[ObservationSpec] = Field(..., min_length=2)
    models: ModelsSpec
    analysis_grid: GridSpec = GridSpec()
    period: PeriodSpec
    regions: RegionSpec = RegionSpec()
    learner: LearnerSpec = LearnerSpec()
    scores: ScoreSpec = ScoreSpec()

    @field_validator("observations")
    @classmethod
    def _unique_products(cls, products: list[ObservationSpec]) -> list[ObservationSpec]:
        refuse_duplicates([p.name for p in products], "observation product names")
        return products

    @model_validator(mode="after")
    def _unique_dataset_names(self) -> "Definition":
        from ..names import check_explicit_names, check_product_names

        products = [p.name for p in self.observations]
        check_product_names(products)
        check_explicit_names([m.name for m in self.models.explicit], products)
        return self

    @model_validator(mode="after")
    def _climate_covariates_exist(self) -> "Definition":
        if self.regions.scheme == "whittaker":
            for key in ("temperature_covariate", "precipitation_covariate"):
                name = getattr(self.regions, key)
                if name not in self.covariates:
                    raise ValueError(f"regions.{key}: {name!r} is not a declared covariate")
        return self

    @field_validator("covariates")
    @classmethod
    def _some_covariates(cls, covariates: dict[str, CovariateSpec]) -> dict[str, CovariateSpec]:
        if len(covariates) < 2:
            raise ValueError("declare at least two covariates")
        return covariates

    def section_hash(self, *sections: str) -> str:
        """Content hash of the named top-level sections (all when none given)."""
        return section_hash(self, *sections)
