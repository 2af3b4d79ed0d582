"""Inputs: find files, open them lazily and bring every field to one canonical form.

Canonical form of a field: an :class:`xarray.Dataset` holding one data variable
with dimensions ``(lat, lon)`` (after the climatology-period mean), latitudes
ascending, longitudes in [-180, 180) ascending, cell bounds ``lat_bnds`` and
``lon_bnds``, and the data in the definition's canonical units. Axes are found
by their CF attributes (cf-xarray), never by their names.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import numpy as np
import xarray as xr

from .errors import InputDataError
from .units import UnitError, conversion

LAT, LON = "lat", "lon"
_LAZY_BYTES = 32 * 2**20
_TILE = 1024  # cells per side of a lazy horizontal tile
_GEOTIFF_SUFFIXES = (".tif", ".tiff")


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


# ----------------------------------------------------------------- opening


def open_variable(paths: list[Path], variable: str) -> xr.Dataset:
    """Open ``variable`` from one file or a multi-file time series, lazily.

    A ``.tif``/``.tiff`` file is read as a single-band GeoTIFF map (see
    :func:`open_geotiff`); ``variable`` is then only the name given to its data.

    Raises
    ------
    InputDataError
        If a file is missing or unreadable, or lacks the variable (the message
        lists the variables present).
    """
    from .catalog import is_zarr_store, open_zarr_store

    datasets = []
    for path in paths:
        if is_zarr_store(path):  # intake-esm catalogues of zarr stores (e.g. Pangeo CMIP6): see socbench.catalog
            datasets.append(open_zarr_store(path, variable))
            continue
        if not Path(path).is_file():
            raise InputDataError("file not found", path=path, variable=variable)
        if Path(path).suffix.lower() in _GEOTIFF_SUFFIXES:
            if len(paths) > 1:
                raise InputDataError(
                    f"a GeoTIFF product must be a single file ({len(paths)} files match)", path=path, variable=variable
                )
            return open_geotiff(Path(path), variable)
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


def open_geotiff(path: Path, variable: str) -> xr.Dataset:
    """Open a single-band GeoTIFF map as a Dataset whose data variable is ``variable``.

    GeoTIFFs hold no variable names, so ``variable`` is only a label. Nodata cells
    become NaN and the file's scale/offset are applied. The CRS must be geographic
    (e.g. EPSG:4326): its x/y axes then get CF longitude/latitude attributes. The
    ``units`` tag, when present, becomes the ``units`` attribute. There is no time
    axis (maps). Large files are opened lazily (dask), like netCDF.

    Raises
    ------
    InputDataError
        If rioxarray is not installed, the file cannot be read, has several bands,
        no CRS or a projected CRS.
    """
    try:
        import rioxarray
    except ImportError:
        raise InputDataError(
            "GeoTIFF input needs the optional dependency: pip install socbench[geotiff]", path=path, variable=variable
        ) from None
    chunks = {"band": 1, "y": _TILE, "x": _TILE} if path.stat().st_size > _LAZY_BYTES else None
    try:
        data = rioxarray.open_rasterio(path, mask_and_scale=True, chunks=chunks)
    except Exception as exc:  # rasterio raises RasterioIOError and others for unreadable files
        raise InputDataError(
            f"cannot be read as GeoTIFF ({type(exc).__name__}: {exc})", path=path, variable=variable
        ) from None
    if not isinstance(data, xr.DataArray) or set(data.dims) != {"band", "y", "x"}:
        raise InputDataError("not a single raster (GeoTIFF with subdatasets?)", path=path, variable=variable)
    if data.sizes["band"] != 1:
        raise InputDataError(
            f"GeoTIFF has {data.sizes['band']} bands; expected a single-band map (extract one band first, "
            "e.g. `gdal_translate -b 1`)",
            path=path,
            variable=variable,
        )
    crs = data.rio.crs
    if crs is None:
        raise InputDataError(
            "GeoTIFF has no coordinate reference system; expected a geographic one such as EPSG:4326 "
            "(if the axes are longitude/latitude, set it with `gdal_edit.py -a_srs EPSG:4326`)",
            path=path,
            variable=variable,
        )
    if not crs.is_geographic:
        raise InputDataError(
            f"GeoTIFF is in a projected coordinate reference system ({crs.to_string()}); socbench needs "
            "geographic longitude/latitude: reproject it to EPSG:4326 first (e.g. `gdalwarp -t_srs EPSG:4326`)",
            path=path,
            variable=variable,
        )
    data = data.squeeze("band", drop=True).drop_vars([c for c in data.coords if c not in data.dims])
    data.attrs = {k: v for k, v in data.attrs.items() if k not in ("scale_factor", "add_offset", "_FillValue")}
    data.encoding.pop("grid_mapping", None)
    data["x"].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X"}
    data["y"].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y"}
    return data.to_dataset(name=variable)


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
            f"{key} is two-dimensional (curvilinear grid), which socbench cannot regrid yet "
            "(the xesmf backend handles rectilinear grids only); remap the file to a regular "
            "latitude-longitude grid first (e.g. `cdo remapcon`)",
            path=path,
            variable=variable,
        )
    return name


def _edges_from_centres(centres: np.ndarray) -> np.ndarray:
    mid = 0.5 * (centres[1:] + centres[:-1])
    first = centres[0] - (mid[0] - centres[0]) if len(centres) > 1 else centres[0] - 0.5
    last = centres[-1] + (centres[-1] - mid[-1]) if len(centres) > 1 else centres[-1] + 0.5
    return np.concatenate([[first], mid, [last]])


def _usable_bounds(bounds: np.ndarray, centres: np.ndarray, order: np.ndarray) -> bool:
    """Whether file bounds contain their centres and tile the axis without gaps or overlaps."""
    if not np.all(np.isfinite(bounds)) or not np.all((bounds[:, 0] <= centres) & (centres <= bounds[:, 1])):
        return False
    ordered = bounds[order]
    width = float(np.median(ordered[:, 1] - ordered[:, 0]))
    return bool(np.allclose(ordered[1:, 0], ordered[:-1, 1], rtol=0.0, atol=max(1e-3 * width, 1e-4)))


def _bounds(ds: xr.Dataset, name: str) -> np.ndarray:
    """(n, 2) cell bounds of coordinate ``name``: from the file, else inferred.

    File bounds that do not contain their centres or leave gaps/overlaps between
    neighbouring cells (e.g. FGOALS-f3-L ``gr``: 0.8 deg wide cells 1 deg apart)
    are replaced by bounds inferred from the centres.
    """
    centres = np.asarray(ds[name].values, dtype=float)
    order = np.argsort(centres)
    bounds_name = ds[name].attrs.get("bounds")
    if bounds_name in ds.variables and ds[bounds_name].shape == (ds.sizes[name], 2):
        bounds = np.sort(np.asarray(ds[bounds_name].values, dtype=float), axis=1)
        if _usable_bounds(bounds, centres, order):
            return bounds
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
    lat_dim, lon_dim = ds[lat_name].dims[0], ds[lon_name].dims[0]
    if lat_dim == lon_dim:
        raise InputDataError(
            f"latitude and longitude share the dimension {lat_dim!r} (unstructured grid, e.g. ICON, FESOM or "
            "MPAS output): not supported; remap the file to a regular latitude-longitude grid first "
            "(e.g. cdo remapcon)",
            path=path,
            variable=variable,
        )
    # 1-D axes stored as auxiliary coordinates along other dimensions (lat(y), lon(x))
    ds = ds.swap_dims({d: n for d, n in ((lat_dim, lat_name), (lon_dim, lon_name)) if d != n})
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
