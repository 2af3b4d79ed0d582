"""Inputs: find files, open them lazily and bring every field to one canonical form.

Canonical form of a field: an :class:`xarray.Dataset` holding one data variable
with dimensions ``(lat, lon)`` (after the climatology-period mean), latitudes
ascending, longitudes in [-180, 180) ascending, cell bounds ``lat_bnds`` and
``lon_bnds``, and the data in the definition's canonical units. Axes are found
by their CF attributes (cf-xarray), never by their names.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass, field
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

from .errors import InputDataError
from .units import UnitError, conversion

LAT, LON = "lat", "lon"
_LAZY_BYTES = 32 * 2**20
_TILE = 1024  # cells per side of a lazy horizontal tile


# ----------------------------------------------------------------- discovery


def resolve_paths(root: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` (a path or glob, relative to ``root``), sorted.

    Raises
    ------
    InputDataError
        If nothing matches.
    """
    full = pattern if Path(pattern).is_absolute() else str(root / pattern)
    matches = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
    if not matches:
        raise InputDataError("no file matches this path or glob", path=full)
    return matches


@dataclass
class ModelFiles:
    """The files of one model: variable name -> files (time series in order)."""

    name: str
    member: str
    files: dict[str, list[Path]] = field(default_factory=dict)


_MEMBER_NUMBERS = re.compile(r"\d+")


def _member_key(member: str) -> tuple:
    return tuple(int(n) for n in _MEMBER_NUMBERS.findall(member)) or (0,)


def discover_cmip6(drs_root: Path, experiment: str, target: str, variables: dict[str, str]) -> dict[str, ModelFiles]:
    """Find models in a CMIP6 DRS tree.

    Layout: ``activity/institution/source_id/experiment/member/table/variable/grid/version/*.nc``
    under ``drs_root`` (the ``CMIP6`` directory). The latest version of each
    (member, table, variable, grid) is used; among members, the first (by
    realisation, initialisation, physics, forcing indices) that has the target.

    Parameters
    ----------
    drs_root : Path
    experiment : str
    target : str
        The target variable; models without it are not land models and are skipped.
    variables : dict
        Variable name -> CMIP table, for every variable wanted (target included).
    """
    if not drs_root.is_dir():
        raise InputDataError("CMIP6 DRS root directory not found", path=drs_root)
    found: dict[tuple[str, str, str], dict[str, Path]] = {}
    for version_dir in sorted(drs_root.glob(f"*/*/*/{experiment}/*/*/*/*/v*")):
        grid_dir = version_dir.parent
        var_dir = grid_dir.parent
        table_dir = var_dir.parent
        member_dir = table_dir.parent
        source = member_dir.parent.parent.name
        if variables.get(var_dir.name) != table_dir.name and var_dir.name not in ("sftlf", "areacella"):
            continue
        key = (source, member_dir.name, var_dir.name)
        latest = found.setdefault(key, {})
        if grid_dir.name not in latest or version_dir.name > latest[grid_dir.name].name:
            latest[grid_dir.name] = version_dir
    models: dict[str, ModelFiles] = {}
    sources = sorted({s for s, _, v in found if v == target})
    for source in sources:
        members = sorted({m for s, m, v in found if s == source and v == target}, key=_member_key)
        member = members[0]
        files = {}
        for (s, m, var), grids in found.items():
            if s == source and m == member:
                version_dir = grids[sorted(grids)[0]]
                files[var] = sorted(version_dir.glob("*.nc"))
        models[source] = ModelFiles(name=source, member=member, files=files)
    return models


# ----------------------------------------------------------------- opening


def open_variable(paths: list[Path], variable: str) -> xr.Dataset:
    """Open ``variable`` from one file or a multi-file time series, lazily.

    Raises
    ------
    InputDataError
        If a file is missing or unreadable, or lacks the variable (the message
        lists the variables present).
    """
    datasets = []
    for path in paths:
        if not Path(path).is_file():
            raise InputDataError("file not found", path=path, variable=variable)
        try:
            # Large files stay lazy (dask, chunk by chunk); small ones are faster read whole.
            chunks = {} if Path(path).stat().st_size > _LAZY_BYTES else None
            ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True), chunks=chunks)
        except Exception as exc:  # netCDF4/h5py raise many types for corrupt files
            raise InputDataError(
                f"cannot be read as netCDF ({type(exc).__name__}: {exc})", path=path, variable=variable
            ) from None
        if variable not in ds.data_vars:
            present = ", ".join(sorted(map(str, ds.data_vars))) or "none"
            raise InputDataError(f"variable is absent; variables present: {present}", path=path, variable=variable)
        datasets.append(ds)
    if len(datasets) == 1:
        return datasets[0]
    try:
        return xr.concat(datasets, dim="time", data_vars="minimal", coords="minimal", compat="override")
    except Exception as exc:
        raise InputDataError(f"files cannot be joined along time ({exc})", path=paths[0], variable=variable) from None


def _axis_name(ds: xr.Dataset, variable: str, key: str, path) -> str:
    names = ds[variable].cf.coordinates.get(key, []) or ds.cf.coordinates.get(key, [])
    if not names:
        raise InputDataError(
            f"no recognisable {key} coordinate (expected CF standard_name, units or axis attributes, "
            f"e.g. units 'degrees_north'/'degrees_east')",
            path=path,
            variable=variable,
        )
    name = names[0]
    if ds[name].ndim != 1:
        raise InputDataError(
            f"{key} is two-dimensional (curvilinear grid): install the optional xesmf backend to regrid it",
            path=path,
            variable=variable,
        )
    return name


def _edges_from_centres(centres: np.ndarray) -> np.ndarray:
    mid = 0.5 * (centres[1:] + centres[:-1])
    first = centres[0] - (mid[0] - centres[0]) if len(centres) > 1 else centres[0] - 0.5
    last = centres[-1] + (centres[-1] - mid[-1]) if len(centres) > 1 else centres[-1] + 0.5
    return np.concatenate([[first], mid, [last]])


def _bounds(ds: xr.Dataset, name: str) -> np.ndarray:
    """(n, 2) cell bounds of coordinate ``name``: from the file, else inferred."""
    bounds_name = ds[name].attrs.get("bounds")
    if bounds_name in ds.variables and ds[bounds_name].shape == (ds.sizes[name], 2):
        return np.sort(np.asarray(ds[bounds_name].values, dtype=float), axis=1)
    centres = np.asarray(ds[name].values, dtype=float)
    order = np.argsort(centres)
    edges = _edges_from_centres(centres[order])
    bounds = np.empty((len(centres), 2))
    bounds[order, 0], bounds[order, 1] = edges[:-1], edges[1:]
    return bounds


def canonical_grid(ds: xr.Dataset, variable: str, path) -> xr.Dataset:
    """Rename the horizontal axes to lat/lon, order them, attach bounds.

    Latitudes become ascending; longitudes are wrapped to [-180, 180) and sorted.
    """
    lat_name = _axis_name(ds, variable, "latitude", path)
    lon_name = _axis_name(ds, variable, "longitude", path)
    lat_bnds, lon_bnds = _bounds(ds, lat_name), _bounds(ds, lon_name)
    data = ds[variable]
    lon = np.asarray(ds[lon_name].values, dtype=float)
    wrapped = ((lon + 180.0) % 360.0) - 180.0
    lon_bnds = lon_bnds + (wrapped - lon)[:, None]
    lat = np.asarray(ds[lat_name].values, dtype=float)
    renamed = data.drop_vars([c for c in data.coords if c not in data.dims]).rename({lat_name: LAT, lon_name: LON})
    # assign_coords replaces values position by position; building a Dataset with
    # new coords would instead align (reindex) the data on them.
    out = renamed.assign_coords({LAT: lat, LON: wrapped}).to_dataset(name=variable)
    out[variable].attrs = dict(data.attrs)
    out["lat_bnds"] = ((LAT, "bnds"), np.clip(lat_bnds, -90.0, 90.0))
    out["lon_bnds"] = ((LON, "bnds"), lon_bnds)
    out = out.sortby([LAT, LON])
    out[LAT].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
    out[LON].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    return out


# ----------------------------------------------------------------- time


def calendar_of(ds: xr.Dataset) -> str:
    """CF calendar of the dataset's time axis ('standard' when there is none)."""
    if "time" in ds.coords:
        encoding = ds["time"].encoding.get("calendar") or ds["time"].attrs.get("calendar")
        if encoding:
            return str(encoding)
        values = ds["time"].values
        if values.size and hasattr(values.flat[0], "calendar"):
            return values.flat[0].calendar
    return "standard"


def period_mean(ds: xr.Dataset, variable: str, start: int, end: int, path) -> xr.DataArray:
    """Mean over the years ``start..end`` (inclusive), weighted by days per step.

    Fields without a time axis (climatologies, maps) are returned unchanged.

    Raises
    ------
    InputDataError
        If the time axis does not cover the period.
    """
    data = ds[variable]
    time_dims = [d for d in data.dims if d not in (LAT, LON)]
    if not time_dims:
        return data
    if time_dims != ["time"] and "time" not in time_dims:
        raise InputDataError(f"unexpected extra dimensions {time_dims}; expected (time, lat, lon)", path, variable)
    years = data["time"].dt.year
    chosen = data.sel(time=(years >= start) & (years <= end))
    covered = set(np.unique(chosen["time"].dt.year.values).tolist()) if chosen.sizes["time"] else set()
    missing = sorted(set(range(start, end + 1)) - covered)
    if missing:
        first, last = years.values.min(), years.values.max()
        raise InputDataError(
            f"time axis ({first}-{last}) does not cover the period {start}-{end} (missing years: "
            f"{missing[0]}{'...' + str(missing[-1]) if len(missing) > 1 else ''})",
            path,
            variable,
        )
    days = chosen["time"].dt.days_in_month.astype(float)
    return chosen.weighted(days).mean("time")


# ----------------------------------------------------------------- reading


@dataclass(frozen=True)
class FieldRequest:
    """One field to read: files, variable, canonical units, optional declared units."""

    paths: tuple[Path, ...]
    variable: str
    units: str
    declared_units: str | None = None
    non_negative: bool = False


def read_field(request: FieldRequest, start: int, end: int) -> xr.Dataset:
    """Read a field and return it in canonical form (see module docstring).

    Raises
    ------
    InputDataError
        For any problem, naming the file and the variable.
    """
    path = request.paths[0]
    ds = open_variable(list(request.paths), request.variable)
    ds = canonical_grid(ds, request.variable, path)
    if ds[request.variable].chunks is not None:
        # Large inputs stay lazy: horizontal tiles bound the memory of every later step.
        ds = ds.chunk({LAT: _TILE, LON: _TILE})
    calendar = calendar_of(ds)
    mean = period_mean(ds, request.variable, start, end, path)
    if mean.chunks is None:
        mean = mean.load()
    source_units = request.declared_units or ds[request.variable].attrs.get("units")
    if not source_units:
        raise InputDataError(
            f"has no units attribute; declare 'units' for it in the definition (expected {request.units!r})",
            path,
            request.variable,
        )
    try:
        convert = conversion(source_units, request.units, calendar)
    except UnitError as exc:
        raise InputDataError(f"{exc}; expected units convertible to {request.units!r}", path, request.variable) from None
    values = xr.apply_ufunc(convert, mean.astype(float), dask="parallelized", output_dtypes=[float])
    _check_values(values, request, path)
    out = ds[["lat_bnds", "lon_bnds"]].copy()
    out[request.variable] = values.assign_attrs(units=request.units, source_units=source_units)
    out.attrs["source_files"] = [str(p) for p in request.paths]
    return out


def _check_values(values: xr.DataArray, request: FieldRequest, path) -> None:
    """All-missing and negative values; one pass over lazy data."""
    import dask

    finite = np.isfinite(values)
    negative = (values < 0) & finite
    any_finite, n_negative, minimum = dask.compute(finite.any(), negative.sum(), values.min())
    if not bool(any_finite):
        raise InputDataError("all values are missing (NaN or fill value) over the period", path, request.variable)
    if request.non_negative and int(n_negative) > 0:
        raise InputDataError(
            f"{int(n_negative)} cells have negative values (min {float(minimum):.3g} {request.units}); "
            "expected a non-negative stock",
            path,
            request.variable,
        )
