"""Run orchestration: definition -> prepared fields -> emulation tasks -> scores.

Data flows one way through the stages (inputs, regrid, regions, emulate and
explain, score). A dataset that fails to load is recorded in the failures
table and the run goes on with the others. Emulation tasks are pure functions
of plain arrays, run in worker processes; their seeds derive from the run
seed and task labels, so results do not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
import platform
import sys
import time
from datetime import datetime, timezone
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .config import Definition
from .errors import InputDataError, SocbenchError
from .explain import EmulationResult, EmulationTask, run_emulation
from .catalog import is_remote, is_zarr_store, read_catalog, store_fingerprint
from .discover import ModelFiles, wanted_tables
from .discover import discover_models as discover_drs_models
from .inputs import FieldRequest, land_fraction_of, one_line, read_field, resolve_paths
from .names import check_explicit_not_discovered, merge_discovered
from .regions import RegionContext, build_regions
from .regrid import analysis_grid, regridder
from .results import (
    ASSESSMENT_COLUMNS,
    CEILING_COLUMNS,
    EMULATOR_COLUMNS,
    FAILURE_COLUMNS,
    NULL_COLUMNS,
    PRODUCT_FLAG_COLUMNS,
    SCORE_COLUMNS,
    STOCK_COLUMNS,
    SKIPPED_COLUMNS,
    RunResult,
    empty_table,
)
from .score import Explained, RegionData, RegionScores, ScoreSettings, score_region

Progress = Callable[[str], None]


def _silent(message: str) -> None:
    pass


@dataclass
class Prepared:
    """One dataset on the analysis grid: SOC (kg m-2) and covariates, NaN where missing."""

    name: str
    kind: str  # "observation" or "model"
    soc: np.ndarray
    covariates: np.ndarray  # (p, lat, lon)
    files: list[str] = field(default_factory=list)
    nonfinite_cells: int = 0  # +-inf values masked while reading (cells x time steps)
    climatologies: dict[str, str] = field(default_factory=dict)  # variable -> climatology period, as stated
    notes: list[str] = field(default_factory=list)  # how inputs were read, one line each
    time_coverage: dict[str, float] = field(default_factory=dict)  # variable -> fraction of the period covered

    def valid(self, land: np.ndarray) -> np.ndarray:
        ok = land & np.isfinite(self.soc) & (self.soc > 0)
        return ok & np.all(np.isfinite(self.covariates), axis=0)


@dataclass
class ReadLog:
    """How the input fields of one dataset were read, for provenance.json."""

    name: str
    files: list[str] = field(default_factory=list)
    nonfinite_cells: int = 0
    climatologies: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    time_coverage: dict[str, float] = field(default_factory=dict)


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

    @property
    def covariate_names(self) -> list[str]:
        return list(self.definition.covariates)


@dataclass
class Reference:
    """The observation side of a run: context, products and their emulations.

    Everything ``socbench check`` needs to score a new model; saved and loaded
    by :mod:`socbench.reference`.
    """

    context: Context
    products: list[Prepared]
    emulations: dict[tuple[str, str], EmulationResult]
    failures: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # (product, region) pairs not emulated, with reasons


# ------------------------------------------------------------------ prepare


def _to_grid(context_grid: xr.Dataset, field_ds: xr.Dataset, variable: str, regrid, weights=None):
    try:
        regridded = regrid(field_ds, variable, context_grid, weights)
    except Exception as exc:  # e.g. a land fraction on another grid; the dataset fails, not the run
        path = (field_ds.attrs.get("source_files") or [None])[0]
        raise InputDataError(f"cannot be regridded ({type(exc).__name__}: {one_line(exc)})", path, variable) from None
    return regridded.values.values, regridded.coverage.values


def _log_read(log: ReadLog | Prepared, field_ds: xr.Dataset, variable: str, with_files: bool = True) -> None:
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


def prepare_context(definition: Definition, root: Path, progress: Progress = _silent) -> Context:
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
        _log_read(prepared, ds, spec.variable)
        return prepared


def discover_models(context: Context, failures: list[dict] | None = None) -> dict[str, ModelFiles]:
    """All models of the definition: from the DRS tree, the intake-esm catalogue and explicit entries.

    An explicit model whose glob matches no file is that model's failure,
    appended to ``failures`` (raised when ``failures`` is None).
    """
    definition = context.definition
    spec = definition.models
    wanted = wanted_tables(definition)
    prefer = {definition.target.variable: list(definition.target.prefer)} if definition.target.prefer else None
    found: list[tuple[str, dict[str, ModelFiles]]] = []

    def discovered(root: Path, files=None) -> dict[str, ModelFiles]:
        return discover_drs_models(
            root, spec.layout, spec.experiment, wanted, definition.target.variable, spec.member,
            spec.include, spec.exclude, prefer, files=files,
        )

    if spec.drs_root:
        found.append(("drs_root", discovered(context.root / spec.drs_root)))
    if spec.catalog:
        catalog = spec.catalog if is_remote(spec.catalog) else context.root / spec.catalog
        found.append(("catalog", discovered(context.root, files=read_catalog(catalog))))
    models = merge_discovered(found, [o.name for o in definition.observations])
    for explicit in spec.explicit:
        if explicit.name in spec.exclude:
            continue
        check_explicit_not_discovered(explicit.name, models)
        try:
            files = {var: resolve_paths(context.root, pattern) for var, pattern in explicit.paths.items()}
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
    return Prepared(
        model.name, "model", soc, np.stack(covariates), log.files, log.nonfinite_cells, log.climatologies, log.notes,
        log.time_coverage,
    )


# ------------------------------------------------------------------ tasks


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


def _coverage_share(dataset: Prepared, mask: np.ndarray, context: Context) -> float:
    total = context.weight[mask].sum()
    if total <= 0:
        return 0.0
    return float(context.weight[mask & dataset.valid(context.land)].sum() / total)


def _skip_reason(context: Context, dataset: Prepared, region: str, cells: np.ndarray) -> str | None:
    """Why ``dataset`` is not emulated in ``region`` (too few valid cells, too little coverage), or None."""
    definition = context.definition
    n_cells = int(cells.sum())
    if n_cells == 0:
        return "no valid cell (SOC missing, zero or non-finite, or a covariate missing, in every land cell)"
    if n_cells < definition.regions.min_cells:
        return f"{n_cells} valid cells, below regions.min_cells {definition.regions.min_cells}"
    share = _coverage_share(dataset, context.regions[region], context)
    if share < definition.scores.coverage_min:
        return f"covers {share:.0%} of {region}, below scores.coverage_min {definition.scores.coverage_min:g}"
    return None


def build_tasks(
    context: Context, datasets: list[Prepared], bootstraps: int | None = None, skipped: list[dict] | None = None
) -> list[EmulationTask]:
    """One emulation task per (dataset, region) with enough valid cells and coverage.

    A dataset, observation product or model alike, joins a region only if it
    has ``regions.min_cells`` valid cells there and covers
    ``scores.coverage_min`` of the region's weighted area.

    Parameters
    ----------
    bootstraps : int, optional
        Overrides the definition's number of bootstrap replicates.
    skipped : list, optional
        Receives a ``{"dataset", "kind", "region", "reason"}`` row for every
        (dataset, region) without a task.
    """
    definition = context.definition
    learner = definition.learner
    lat2d, lon2d = np.meshgrid(context.grid["lat"].values, context.grid["lon"].values, indexing="ij")
    tasks = []
    for region, mask in context.regions.items():
        grids = context.grids[region]
        for dataset in datasets:
            cells = mask & dataset.valid(context.land) & (context.weight > 0)
            reason = _skip_reason(context, dataset, region, cells)
            if reason is not None:
                if skipped is not None:
                    skipped.append({"dataset": dataset.name, "kind": dataset.kind, "region": region, "reason": reason})
                continue
            tasks.append(
                EmulationTask(
                    dataset=dataset.name,
                    region=region,
                    X=dataset.covariates[:, cells].T.astype(float),
                    y=np.log(dataset.soc[cells]),
                    weight=context.weight[cells] / context.weight[cells].mean(),
                    lat=lat2d[cells],
                    lon=lon2d[cells],
                    grids=grids,
                    estimator=learner.estimator,
                    params=learner.params,
                    explainer=learner.explainer,
                    response=learner.response,
                    block_size=None if learner.cv.block_size == "auto" else float(learner.cv.block_size),
                    block_size_min=learner.cv.block_size_min,
                    block_size_max=learner.cv.block_size_max,
                    block_range_factor=learner.cv.block_range_factor,
                    folds=learner.cv.folds,
                    bootstraps=learner.bootstraps if bootstraps is None else bootstraps,
                    max_explain_cells=learner.max_explain_cells,
                    seed=learner.seed,
                )
            )
    return tasks


def _describe(workers: int | Executor) -> str:
    if isinstance(workers, ProcessPoolExecutor):
        return f"{workers._max_workers} worker processes"
    return type(workers).__name__ if isinstance(workers, Executor) else f"{workers} worker(s)"


def execute(
    tasks: list[EmulationTask], workers: int | Executor, progress: Progress = _silent, cache=None
) -> dict[tuple[str, str], EmulationResult]:
    """Run emulation tasks, in worker processes when ``workers > 1``.

    ``workers`` may also be a :class:`concurrent.futures.Executor`, e.g. the
    executor of a dask.distributed client (``Client(address).get_executor()``).

    With a :class:`~socbench.cache.TaskCache`, cached results are reused and
    new ones stored; the results are the same either way.
    """
    results: dict[tuple[str, str], EmulationResult] = {}
    pending = []
    for task in tasks:
        cached = cache.load(task) if cache is not None else None
        if cached is None:
            pending.append(task)
        else:
            results[(task.dataset, task.region)] = cached
    if results:
        progress(f"{len(results)} of {len(tasks)} tasks reused from the cache")

    def record(task: EmulationTask, done: EmulationResult) -> None:
        results[(done.dataset, done.region)] = done
        if cache is not None:
            cache.store(task, done)
        progress(f"[{len(results)}/{len(tasks)}] emulated {done.dataset} / {done.region} (CV R2 {done.cv_r2:.2f})")

    if isinstance(workers, Executor):
        for task, done in zip(pending, workers.map(run_emulation, pending)):
            record(task, done)
        return results
    if workers <= 1 or len(pending) <= 1:
        for task in pending:
            record(task, run_emulation(task))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for task, done in zip(pending, pool.map(run_emulation, pending)):
            record(task, done)
    return results


def _warm_up() -> None:
    """Import the learners' libraries in a new worker while the main process reads inputs."""
    import shap  # noqa: F401
    import sklearn.ensemble  # noqa: F401


@contextmanager
def worker_pool(workers: int | Executor):
    """A process pool for ``workers > 1``, started at once and warmed up in the background.

    Yields ``workers`` unchanged when it is 1 or already an executor.
    """
    if isinstance(workers, Executor) or workers <= 1:
        yield workers
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_up) as pool:
        for _ in range(workers):
            pool.submit(int)  # start every worker now, not at the first task
        yield pool


# ------------------------------------------------------------------ run


def build_reference(
    definition: Definition, root: Path, workers: int = 1, progress: Progress = _silent, cache=None
) -> Reference:
    """The observation side: covariates, regions, products and their emulations.

    Raises
    ------
    SocbenchError
        When the observed covariates cannot be read or fewer than two products can.
    """
    context = prepare_context(definition, Path(root), progress)
    products, failures = [], []
    for spec in definition.observations:
        progress(f"reading observation product {spec.name}")
        try:
            products.append(prepare_observation(context, spec.name))
        except SocbenchError as exc:
            failures.append({"dataset": spec.name, "kind": "observation", "reason": str(exc)})
    if len(products) < 2:
        raise SocbenchError("fewer than two observation products could be read: " + "; ".join(f["reason"] for f in failures))
    skipped: list[dict] = []
    tasks = build_tasks(context, products, skipped=skipped)
    progress(f"emulating the observation products: {len(tasks)} (product, region) tasks, {_describe(workers)}")
    emulations = execute(tasks, workers, progress, cache)
    return Reference(context, products, emulations, failures, skipped)


def prepare_models(context: Context, progress: Progress = _silent) -> tuple[list[Prepared], list[dict]]:
    """Discover, read and regrid every model; failures are returned, not raised."""
    failures: list[dict] = []
    models = discover_models(context, failures)
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


def score_models(
    reference: Reference,
    models: list[Prepared],
    workers: int = 1,
    progress: Progress = _silent,
    cache=None,
    failures: list[dict] | None = None,
    bootstraps: int | None = None,
) -> RunResult:
    """Emulate the models and score them against the reference's envelope.

    A model's own bootstrap replicates only give the whiskers of its shares
    and curves; its scores do not use them (the tolerances come from the
    observation products), so ``bootstraps=0`` gives the same scores faster.
    """
    skipped: list[dict] = []
    tasks = build_tasks(reference.context, models, bootstraps, skipped=skipped)
    progress(f"emulating the models: {len(tasks)} (model, region) tasks, {_describe(workers)}")
    emulations = execute(tasks, workers, progress, cache)
    progress("scoring")
    all_failures = reference.failures + list(failures or [])
    result = _assemble(reference, models, emulations, all_failures)
    skipped = reference.skipped + skipped
    result.skipped = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS) if skipped else empty_table(SKIPPED_COLUMNS)
    unscored = unscored_models([m.name for m in models], result.scores, skipped)
    if unscored:
        result.failures = pd.concat([result.failures, pd.DataFrame(unscored, columns=FAILURE_COLUMNS)], ignore_index=True)
    return result


def unscored_models(models: list[str], scores: pd.DataFrame, skipped: list[dict]) -> list[dict]:
    """A failure row for every model that has no score row, with the reason.

    A model read without error can still get no score: every region may lack
    valid cells or coverage (all-zero or non-finite SOC, a small domain), or
    every component with a weight may be withheld, leaving no ``overall``.
    Listing it as a failure makes the run partial and the CI gate fail,
    instead of dropping the model silently.
    """
    scored = set(scores["model"])
    with_overall = set(scores.loc[(scores["metric"] == "overall") & np.isfinite(scores["value"].astype(float)), "model"])
    rows = []
    for name in models:
        if name in with_overall:
            continue
        if name in scored:
            # Every weighted component withheld everywhere: a run must not call such a model "ok".
            reason = ("no overall score in any region: every component with a weight in scores.weights was "
                      "withheld (see the assessments and the model's page for the reasons)")
            rows.append({"dataset": name, "kind": "model", "reason": reason})
            continue
        reasons = [f"{row['region']}: {row['reason']}" for row in skipped if row["dataset"] == name]
        detail = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more region(s)" if len(reasons) > 3 else "")
        reason = f"not scored in any region: {detail}" if reasons else "not scored in any region (no score was computed)"
        rows.append({"dataset": name, "kind": "model", "reason": reason})
    return rows


def run(definition: Definition, root: Path, workers: int = 1, progress: Progress = _silent, cache=None) -> RunResult:
    """Run a benchmark definition end to end and return its tables.

    The result's ``reference`` holds the observation side, from which
    :func:`socbench.reference.save_reference` writes a bundle.

    Raises
    ------
    SocbenchError
        When nothing can be scored (observed covariates unreadable, fewer than
        two observation products, no model).
    """
    started = time.time()
    with worker_pool(workers) as pool:
        reference = build_reference(definition, root, pool, progress, cache)
        models, failures = prepare_models(reference.context, progress)
        result = score_models(reference, models, pool, progress, cache, failures)
    result.reference = reference
    result.provenance = provenance(definition, reference.context, reference.products + models, workers, time.time() - started)
    return result


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


def score_settings(definition: Definition) -> ScoreSettings:
    """The scoring constants of a definition."""
    scores = definition.scores
    learner = definition.learner
    return ScoreSettings(
        scores.weights, scores.delta_min, scores.distance_max, scores.power,
        min_r2=learner.min_r2, min_r2_relative=learner.min_r2_relative,
    )


def _assemble(reference: Reference, model_data: list[Prepared], model_emulations, failures) -> RunResult:
    context = reference.context
    definition = context.definition
    names = context.covariate_names
    datasets = reference.products + model_data
    products = [p.name for p in reference.products]
    emulations = {**reference.emulations, **model_emulations}
    by_name = {d.name: d for d in datasets}
    models = [d.name for d in model_data]
    settings = score_settings(definition)
    scored = RegionScores()
    region_rows, importances, responses, envelope_i, envelope_r, emulator_rows = [], [], [], [], [], []
    fields = {d.name: np.where(d.valid(context.land), d.soc, np.nan) for d in datasets}
    for region, mask in context.regions.items():
        present = [p for p in products if (p, region) in emulations]
        explained = {
            name: Explained(r.shares, r.curves, r.boot_shares, r.boot_curves, r.cv_r2)
            for (name, reg), r in emulations.items()
            if reg == region
        }
        grids = context.grids[region]
        region_rows.append(
            {
                "region": region,
                "n_cells": int((mask & context.land).sum()),
                "area_km2": float(context.weight[mask].sum() / 1e6),
                "products": ", ".join(present),
            }
        )
        data = RegionData(region, mask, context.weight, fields, explained, present)
        region_scores = score_region(data, [m for m in models if m in explained], settings)
        floor = region_scores.model_r2_floor
        for table in ("scores", "assessments", "ceiling", "nulls", "flags", "stocks"):
            getattr(scored, table).extend(getattr(region_scores, table))
        if present:
            envelope_i += _envelope_importance(region, names, [emulations[(p, region)] for p in present])
            envelope_r += _envelope_response(region, names, grids, [emulations[(p, region)] for p in present])
        for name, result in ((n, emulations[(n, region)]) for n in by_name if (n, region) in emulations):
            kind = by_name[name].kind
            emulator_rows.append(
                {
                    "dataset": name,
                    "kind": kind,
                    "region": region,
                    "n_cells": result.n_cells,
                    "cv_r2": result.cv_r2,
                    "cv_block_size": result.block_size,
                    "reliable": bool(result.cv_r2 >= (definition.learner.min_r2 if kind == "observation" else floor)),
                }
            )
            importances += _importance_rows(name, kind, region, names, result)
            responses += _response_rows(name, kind, region, names, grids, result)
    regions = _region_table(context.region_table, pd.DataFrame(region_rows))
    centre = _observation_centre([fields[p] for p in products])
    maps = {
        m: xr.DataArray(
            fields[m] - centre,
            dims=("lat", "lon"),
            coords={
                "lat": context.grid["lat"].values,
                "lon": context.grid["lon"].values,
                "weight": (("lat", "lon"), context.weight),  # the run's cell weights, for summaries
            },
            attrs={"units": definition.target.units},
        )
        for m in models
    }
    return RunResult(
        name=definition.name,
        scores=_table(scored.scores, SCORE_COLUMNS),
        ceiling=_table(scored.ceiling, CEILING_COLUMNS),
        emulators=_table(emulator_rows, EMULATOR_COLUMNS),
        importances=pd.DataFrame(importances),
        responses=pd.DataFrame(responses),
        envelope_importance=pd.DataFrame(envelope_i),
        envelope_response=pd.DataFrame(envelope_r),
        regions=regions,
        failures=_table(failures, FAILURE_COLUMNS),
        nulls=_table(scored.nulls, NULL_COLUMNS),
        assessments=_table(scored.assessments, ASSESSMENT_COLUMNS),
        product_flags=_table(scored.flags, PRODUCT_FLAG_COLUMNS),
        stocks=_table(scored.stocks, STOCK_COLUMNS),
        difference_maps=maps,
        covariates=names,
    )


def _table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else empty_table(columns)


def _observation_centre(fields: list[np.ndarray]) -> np.ndarray:
    stack = np.stack(fields)
    counts = np.isfinite(stack).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, np.nansum(stack, axis=0) / np.maximum(counts, 1), np.nan)


def _region_table(scheme_table: pd.DataFrame, used: pd.DataFrame) -> pd.DataFrame:
    status = dict(zip(scheme_table["region"], scheme_table["status"]))
    used = used.copy()
    used["status"] = [status.get(r, "ok") for r in used["region"]]
    dropped = scheme_table[~scheme_table["region"].isin(used["region"]) & (scheme_table["status"] != "absent")]
    extra = pd.DataFrame(
        {"region": dropped["region"], "n_cells": dropped["n_cells"], "area_km2": np.nan, "status": dropped["status"], "products": ""}
    )
    return pd.concat([used, extra], ignore_index=True)[["region", "n_cells", "area_km2", "status", "products"]]


def _spread(values: np.ndarray, boot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(boot) == 0:
        return values, values
    return np.percentile(boot, 5, axis=0), np.percentile(boot, 95, axis=0)


def _importance_rows(name, kind, region, covariates, result: EmulationResult) -> list[dict]:
    low, high = _spread(result.shares, result.boot_shares)
    return [
        {"dataset": name, "kind": kind, "region": region, "covariate": c, "share": result.shares[j], "share_low": low[j], "share_high": high[j]}
        for j, c in enumerate(covariates)
    ]


def _response_rows(name, kind, region, covariates, grids, result: EmulationResult) -> list[dict]:
    low, high = _spread(result.curves, result.boot_curves)
    return [
        {"dataset": name, "kind": kind, "region": region, "covariate": c, "point": k, "x": grids[j, k], "value": result.curves[j, k], "value_low": low[j, k], "value_high": high[j, k]}
        for j, c in enumerate(covariates)
        for k in range(grids.shape[1])
    ]


def _envelope_importance(region, covariates, present: list[EmulationResult]) -> list[dict]:
    shares = np.array([r.shares for r in present])
    lows, highs = (np.array(side) for side in zip(*(_spread(r.shares, r.boot_shares) for r in present)))
    return [
        {"region": region, "covariate": c, "centre": shares[:, j].mean(), "low": min(shares[:, j].min(), lows[:, j].min()), "high": max(shares[:, j].max(), highs[:, j].max())}
        for j, c in enumerate(covariates)
    ]


def _envelope_response(region, covariates, grids, present: list[EmulationResult]) -> list[dict]:
    curves = np.array([r.curves for r in present])
    lows, highs = (np.array(side) for side in zip(*(_spread(r.curves, r.boot_curves) for r in present)))
    rows = []
    for j, c in enumerate(covariates):
        for k in range(grids.shape[1]):
            rows.append(
                {
                    "region": region,
                    "covariate": c,
                    "point": k,
                    "x": grids[j, k],
                    "centre": curves[:, j, k].mean(),
                    "low": min(curves[:, j, k].min(), lows[:, j, k].min()),
                    "high": max(curves[:, j, k].max(), highs[:, j, k].max()),
                }
            )
    return rows


# ------------------------------------------------------------------ provenance


_DEPENDENCIES = ("numpy", "pandas", "xarray", "scikit-learn", "shap", "statsmodels", "scipy", "cf-xarray", "pint", "netCDF4", "pydantic")


def _sha256(path: str) -> str:
    if is_zarr_store(path):
        return store_fingerprint(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _scoring_hash(definition: Definition) -> str:
    """Hash of the sections that shape the scores (those a reference bundle depends on)."""
    from .reference import SECTIONS

    return definition.section_hash(*SECTIONS)


def provenance(definition: Definition, context: Context, datasets: list[Prepared], workers: int, seconds: float) -> dict:
    """Versions, definition hash, input checksums and seeds of a run."""
    versions = {}
    for name in _DEPENDENCIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    files = sorted(set(context.files) | {f for d in datasets for f in d.files})
    logs = list(context.read_log.values()) + list(datasets)
    return {
        "socbench_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": versions,
        "run_date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "definition_name": definition.name,
        "definition_description": definition.description,
        "definition_sha256": definition.section_hash(),
        "definition_scoring_sha256": _scoring_hash(definition),
        "covariates": {
            name: {"units": spec.units, "description": spec.description}
            for name, spec in definition.covariates.items()
        },
        "cv_block_size": definition.learner.cv.block_size,
        "seeds": {"learner": definition.learner.seed},
        "regridder": definition.analysis_grid.regridder,
        "workers": workers if isinstance(workers, int) else type(workers).__name__,
        "elapsed_seconds": round(seconds, 2),
        "input_files": {f: _sha256(f) for f in files},
        "nonfinite_cells": {d.name: d.nonfinite_cells for d in logs},
        "climatology_inputs": {f"{d.name}/{v}": period for d in logs for v, period in d.climatologies.items()},
        "input_notes": [note for d in logs for note in d.notes],
        "time_coverage": {f"{d.name}/{v}": share for d in logs for v, share in d.time_coverage.items()},
    }
