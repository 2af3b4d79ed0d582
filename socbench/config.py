"""The declarative benchmark definition: schema, loading and validation.

A definition is a YAML file (see ``docs/definition.md``). It is validated with
pydantic on load; any error names the file, the key path, the line and, for a
misspelt key, the nearest valid one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from .errors import DefinitionError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(_Strict):
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


class ModelSource(_Strict):
    """Where models take a covariate from (their own output)."""

    variable: str = Field(..., description="CMIP variable name, e.g. tas.")
    table: str = Field("Amon", description="CMIP table, e.g. Amon, Lmon.")


class FileSource(_Strict):
    """A covariate field read from a file (an observed product or a shared map)."""

    path: str = Field(..., description="Path or glob, relative to data_root.")
    variable: str = Field(..., description="Variable name in the file.")
    units: str | None = Field(None, description="Units to assume when the file does not say.")


class CovariateSpec(_Strict):
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


class ObservationSpec(_Strict):
    """An observational SOC product."""

    name: str = Field(..., description="Short name shown in the scorecard.")
    path: str = Field(..., description="Path or glob, relative to data_root.")
    variable: str = Field(..., description="SOC variable name in the file.")
    units: str | None = Field(None, description="Units to assume when the file does not say.")
    description: str = ""


class ExplicitModel(_Strict):
    """A model given by explicit paths (globs) per variable."""

    name: str
    paths: dict[str, str] = Field(..., description="Variable name -> path or glob (relative to data_root).")


class ModelsSpec(_Strict):
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
            "Path (relative to data_root) of an intake-esm catalogue (ESM collection JSON) whose catalog_file "
            "CSV lists one netCDF file per row with source_id, experiment_id, member_id, table_id, variable_id, "
            "grid_label, version and the file path. Used instead of walking a DRS tree; may be combined with "
            "drs_root and explicit models."
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
        names = [m.name for m in self.explicit]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicated model names: {', '.join(duplicated)}")
        return self


class GridSpec(_Strict):
    """The regular lat/lon analysis grid every dataset is regridded to."""

    resolution: float = Field(2.0, gt=0.05, le=10.0, description="Cell size in degrees.")
    lat_min: float = Field(-60.0, ge=-90.0, lt=90.0, description="Southern edge (default excludes Antarctica).")
    lat_max: float = Field(90.0, gt=-90.0, le=90.0)
    regridder: Literal["auto", "builtin", "xesmf"] = Field(
        "auto", description="auto: xesmf when importable, else the built-in exact conservative regridder."
    )

    @model_validator(mode="after")
    def _ordered(self) -> "GridSpec":
        if self.lat_min >= self.lat_max:
            raise ValueError("lat_min must be below lat_max")
        return self


class PeriodSpec(_Strict):
    """The climatology period (inclusive years)."""

    start: int = Field(..., ge=1000, le=3000)
    end: int = Field(..., ge=1000, le=3000)

    @model_validator(mode="after")
    def _ordered(self) -> "PeriodSpec":
        if self.start > self.end:
            raise ValueError("start must not be after end")
        return self


class RegionSpec(_Strict):
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


class CVSpec(_Strict):
    block_size: float = Field(10.0, gt=0, description="Spatial block edge in degrees.")
    folds: int = Field(5, ge=2, le=20)


class LearnerSpec(_Strict):
    """How emulators are fitted and explained."""

    estimator: str = Field("gradient_boosting", description="Registered learner: gradient_boosting or gam.")
    params: dict[str, Any] = Field(default_factory=dict, description="Passed to the learner.")
    cv: CVSpec = CVSpec()
    explainer: str = Field("shap", description="Registered importance method: shap or permutation.")
    response: str = Field("ale", description="Registered response-curve method: ale.")
    grid_points: int = Field(12, ge=4, le=50, description="Quantile grid size of response curves.")
    bootstraps: int = Field(8, ge=0, le=500, description="Spatial-block bootstrap replicates.")
    max_explain_cells: int = Field(2000, ge=100, description="Cells sampled for SHAP per fit.")
    min_r2: float = Field(0.3, description="Emulators below this CV R^2 are flagged as unreliable.")
    seed: int = 20240101


class ScoreSpec(_Strict):
    """Score weights and tolerances."""

    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "importance": 0.35,
            "response": 0.35,
            "stock_bias": 0.15,
            "spatial_distribution": 0.15,
        }
    )
    delta_min: dict[str, float] = Field(
        default_factory=lambda: {"importance": 0.05, "response": 0.1},
        description="Floor of the obs-obs scale per driver metric.",
    )
    coverage_min: float = Field(
        0.8, gt=0, le=1, description="A product joins a region's envelope if it covers this fraction of it."
    )

    @field_validator("weights")
    @classmethod
    def _known_components(cls, weights: dict[str, float]) -> dict[str, float]:
        known = ("importance", "response", "stock_bias", "spatial_distribution")
        for key, value in weights.items():
            if key not in known:
                hint = _nearest(key, known)
                raise ValueError(f"unknown score component {key!r}" + (f" (did you mean {hint!r}?)" if hint else ""))
            if value < 0:
                raise ValueError(f"weight of {key!r} must be >= 0")
        if sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return weights


class Definition(_Strict):
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
        names = [p.name for p in products]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"duplicated observation product names: {', '.join(duplicated)}")
        return products

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
        data = self.model_dump(mode="json")
        chosen = {k: data[k] for k in (sections or sorted(data))}
        if "covariates" in chosen:
            # Covariate order is the column order of every table: it matters.
            chosen["covariate_order"] = list(self.covariates)
        return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- loading


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a benchmark definition."""
    return Definition.model_json_schema()


def _nearest(key: str, candidates) -> str | None:
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.5)
    return matches[0] if matches else None


def _line_of(document: Any, loc: tuple) -> int | None:
    """1-based line of the deepest node along ``loc`` that exists in the YAML."""
    node, line = document, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and hasattr(document, "lc"):
        line = document.lc.line + 1
    return line


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that owns the mapping at ``loc``."""
    model: Any = Definition
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _describe(error: dict, document: Any, source: str) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "model-"))))
    key_path = ".".join(str(p) for p in loc) or "<top level>"
    line = _line_of(document, loc)
    where = f"{source}:{line}" if line else source
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        hint = _nearest(str(loc[-1]), owner.model_fields) if owner else None
        message = f"unknown key {loc[-1]!r}" + (f"; did you mean {hint!r}?" if hint else "")
        if owner:
            message += f" (valid keys: {', '.join(owner.model_fields)})"
    elif error["type"] == "missing":
        message = f"required key {loc[-1]!r} is missing"
    return f"{where}: {key_path}: {message}"


def load_definition(path: str | Path, data_root: str | Path | None = None) -> tuple[Definition, Path]:
    """Load and validate a definition file.

    Parameters
    ----------
    path : path-like
        The YAML file.
    data_root : path-like, optional
        Overrides the definition's ``data_root``.

    Returns
    -------
    definition : Definition
    root : Path
        The absolute directory that relative data paths are resolved against.

    Raises
    ------
    DefinitionError
        With one line per problem: file, line, key path and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise DefinitionError(f"{path}: benchmark definition not found")
    try:
        document = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DefinitionError(f"{path}{line}: not valid YAML: {exc.problem}") from None
    if not isinstance(document, dict):
        raise DefinitionError(f"{path}: expected a mapping of keys at the top level")
    try:
        definition = Definition.model_validate(_plain(document))
    except ValidationError as exc:
        lines = [_describe(err, document, str(path)) for err in exc.errors()]
        raise DefinitionError("\n".join(lines)) from None
    root = Path(data_root) if data_root is not None else (path.parent / definition.data_root)
    return definition, root.resolve()


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
