"""Reference bundles: what ``socbench check`` needs, without the raw observation files.

A bundle is a directory with

- ``reference.nc``: the analysis grid, observed covariates, reference land
  and weights, region masks and response grids, every observation product's
  SOC on the analysis grid and its emulation results per region (importance
  shares, response curves, bootstrap replicates, CV R^2): the observational
  envelope;
- ``regions.csv``, ``baseline_scores.csv`` (every model of the run that built
  it) and ``ceiling.csv``;
- ``manifest.json``: format, socbench version, per-section hashes of the
  definition it was built with, and the sha256 of every file above.

Loading verifies every checksum and the definition: a truncated, corrupt or
mismatched bundle raises :class:`~socbench.errors.BundleError`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import __version__
from .config import Definition
from .errors import BundleError
from .explain import EmulationResult
from .outputs import claim_output, mark_output, staged_directory
from .pipeline import Reference
from .prepare import Context, Prepared
from .regrid import regridder
from .results import RunResult

FORMAT = 6  # 2: cv_block_size per product and region; 3: one emulator per product (fit_r2), shared CV blocks;
# 4: boosting rounds chosen by the shared CV (boosting_rounds); 5: that choice bagged (mean of truncations);
# 6: baseline scores with spatial distribution against the products' shared signal and the shape's null at 0
#: Definition sections a bundle depends on (``models`` is not one of them).
SECTIONS = ("target", "covariates", "observations", "analysis_grid", "period", "regions", "learner", "scores")
_FILES = ("reference.nc", "regions.csv", "baseline_scores.csv", "ceiling.csv")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _section_hashes(definition: Definition) -> dict[str, str]:
    return {section: definition.section_hash(section) for section in SECTIONS}


def _reference_dataset(reference: Reference) -> xr.Dataset:
    context = reference.context
    regions = list(context.regions)
    products = [p.name for p in reference.products]
    covariates = context.covariate_names
    n_boot = context.definition.learner.bootstraps
    n_points = context.definition.learner.grid_points
    shape = (len(products), len(regions))
    n_cells, cv_r2, block_size = np.zeros(shape, dtype="int32"), np.full(shape, np.nan), np.full(shape, np.nan)
    fit_r2, rounds = np.full(shape, np.nan), np.full(shape, np.nan)
    shares = np.full(shape + (len(covariates),), np.nan)
    curves = np.full(shape + (len(covariates), n_points), np.nan)
    boot_shares = np.full(shape + (n_boot, len(covariates)), np.nan)
    boot_curves = np.full(shape + (n_boot, len(covariates), n_points), np.nan)
    for i, product in enumerate(products):
        for j, region in enumerate(regions):
            result = reference.emulations.get((product, region))
            if result is None:
                continue
            n_cells[i, j], cv_r2[i, j], block_size[i, j] = result.n_cells, result.cv_r2, result.block_size
            fit_r2[i, j], rounds[i, j] = result.fit_r2, result.rounds
            shares[i, j], curves[i, j] = result.shares, result.curves
            boot_shares[i, j], boot_curves[i, j] = result.boot_shares, result.boot_curves
    grid = context.grid
    dims = ("product", "region")
    return xr.Dataset(
        {
            "lat_bnds": grid["lat_bnds"],
            "lon_bnds": grid["lon_bnds"],
            "cell_area": grid["cell_area"],
            "obs_covariates": (("covariate", "lat", "lon"), context.obs_covariates),
            "land": (("lat", "lon"), context.land.astype("int8")),
            "weight": (("lat", "lon"), context.weight),
            "region_mask": (("region", "lat", "lon"), np.stack([context.regions[r] for r in regions]).astype("int8")),
            "response_grid": (("region", "covariate", "point"), np.stack([context.grids[r] for r in regions])),
            "product_soc": (("product", "lat", "lon"), np.stack([p.soc for p in reference.products])),
            "n_cells": (dims, n_cells),
            "cv_r2": (dims, cv_r2),
            "cv_block_size": (dims, block_size),
            "fit_r2": (dims, fit_r2),
            "boosting_rounds": (dims, rounds),
            "shares": (dims + ("covariate",), shares),
            "curves": (dims + ("covariate", "point"), curves),
            "boot_shares": (dims + ("boot", "covariate"), boot_shares),
            "boot_curves": (dims + ("boot", "covariate", "point"), boot_curves),
        },
        coords={"lat": grid["lat"].values, "lon": grid["lon"].values, "region": regions, "product": products,
                "covariate": covariates},
        attrs={"title": "socbench reference bundle", "socbench_version": __version__,
               "shared_cv_block_size": context.cv_block_size},
    )


def save_reference(reference: Reference, baseline: RunResult, out: str | Path) -> Path:
    """Write a bundle to ``out`` atomically (temporary directory, then rename).

    Raises
    ------
    socbench.outputs.OutputError
        When ``out`` is a non-empty directory that socbench did not write.
    """
    with claim_output(out) as target:
        return _save_reference(reference, baseline, target)


def _save_reference(reference: Reference, baseline: RunResult, out: Path) -> Path:
    with staged_directory(out) as temporary:
        mark_output(temporary)
        with _writing(out):
            _write_tables(reference, baseline, temporary)
        definition = reference.context.definition
        manifest = {
            "format": FORMAT,
            "socbench_version": __version__,
            "definition_name": definition.name,
            "definition_sections": _section_hashes(definition),
            "products": [p.name for p in reference.products],
            "covariates": reference.context.covariate_names,
            "files": {name: _sha256(temporary / name) for name in _FILES},
        }
        with _writing(out):
            (temporary / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def bundle_location(name: str | Path) -> Path:
    """Where a bundle given as ``--reference`` is: a directory, else a shipped bundle of that name.

    Raises
    ------
    BundleError
        When it is neither, naming both places looked at (and the leftovers of
        an interrupted ``reference build``, when there are some).
    """
    from .resources import resource_dir

    path = Path(name)
    if path.is_dir() or path.is_absolute() or len(path.parts) > 1:
        return path
    shipped_dir = resource_dir("reference")
    if (shipped_dir / path).is_dir():
        return shipped_dir / path
    shipped = sorted(p.name for p in shipped_dir.iterdir() if p.is_dir()) if shipped_dir.is_dir() else []
    leftovers = sorted(p.name for p in Path.cwd().glob(f".{path.name}.tmp-*"))
    hint = (f"; {leftovers[0]} is what an interrupted `socbench reference build` left: build the bundle again"
            if leftovers else "")
    raise BundleError(
        f"reference bundle {str(name)!r} not found: no directory {path.resolve()}, and no shipped bundle of that "
        f"name (shipped: {', '.join(shipped) or 'none'}){hint}"
    )


def _write_tables(reference: Reference, baseline: RunResult, directory: Path) -> None:
    dataset = _reference_dataset(reference)
    encoding = {name: {"zlib": True, "complevel": 5} for name in dataset.data_vars}
    dataset.to_netcdf(directory / "reference.nc", encoding=encoding)
    reference.context.region_table.to_csv(directory / "regions.csv", index=False)
    baseline.scores.to_csv(directory / "baseline_scores.csv", index=False, float_format="%.17g")
    baseline.ceiling.to_csv(directory / "ceiling.csv", index=False, float_format="%.17g")


@contextmanager
def _writing(out: Path):
    """Turn a failed write (full disk: the netCDF library says only "NetCDF: HDF error") into one clear line."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        try:
            free = f"{shutil.disk_usage(out.parent).free / 2**20:.0f} MB free there"
        except OSError:
            free = "free space unknown"
        raise BundleError(
            f"cannot write the reference bundle {out} ({type(exc).__name__}: {' '.join(str(exc).split())}; {free}): "
            "is the disk full or the directory not writable? Free some space or choose another --out"
        ) from None


def _read_manifest(bundle: Path) -> dict:
    path = bundle / "manifest.json"
    if not bundle.is_dir():
        raise BundleError(f"reference bundle {bundle} not found (expected a directory with manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable manifest ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BundleError(
            f"{path}: bundle format {manifest.get('format')!r}, this socbench reads format {FORMAT}; its emulations "
            f"and baseline scores are not comparable with this version's: rebuild it with "
            f"`socbench reference build DEFINITION --data-root ROOT --out {bundle}`"
        )
    for name in _FILES:
        file = bundle / name
        if not file.is_file():
            raise BundleError(f"{file}: missing from the reference bundle")
        if _sha256(file) != manifest["files"].get(name):
            raise BundleError(f"{file}: checksum does not match the manifest (truncated or modified bundle)")
    return manifest


def registry_lines(bundle: str | Path, name: str | None = None) -> str:
    """A pooch registry of a verified bundle: ``<name>/<file> sha256:<hash>``, the manifest first.

    What a mirror of the bundle publishes, so that the climate-ref provider
    (``SOCBENCH_REF_REGISTRY``) downloads it hash-checked.

    Raises
    ------
    BundleError
        If the bundle is missing, truncated or corrupt.
    """
    bundle = Path(bundle)
    manifest = _read_manifest(bundle)
    name = name or bundle.resolve().name
    lines = [f"{name}/manifest.json sha256:{_sha256(bundle / 'manifest.json')}"]
    lines += [f"{name}/{file} sha256:{manifest['files'][file]}" for file in _FILES]
    return "\n".join(lines) + "\n"


def _check_definition(manifest: dict, definition: Definition, bundle: Path) -> None:
    built = manifest.get("definition_sections", {})
    differing = [s for s, h in _section_hashes(definition).items() if built.get(s) != h]
    if differing:
        raise BundleError(
            f"{bundle}: built with a different benchmark definition (sections that differ: {', '.join(differing)}); "
            "rebuild it with `socbench reference build`"
        )


def load_reference(bundle: str | Path, definition: Definition) -> tuple[Reference, pd.DataFrame, pd.DataFrame]:
    """Load and verify a bundle.

    Returns
    -------
    reference : Reference
    baseline_scores, ceiling : DataFrame

    Raises
    ------
    BundleError
        If the bundle is missing, truncated, corrupt or built with another definition.
    """
    bundle = Path(bundle)
    manifest = _read_manifest(bundle)
    _check_definition(manifest, definition, bundle)
    try:
        with xr.open_dataset(bundle / "reference.nc") as stored:
            data = stored.load()
        region_table = pd.read_csv(bundle / "regions.csv", keep_default_na=False, na_values=[""])
        baseline = pd.read_csv(bundle / "baseline_scores.csv")
        ceiling = pd.read_csv(bundle / "ceiling.csv")
    except Exception as exc:  # netCDF/CSV readers raise many types
        raise BundleError(f"{bundle}: cannot read the bundle ({exc})") from None
    return _reference_from(data, region_table, definition), baseline, ceiling


def _reference_from(data: xr.Dataset, region_table: pd.DataFrame, definition: Definition) -> Reference:
    regions = [str(r) for r in data["region"].values]
    grid = data[["lat_bnds", "lon_bnds", "cell_area"]]
    context = Context(
        definition=definition,
        root=Path("."),
        grid=grid,
        obs_covariates=data["obs_covariates"].values,
        land=data["land"].values.astype(bool),
        weight=data["weight"].values,
        regrid=regridder(definition.analysis_grid.regridder),
        regions={r: data["region_mask"].values[i].astype(bool) for i, r in enumerate(regions)},
        grids={r: data["response_grid"].values[i] for i, r in enumerate(regions)},
        region_table=region_table,
        cv_block_size=float(data.attrs["shared_cv_block_size"]),
    )
    products, emulations = [], {}
    for i, name in enumerate(str(p) for p in data["product"].values):
        products.append(Prepared(name, "observation", data["product_soc"].values[i], context.obs_covariates))
        for j, region in enumerate(regions):
            if int(data["n_cells"].values[i, j]) == 0:
                continue
            emulations[(name, region)] = EmulationResult(
                dataset=name,
                region=region,
                n_cells=int(data["n_cells"].values[i, j]),
                cv_r2=float(data["cv_r2"].values[i, j]),
                shares=data["shares"].values[i, j],
                curves=data["curves"].values[i, j],
                boot_shares=data["boot_shares"].values[i, j],
                boot_curves=data["boot_curves"].values[i, j],
                block_size=float(data["cv_block_size"].values[i, j]),
                fit_r2=float(data["fit_r2"].values[i, j]),
                rounds=float(data["boosting_rounds"].values[i, j]),
            )
    return Reference(context=context, products=products, emulations=emulations, failures=[])
