"""The declarative benchmark definition: schema, loading and validation.

A definition is a YAML file (see ``docs/definition.md``). It is validated with
pydantic on load; any error names the file, the key path, the line and, for a
misspelt key, the nearest valid one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from .errors import DefinitionError


class _Strict(BaseModel):
    # NaN and inf are never meaningful in a definition: a NaN tolerance or weight
    # compares false with everything and silently disables a check.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _registered(registry, name: str) -> str:
    """``name`` if ``registry`` knows it, else a ValueError listing the known names."""
    if name not in registry:
        raise ValueError(f"unknown {registry.what} {name!r} (known: {', '.join(registry.names())})")
    return name


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


class _MissingValues(_Strict):
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
    def _divides_the_globe(cls, resolution: float) -> float:
        if not divides_the_globe(resolution):
            below, above = nearby_resolutions(resolution)
            raise ValueError(
                f"{resolution:g} deg does not divide 180 and 360 into whole cells (the last column would be "
                f"cut short); nearby valid values: {', '.join(f'{r:g}' for r in below + above)}"
            )
        return resolution

    @field_validator("regridder")
    @classmethod
    def _known_regridder(cls, name: str) -> str:
        from .regrid import REGRIDDERS, regrid_xesmf, xesmf_available

        _registered(REGRIDDERS, name)
        if REGRIDDERS.get(name) is regrid_xesmf and not xesmf_available():
            raise ValueError("'xesmf' cannot be imported here: pip install xesmf, or use 'builtin'")
        return name

    @model_validator(mode="after")
    def _ordered(self) -> "GridSpec":
        if self.lat_min >= self.lat_max:
            raise ValueError("lat_min must be below lat_max")
        return self


def divides_the_globe(resolution: float) -> bool:
    """Whether ``resolution`` (degrees) divides 180 (and so 360) into whole cells.

    Rounded decimals such as 0.083333 (1/12) are accepted (relative error below
    1e-5): the grid then has ``n = round(180 / resolution)`` rows, each 180/n
    degrees high.
    """
    cells = 180.0 / resolution
    return abs(cells - round(cells)) < 1e-5 * cells


def nearby_resolutions(resolution: float, count: int = 2) -> tuple[list[float], list[float]]:
    """Up to ``count`` valid resolutions below and above ``resolution``, with at most 4 decimals."""
    valid = [180.0 / n for n in range(1, 3601) if abs(180.0 / n - round(180.0 / n, 4)) < 1e-12]
    below = sorted(r for r in valid if 0.05 < r < resolution)[-count:]
    above = sorted(r for r in valid if resolution < r <= 10.0)[:count]
    return below, above


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

    @field_validator("scheme")
    @classmethod
    def _known_scheme(cls, name: str) -> str:
        from .regions import REGION_SCHEMES

        return _registered(REGION_SCHEMES, name)


class CVSpec(_Strict):
    """Spatial block cross-validation."""

    block_size: float | Literal["auto"] = Field(
        "auto",
        description=(
            "Spatial block edge in degrees, or 'auto': block_range_factor x the practical range of spatial "
            "autocorrelation of ln SOC (correlogram below 0.05), per (dataset, region), clipped to "
            "[block_size_min, block_size_max]."
        ),
    )
    block_size_min: float = Field(10.0, gt=0, le=90, description="Smallest automatic block edge (degrees).")
    block_size_max: float = Field(60.0, gt=0, le=180, description="Largest automatic block edge (degrees).")
    block_range_factor: float = Field(
        2.0, ge=1.0, le=5.0, description="Automatic block edge as a multiple of the autocorrelation range."
    )

    @field_validator("block_size")
    @classmethod
    def _positive(cls, value):
        if value != "auto" and not (math.isfinite(value) and value > 0):
            raise ValueError("block_size must be 'auto' or a number of degrees > 0")
        return value
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
    min_r2: float = Field(0.3, le=1.0, description="Emulators below this CV R^2 are flagged as unreliable.")
    min_r2_relative: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description=(
            "A model's emulator is also unreliable in a region when its CV R^2 is below this fraction of the "
            "observation products' median CV R^2 there."
        ),
    )
    seed: int = 20240101

    @field_validator("estimator", "explainer", "response")
    @classmethod
    def _known_method(cls, name: str, info: ValidationInfo) -> str:
        from .emulate import LEARNERS
        from .explain import EXPLAINERS, RESPONSE_METHODS

        registry = {"estimator": LEARNERS, "explainer": EXPLAINERS, "response": RESPONSE_METHODS}[info.field_name]
        return _registered(registry, name)

    @field_validator("params")
    @classmethod
    def _buildable(cls, params: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # Build and fit the learner on a small table now, not in a worker after the reading.
        from .emulate import check_learner

        if "estimator" in info.data:  # else the estimator's own error is reported
            try:
                check_learner(info.data["estimator"], params)
            except DefinitionError as exc:
                raise ValueError(str(exc).removeprefix("learner.params: ")) from None
        return params


DEFAULT_WEIGHTS = {
    "importance": 0.25,
    "response": 0.25,
    "explained_variance": 0.2,
    "total_stock": 0.1,
    "ilamb_bias": 0.1,
    "spatial_distribution": 0.1,
}
DEFAULT_DELTA_MIN = {"importance": 0.05, "response": 0.1, "explained_variance": 0.05}
#: Distance at which a graded score reaches 0 (TV and |R^2 gap| cannot exceed 1; mirrored curves are at 2).
DEFAULT_DISTANCE_MAX = {"importance": 1.0, "response": 2.5, "explained_variance": 1.0}
#: Power of the graded score map (see socbench.score.graded_score).
DEFAULT_POWER = {"importance": 2.0, "response": 3.0, "explained_variance": 2.0}
#: Component names of earlier versions, still accepted in definitions.
RENAMED_COMPONENTS = {"stock_bias": "total_stock"}


def _complete(given: dict[str, float], defaults: dict[str, float], what: str, renamed=None) -> dict[str, float]:
    """``given`` over ``defaults``: unknown keys refused, finite non-negative values only."""
    completed = dict(defaults)
    for key, value in given.items():
        key = (renamed or {}).get(key, key)
        if key not in defaults:
            hint = _nearest(key, defaults)
            raise ValueError(
                f"unknown {what} {key!r}" + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; known: {', '.join(defaults)}"
            )
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{what} {key!r} must be a finite number >= 0 (got {value})")
        completed[key] = float(value)
    return completed


class ScoreSpec(_Strict):
    """Score weights and the constants of the score maps (docs/method.md)."""

    weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Weight of each component in the overall score; components left out keep their default weight.",
    )
    delta_min: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_DELTA_MIN),
        description="Floor of the obs-obs tolerance per graded metric (missing keys take their defaults).",
    )
    distance_max: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_DISTANCE_MAX),
        description="Distance at which a graded score reaches 0 (missing keys take their defaults).",
    )
    power: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_POWER),
        description="Power of each graded score map (missing keys take their defaults).",
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

    @field_validator("weights")
    @classmethod
    def _known_components(cls, weights: dict[str, float]) -> dict[str, float]:
        weights = _complete(weights, DEFAULT_WEIGHTS, "score component", RENAMED_COMPONENTS)
        if sum(weights.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return weights

    @field_validator("delta_min")
    @classmethod
    def _known_tolerances(cls, delta_min: dict[str, float]) -> dict[str, float]:
        return _complete(delta_min, DEFAULT_DELTA_MIN, "delta_min metric")

    @field_validator("distance_max")
    @classmethod
    def _known_maxima(cls, distance_max: dict[str, float]) -> dict[str, float]:
        distance_max = _complete(distance_max, DEFAULT_DISTANCE_MAX, "distance_max metric")
        if any(value <= 0 for value in distance_max.values()):
            raise ValueError("every distance_max must be > 0")
        return distance_max

    @field_validator("power")
    @classmethod
    def _known_powers(cls, power: dict[str, float]) -> dict[str, float]:
        power = _complete(power, DEFAULT_POWER, "power metric")
        if any(value < 1 for value in power.values()):
            raise ValueError("every power must be >= 1")
        return power


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
    def _unique_dataset_names(self) -> "Definition":
        from .names import check_explicit_names, check_product_names

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
    text = _definition_text(path)
    try:
        _check_yaml_shape(text, path)
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DefinitionError(f"{path}{line}: not valid YAML: {exc.problem}") from None
    except (YAMLError, RecursionError) as exc:  # unmarked ruamel errors (e.g. several documents)
        raise DefinitionError(f"{path}: not valid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise DefinitionError(f"{path}: expected a mapping of keys at the top level")
    try:
        definition = Definition.model_validate(_plain(document))
    except ValidationError as exc:
        lines = [_describe(err, document, str(path)) for err in exc.errors()]
        raise DefinitionError("\n".join(lines)) from None
    root = Path(data_root) if data_root is not None else (path.parent / definition.data_root)
    return definition, root.resolve()


#: Limits of a definition file: far above any real definition, far below harm.
MAX_DEFINITION_BYTES = 1 << 20
MAX_YAML_NODES = 100_000  # after expanding aliases: stops "billion laughs" alias bombs
MAX_YAML_DEPTH = 64


def _definition_text(path: Path) -> str:
    """The file's text, refusing what is not a small UTF-8 text file."""
    if not path.is_file():
        raise DefinitionError(f"{path}: benchmark definition not found")
    try:
        size = path.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise DefinitionError(
                f"{path}: {size} bytes is too large for a benchmark definition (limit {MAX_DEFINITION_BYTES})"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot read the benchmark definition ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise DefinitionError(f"{path}: a binary file, not a YAML benchmark definition")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DefinitionError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the definition as UTF-8") from None


def _check_yaml_shape(text: str, path: Path) -> None:
    """Refuse alias bombs and very deep nesting from the event stream, before building any node.

    Each anchored node's size (its expanded node count) is recorded when it
    ends, and every alias adds that size, so the expanded size is known
    without expanding anything.
    """
    from ruamel.yaml.events import (
        AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent,
    )

    sizes: dict[str, int] = {}
    stack: list[list] = [[None, 0]]  # [anchor, expanded size] of each open collection
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) - 1 > MAX_YAML_DEPTH:
                line = event.start_mark.line + 1
                raise DefinitionError(f"{path}:{line}: nested deeper than {MAX_YAML_DEPTH} levels")
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
        elif isinstance(event, ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[-1][1] > MAX_YAML_NODES:
            line = event.start_mark.line + 1
            raise DefinitionError(
                f"{path}:{line}: expands to more than {MAX_YAML_NODES} values (YAML aliases); "
                "write the values out instead of repeating aliases"
            )


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
