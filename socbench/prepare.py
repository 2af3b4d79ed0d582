"""Prepare inputs: read and regrid the observed covariates, products and models onto the analysis grid."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from .catalog import is_remote, read_catalog
from .config import Definition
from .discover import ModelFiles, wanted_tables
from .discover import discover_models as discover_drs_models
from .errors import InputDataError, SocbenchError
from .inputs import FieldRequest, land_fraction_of, one_line, read_field, resolve_paths
from .names import check_explicit_not_discovered, merge_discovered
from .emulate import block_folds, spatial_blocks
from .progress import Progress, silent
from .regions import RegionContext, build_regions
from .regrid import analysis_grid, regridder


@dataclass
class ReadLog:
    """How the input fields of one dataset were read, for provenance.json."""

    name: str
    files: list[str] = field(default_factory=list)
    nonfinite_cells: int = 0  # +-inf values masked while reading (cells x time steps)
    climatologies: dict[str, str] = field(default_factory=dict)  # variable -> climatology period, as stated
    notes: list[str] = field(default_factory=list)  # how inputs were read, one line each
    time_coverage: dict[str, float] = field(default_factory=dict)  # variable -> fraction of the period covered


@dataclass
class Prepared:
    """One dataset on the analysis grid: SOC (kg m-2) and covariates, NaN where missing."""

    name: str
    kind: str  # "observation" or "model"
    soc: np.ndarray
    covariates: np.ndarray  # (p, lat, lon)
    log: ReadLog | None = None  # how its fields were read; an empty log by default

    def __post_init__(self) -> None:
        if self.log is None:
            self.log = ReadLog(self.name)

    def valid(self, land: np.ndarray) -> np.ndarray:
        ok = land & np.isfinite(self.soc) & (self.soc > 0)
        return ok & np.all(np.isfinite(self.covariates), axis=0)


@dataclass
class Context:
    """Shared state of a run: grid, observed covariates, reference land."""

    definition: Definition
    root: Path
    grid: xr.Dataset
    obs_covariates: np.ndarray  # (p, lat, lon)
    land: np.ndarray
    weight: np.ndarray  # cell area x reference land fraction
    regrid: Callable
    files: list[str] = field(default_factory=list)
    read_log: dict[str, ReadLog] = field(default_factory=dict)  # "covariate:<name>" -> how it was read
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # name -> cell mask, global first
    grids: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (p, K) response grid
    region_table: pd.DataFrame | None = None  # every region of the scheme, with its status
    cv_block_size: float = float("nan")  # spatial CV block edge shared by every dataset (degrees)

    def cell_coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) of every cell of the analysis grid, as 2-D arrays."""
        return np.meshgrid(self.grid["lat"].values, self.grid["lon"].values, indexing="ij")

    def cell_folds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap block and CV fold of every cell: one design for every dataset.

        Folds are dealt to the CV blocks of all reference land, so a
        dataset's folds do not depend on which cells it covers. Bootstrap
        blocks are about the autocorrelation range (the CV block edge divided
        by ``block_range_factor``): resampling 60-degree blocks would drop
        whole continents from a refit.
        """
        lat, lon = self.cell_coordinates()
        cv = self.definition.learner.cv
        blocks = spatial_blocks(lat, lon, self.cv_block_size)
        fold_of = block_folds(blocks[self.land], cv.folds, self.definition.learner.seed)
        folds = np.vectorize(lambda b: fold_of.get(int(b), -1), otypes=[int])(blocks)
        boot_size = max(cv.block_size_min, self.cv_block_size / cv.block_range_factor)
        return spatial_blocks(lat, lon, boot_size), folds

    @property
    def covariate_names(self) -> list[str]:
        return list(self.definition.covariates)


def _to_grid(context_grid: xr.Dataset, field_ds: xr.Dataset, variable: str, regrid, weights=None):
    try:
        regridded = regrid(field_ds, variable, context_grid, weights)
    except Exception as exc:  # e.g. a land fraction on another grid; the dataset fails, not the run
        path = (field_ds.attrs.get("source_files") or [None])[0]
        raise InputDataError(f"cannot be regridded ({type(exc).__name__}: {one_line(exc)})", path, variable) from None
    return regridded.values.values, regridded.coverage.values


def _log_read(log: ReadLog, field_ds: xr.Dataset, variable: str, with_files: bool = True) -> None:
    """Add how one field was read (files, infinite values, climatology, notes) to a dataset's log."""
    if with_files:
        log.files.extend(field_ds.attrs["source_files"])
    log.nonfinite_cells += int(field_ds.attrs.get("n_nonfinite", 0))
    if field_ds.attrs.get("climatology"):
        log.climatologies[variable] = field_ds.attrs.get("climatology_period", "")
    log.notes.extend(field_ds.attrs.get("notes", []))
    if np.isfinite(field_ds.attrs.get("time_coverage", np.nan)):
        log.time_coverage[variable] = round(float(field_ds.attrs["time_coverage"]), 4)


@contextmanager
def _failure_of(kind: str, name: str):
    """Turn an unforeseen error while preparing one dataset into that dataset's one-line failure."""
    try:
        yield
    except SocbenchError:
        raise
    except Exception as exc:
        raise InputDataError(
            f"{kind} {name!r} could not be prepared ({type(exc).__name__}: {one_line(exc)})"
        ) from None


def _file_request(paths, source, units: str, non_negative: bool = False) -> FieldRequest:
    """The request for a definition source (product or covariate file) with its missing-value keys."""
    return FieldRequest(
        tuple(paths),
        source.variable,
        units,
        source.units,
        non_negative=non_negative,
        missing_values=tuple(source.missing_values),
        valid_range=tuple(source.valid_range) if source.valid_range is not None else None,
    )


def prepare_context(definition: Definition, root: Path, progress: Progress = silent) -> Context:
    """Read the observation-side covariates, set up the grid and the reference land."""
    spec = definition.analysis_grid
    grid = analysis_grid(spec.resolution, spec.lat_min, spec.lat_max)
    regrid = regridder(spec.regridder)
    period = definition.period
    fields, coverages, files, read_log = [], [], [], {}
    for name, covariate in definition.covariates.items():
        source = covariate.shared or covariate.obs
        progress(f"reading observed covariate {name}")
        request = _file_request(resolve_paths(root, source.path), source, covariate.units)
        ds = read_field(request, period.start, period.end)
        values, coverage = _to_grid(grid, ds, source.variable, regrid)
        fields.append(values)
        coverages.append(coverage)
        files += ds.attrs["source_files"]
        read_log[f"covariate:{name}"] = log = ReadLog(f"covariate:{name}")
        _log_read(log, ds, source.variable)
    obs_covariates = np.stack(fields)
    land_fraction = np.min(coverages, axis=0)
    land = (land_fraction > 0) & np.all(np.isfinite(obs_covariates), axis=0)
    weight = np.where(land, grid["cell_area"].values * land_fraction, 0.0)
    context = Context(definition, root, grid, obs_covariates, land, weight, regrid, files, read_log)
    region_map = _regions(context)
    context.regions = {name: mask & land for name, mask in region_map.masks(land).items()}
    context.grids = {
        name: response_grids(context, mask, definition.learner.grid_points) for name, mask in context.regions.items()
    }
    context.region_table = region_map.table
    return context


def prepare_observation(context: Context, name: str) -> Prepared:
    """Read and regrid one observation product.

    Raises
    ------
    InputDataError
        For any problem with this product (one line).
    """
    definition = context.definition
    spec = next(o for o in definition.observations if o.name == name)
    with _failure_of("observation product", name):
        request = _file_request(resolve_paths(context.root, spec.path), spec, definition.target.units, non_negative=True)
        ds = read_field(request, definition.period.start, definition.period.end)
        soc, _ = _to_grid(context.grid, ds, spec.variable, context.regrid)
        prepared = Prepared(name, "observation", soc, context.obs_covariates)
        _log_read(prepared.log, ds, spec.variable)
        return prepared


def discover_models(definition: Definition, root: Path, failures: list[dict] | None = None) -> dict[str, ModelFiles]:
    """All models of the definition: from the DRS tree, the intake-esm catalogue and explicit entries.

    An explicit model whose glob matches no file is that model's failure,
    appended to ``failures`` (raised when ``failures`` is None).
    """
    spec = definition.models
    wanted = wanted_tables(definition)
    prefer = {definition.target.variable: list(definition.target.prefer)} if definition.target.prefer else None
    found: list[tuple[str, dict[str, ModelFiles]]] = []

    def discovered(directory: Path, files=None) -> dict[str, ModelFiles]:
        return discover_drs_models(
            directory, spec.layout, spec.experiment, wanted, definition.target.variable, spec.member,
            spec.include, spec.exclude, prefer, files=files,
        )

    if spec.drs_root:
        found.append(("drs_root", discovered(root / spec.drs_root)))
    if spec.catalog:
        catalog = spec.catalog if is_remote(spec.catalog) else root / spec.catalog
        found.append(("catalog", discovered(root, files=read_catalog(catalog))))
    models = merge_discovered(found, [o.name for o in definition.observations])
    for explicit in spec.explicit:
        if explicit.name in spec.exclude:
            continue
        check_explicit_not_discovered(explicit.name, models)
        try:
            files = {var: resolve_paths(root, pattern) for var, pattern in explicit.paths.items()}
        except InputDataError as exc:
            if failures is None:
                raise
            failures.append({"dataset": explicit.name, "kind": "model", "reason": f"model {explicit.name!r}: {exc}"})
            continue
        models[explicit.name] = ModelFiles(explicit.name, "explicit", files)
    for name in spec.exclude:
        models.pop(name, None)
    return models


def _model_request(
    model: ModelFiles,
    variable: str,
    units: str,
    non_negative: bool = False,
    files: dict | None = None,
    member: str | None = None,
    source=None,
) -> FieldRequest:
    files = model.files if files is None else files
    if variable not in files or not files[variable]:
        raise InputDataError(
            f"model {model.name!r} has no files for variable {variable!r} (member {member or model.member}); "
            f"variables found: {', '.join(sorted(files)) or 'none'}"
        )
    return FieldRequest(
        tuple(files[variable]),
        model.file_variable(variable),
        units,
        non_negative=non_negative,
        missing_values=tuple(source.missing_values) if source is not None else (),
        valid_range=tuple(source.valid_range) if source is not None and source.valid_range is not None else None,
    )


def prepare_model(context: Context, model: ModelFiles) -> Prepared:
    """Read and regrid one model's target and own covariates, weighted by its land fraction.

    Raises
    ------
    InputDataError
        For any problem with this model (one line).
    """
    with _failure_of("model", model.name):
        return _prepare_model(context, model)


def _prepare_model(context: Context, model: ModelFiles) -> Prepared:
    definition = context.definition
    start, end = definition.period.start, definition.period.end
    log = ReadLog(model.name)
    land_fraction = None
    if model.files.get("sftlf"):
        request = _model_request(model, "sftlf", "1")
        sftlf = read_field(request, start, end)
        land_fraction = land_fraction_of(sftlf, request.variable)  # percent labelled "1" is converted, with a note
        _log_read(log, sftlf, "sftlf", with_files=False)  # as before: the land fraction is not checksummed

    def regridded(variable: str, units: str, non_negative: bool = False, source=None) -> np.ndarray:
        # member "mean": each member is read and regridded, then the fields are averaged
        members = []
        for member, member_files in zip(model.members, model.files_by_member()):
            request = _model_request(model, variable, units, non_negative, member_files, member, source)
            ds = read_field(request, start, end)
            _log_read(log, ds, request.variable)
            name = request.variable
            try:
                weights = None if land_fraction is None else land_fraction.reindex_like(ds[name], method="nearest")
            except Exception as exc:
                raise InputDataError(
                    f"land fraction sftlf cannot be matched to this grid ({type(exc).__name__}: {one_line(exc)})",
                    request.paths[0],
                    name,
                ) from None
            values, _ = _to_grid(context.grid, ds, name, context.regrid, weights)
            members.append(values)
        return members[0] if len(members) == 1 else np.mean(members, axis=0)

    target = definition.target
    soc = regridded(target.variable, target.units, non_negative=True)
    for extra in target.add:
        soc = soc + regridded(extra, target.units, non_negative=True)
    covariates = []
    for index, (name, covariate) in enumerate(definition.covariates.items()):
        if covariate.model is None:
            covariates.append(context.obs_covariates[index])
        else:
            covariates.append(regridded(covariate.model.variable, covariate.units, source=covariate.model))
    return Prepared(model.name, "model", soc, np.stack(covariates), log)


def prepare_models(context: Context, progress: Progress = silent) -> tuple[list[Prepared], list[dict]]:
    """Discover, read and regrid every model; failures are returned, not raised."""
    failures: list[dict] = []
    models = discover_models(context.definition, context.root, failures)
    if not models and not failures:
        raise SocbenchError(f"no model with variable {context.definition.target.variable!r} found under {context.root}")
    prepared = []
    for name, model in models.items():
        progress(f"reading model {name}")
        try:
            prepared.append(prepare_model(context, model))
        except SocbenchError as exc:
            failures.append({"dataset": name, "kind": "model", "reason": str(exc)})
    return prepared, failures


def _regions(context: Context):
    spec = context.definition.regions
    names = context.covariate_names
    # Region files are aligned by coordinates: every array carries the analysis grid's.
    coords = {"lat": context.grid["lat"].values, "lon": context.grid["lon"].values}
    temperature = precipitation = np.zeros(context.land.shape)
    if spec.temperature_covariate in names and spec.precipitation_covariate in names:
        temperature = context.obs_covariates[names.index(spec.temperature_covariate)]
        precipitation = context.obs_covariates[names.index(spec.precipitation_covariate)]
    temperature, precipitation, land = (
        xr.DataArray(values, dims=("lat", "lon"), coords=coords) for values in (temperature, precipitation, context.land)
    )
    mask_path = str(context.root / spec.mask_path) if spec.mask_path else None
    region_context = RegionContext(temperature, precipitation, land, mask_path, spec.mask_variable)
    return build_regions(spec.scheme, region_context, spec.min_cells, spec.include_global)


def response_grids(context: Context, mask: np.ndarray, points: int) -> np.ndarray:
    """(p, K) strictly increasing grid of pooled observed covariate quantiles in a region."""
    levels = np.linspace(0.05, 0.95, points)
    grids = np.empty((len(context.obs_covariates), points))
    for j, values in enumerate(context.obs_covariates):
        sample = values[mask & np.isfinite(values)]
        grid = np.quantile(sample, levels)
        step = max(1e-6 * (np.ptp(sample) or 1.0), 1e-12)
        for k in range(1, points):
            grid[k] = max(grid[k], grid[k - 1] + step)
        grids[j] = grid
    return grids
