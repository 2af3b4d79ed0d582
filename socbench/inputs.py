"""Inputs: find files, open them lazily and bring every field to one canonical form.

Canonical form of a field: an :class:`xarray.Dataset` holding one data variable
with dimensions ``(lat, lon)`` (after the climatology-period mean), latitudes
ascending, longitudes in [-180, 180) ascending, cell bounds ``lat_bnds`` and
``lon_bnds``, and the data in the definition's canonical units. Axes are found
by their CF attributes (cf-xarray), never by their names.

Real products are read as they come: both ``_FillValue`` and ``missing_value``,
+-inf (masked and counted), the definition's ``missing_values``/``valid_range``,
12-month climatologies, maps without a time axis, length-1 extra dimensions and
the unit spellings of :data:`socbench.units.UNIT_ALIASES`. Whatever is read
other than as written is noted in the field's ``notes`` and warned about
(:class:`~socbench.errors.SocbenchWarning`); whatever cannot be read is an
:class:`~socbench.errors.InputDataError` of one line naming file and variable.
"""

from __future__ import annotations

import glob
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cf_xarray  # noqa: F401  (registers the .cf accessor)
import cftime
import numpy as np
import xarray as xr

from .errors import InputDataError, SocbenchError, SocbenchWarning
from .units import UnitError, conversion, read_units, same_units

LAT, LON = "lat", "lon"
#: Coordinate along time holding each step's length in days (from the file's time bounds).
STEP_DAYS = "time_step_days"
#: A time series covering less of the period than this (by summed step lengths) is that dataset's failure;
#: between this and full coverage it is read with a warning. Documented in docs/definition.md (period).
MIN_TIME_COVERAGE = 0.8
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
            with warnings.catch_warnings():
                # HWSD-like files declare both _FillValue and missing_value: both are missing, as intended.
                warnings.filterwarnings("ignore", message=".*multiple fill values.*")
                # Times are decoded below, for the variable's own axis only, with messages of our own.
                # Opened without chunks, nothing is read yet: the choice of the lazy path comes after.
                ds = xr.open_dataset(path, decode_times=False)
        except Exception as exc:  # netCDF4/h5py raise many types for corrupt files
            raise InputDataError(
                f"cannot be read as netCDF ({type(exc).__name__}: {one_line(exc)})", path=path, variable=variable
            ) from None
        if variable not in ds.data_vars:
            present = ", ".join(sorted(map(str, ds.data_vars))) or "none"
            raise InputDataError(f"variable is absent; variables present: {present}", path=path, variable=variable)
        datasets.append(decode_time(lazy_if_large(ds, variable), variable, path))
    datasets = in_time_order(datasets, list(paths), variable)
    if len(datasets) == 1:
        return datasets[0]
    try:
        return xr.concat(datasets, dim="time", data_vars="minimal", coords="minimal", compat="override")
    except Exception as exc:
        raise InputDataError(
            f"files cannot be joined along time ({one_line(exc)})", path=paths[0], variable=variable
        ) from None


def decoded_bytes(data: xr.DataArray) -> int:
    """Memory the variable takes once decoded (shape x decoded dtype), whatever its size on disk.

    A zlib-compressed file can be a hundred times smaller on disk than in
    memory, so the on-disk size cannot choose between reading whole and lazily.
    """
    return int(np.prod(data.shape, dtype=np.int64)) * max(np.dtype(data.dtype).itemsize, 8)  # read as float64


def lazy_chunks(data: xr.DataArray) -> dict[str, int]:
    """Dask chunks for a large variable: one step of every leading dimension, horizontal tiles.

    Tiles are at least the file's own chunks (``chunksizes``), so that no
    compressed chunk is decompressed once per tile.
    """
    on_disk = data.encoding.get("chunksizes") or (0,) * data.ndim
    horizontal = data.dims[-2:]
    return {
        str(dim): min(size, max(_TILE, int(disk or 0))) if dim in horizontal else 1
        for dim, size, disk in zip(data.dims, data.shape, on_disk)
    }


def lazy_if_large(ds: xr.Dataset, variable: str) -> xr.Dataset:
    """``ds`` with ``variable`` as dask chunks when its decoded size exceeds 32 MB; unchanged otherwise."""
    if variable not in ds.data_vars or decoded_bytes(ds[variable]) <= _LAZY_BYTES:
        return ds
    return ds.chunk(lazy_chunks(ds[variable]))


def _date(value) -> str:
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def in_time_order(datasets: list[xr.Dataset], paths: list, variable: str) -> list[xr.Dataset]:
    """The files of one series sorted by their first time step; overlaps refused.

    A stale file beside a newer one (``..._201001-201212.nc`` next to
    ``..._201001-201412.nc``) would otherwise be counted twice.

    Raises
    ------
    InputDataError
        When a file repeats a time step, or two files share time steps (naming both).
    """
    timed = [(ds, path) for ds, path in zip(datasets, paths) if "time" in ds[variable].dims]
    for ds, path in timed:
        times = ds["time"].values
        if len(set(times.tolist())) != times.size:
            raise InputDataError(
                f"the time axis repeats {times.size - len(set(times.tolist()))} time step(s); each step would be "
                "counted twice: write the file again without the repeated steps",
                path,
                variable,
            )
    if len(timed) < 2:
        return datasets
    timed.sort(key=lambda item: item[0]["time"].values.min())
    for (before, first), (after, second) in zip(timed, timed[1:]):
        last, start = before["time"].values.max(), after["time"].values.min()
        if start <= last:
            raise InputDataError(
                f"its time steps ({_date(before['time'].values.min())} to {_date(last)}) overlap those of {second} "
                f"({_date(start)} to {_date(after['time'].values.max())}); the overlap would be counted twice: "
                "remove the stale file or narrow the path/glob to one series",
                first,
                variable,
            )
    return [ds for ds, _ in timed] + [ds for ds in datasets if "time" not in ds[variable].dims]


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (library messages often span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _time_axis(ds: xr.Dataset, variable: str, path) -> str | None:
    """Name of the variable's time dimension, None when it has none."""
    for dim in ds[variable].dims:
        attrs = ds[dim].attrs if dim in ds.variables else {}
        is_time = (
            dim == "time"
            or attrs.get("axis") == "T"
            or attrs.get("standard_name") == "time"
            or " since " in str(attrs.get("units", ""))
        )
        if is_time and dim not in ds.variables:
            raise InputDataError(
                f"time dimension {dim!r} has no coordinate values; expected a time coordinate with units "
                "such as 'days since 1850-01-01'",
                path,
                variable,
            )
        if is_time:
            return str(dim)
    return None


def decode_time(ds: xr.Dataset, variable: str, path) -> xr.Dataset:
    """Decode the time axis of ``variable`` to cftime dates, renamed ``time``.

    The coordinate keeps its other attributes (e.g. CF ``climatology``); its
    calendar goes to the encoding.

    Raises
    ------
    InputDataError
        If the time axis has no units or they cannot be decoded.
    """
    name = _time_axis(ds, variable, path)
    if name is None:
        return ds
    attrs = dict(ds[name].attrs)
    units, calendar = attrs.pop("units", None), str(attrs.pop("calendar", "standard"))
    if not units or " since " not in str(units):
        found = f"units {units!r}" if units else "no units"
        raise InputDataError(
            f"time axis {name!r} has {found}; expected units such as 'days since 1850-01-01' "
            f"(set them with `ncatted -a units,{name},o,c,'days since ...'`)",
            path,
            variable,
        )
    try:
        dates = cftime.num2date(np.asarray(ds[name].values), str(units), calendar, only_use_cftime_datetimes=True)
    except Exception as exc:  # cftime raises ValueError, OverflowError, ...
        raise InputDataError(
            f"time axis {name!r} cannot be decoded (units {units!r}, calendar {calendar!r}: {one_line(exc)})",
            path,
            variable,
        ) from None
    lengths = _bounds_days(ds, name, str(units), calendar)
    if name != "time":
        ds = ds.drop_vars([v for v in ("time",) if v in ds.variables]).rename({name: "time"})
    ds = ds.assign_coords(time=("time", np.asarray(dates), attrs))
    if lengths is not None:
        ds = ds.assign_coords({STEP_DAYS: ("time", lengths)})
    ds["time"].encoding["calendar"] = calendar
    return ds


def _bounds_days(ds: xr.Dataset, name: str, units: str, calendar: str) -> np.ndarray | None:
    """Length in days of each time step from the CF ``bounds`` of the time axis; None without usable bounds."""
    bounds_name = ds[name].attrs.get("bounds") or ds[name].attrs.get("climatology")
    if bounds_name not in ds.variables or ds[bounds_name].shape != (ds.sizes[name], 2):
        return None
    try:
        edges = cftime.num2date(np.asarray(ds[bounds_name].values), units, calendar, only_use_cftime_datetimes=True)
    except Exception:  # unreadable bounds: the lengths are then inferred from the steps
        return None
    days = np.array([(end - begin).total_seconds() / 86400.0 for begin, end in edges])
    return days if np.all(days > 0) else None


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
    try:
        data = rioxarray.open_rasterio(path, mask_and_scale=True)  # lazy: nothing is read yet
        if decoded_bytes(data) > _LAZY_BYTES:  # by decoded size: compressed GeoTIFFs are small on disk
            data = data.chunk({"band": 1, "y": _TILE, "x": _TILE})
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
            f"{key} is two-dimensional (curvilinear grid): socbench reads rectilinear grids only, whichever "
            "analysis_grid.regridder is chosen; remap the file to a regular latitude-longitude grid first "
            "(e.g. `cdo remapcon`)",
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


# ----------------------------------------------------------------- dimensions


def drop_singletons(ds: xr.Dataset, variable: str, path) -> xr.Dataset:
    """Squeeze the variable's length-1 dimensions other than lat, lon and time.

    Raises
    ------
    InputDataError
        For an extra dimension longer than 1 (a depth or level axis), named.
    """
    extra = {d: n for d, n in ds[variable].sizes.items() if d not in (LAT, LON, "time")}
    longer = {d: n for d, n in extra.items() if n > 1}
    if longer:
        dim, size = next(iter(longer.items()))
        raise InputDataError(
            f"unexpected extra dimension {dim!r} (size {size}); expected (time, lat, lon) or (lat, lon): "
            f"select or sum one level first (e.g. `ncks -d {dim},0 in.nc out.nc`)",
            path,
            variable,
        )
    return ds.isel({d: 0 for d in extra}, drop=True) if extra else ds


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


def monthly_climatology(time: xr.DataArray) -> bool:
    """Whether a time axis is a 12-month climatology (one step per calendar month).

    Recognised by the CF ``climatology`` attribute (e.g. CMAP's long-term mean,
    dated in year 0001), or by 12 months of one placeholder year before 1000,
    which no definition period can name.
    """
    if time.size != 12 or sorted(time.dt.month.values.tolist()) != list(range(1, 13)):
        return False
    years = set(time.dt.year.values.tolist())
    return "climatology" in time.attrs or (len(years) == 1 and min(years) < 1000)


def _climatology_period(time: xr.DataArray) -> str:
    return str(time.attrs.get("climo_period") or time.attrs.get("climatology_period") or "period not stated")


_FREQUENCY = re.compile(r"(?:[A-Z]+)?(mon|day|yr|\d+hr)(?:C|Pt|CM|Ant|Gre)?")


def declared_frequency(ds: xr.Dataset, path) -> str | None:
    """The sampling a file declares: its CMIP ``frequency`` attribute, else the CMIP table of its name.

    Returns ``"mon"``, ``"day"``, ``"yr"``, ``"<N>hr"`` or None. A CMIP file
    name is ``<variable>_<table>_...``: tables ending in ``mon`` (Amon, Lmon,
    Emon) are monthly, in ``day`` daily, in ``yr`` yearly.
    """
    name = Path(str(path)).name
    table = name.split("_")[1] if name.count("_") >= 2 else ""
    for text in (str(ds.attrs.get("frequency", "")).strip(), table):
        match = _FREQUENCY.fullmatch(text)
        if match:
            return match.group(1)
    return None


def step_days(time: xr.DataArray, lengths=None, frequency: str | None = None) -> np.ndarray:
    """Length in days of each time step.

    In order: the time bounds (``lengths``), the declared ``frequency``
    (:func:`declared_frequency`; a month lasts its calendar month, a year its
    calendar year), else the spacing of the steps (about a month: calendar
    months; about a year: calendar years; otherwise the median spacing). A
    single step without bounds or frequency gets NaN (its length is unknown).
    """
    if lengths is not None:
        return np.asarray(lengths, dtype=float)
    values = time.values
    if frequency is None and time.size >= 2:
        spacing = float(np.median([(b - a).total_seconds() / 86400.0 for a, b in zip(values[:-1], values[1:])]))
        frequency = "mon" if 27.0 <= spacing <= 32.0 else "yr" if 359.0 <= spacing <= 367.0 else None
        if frequency is None:
            return np.full(time.size, spacing)
    if frequency == "mon":
        return time.dt.days_in_month.values.astype(float)
    if frequency == "yr":
        kind = type(values[0])
        return np.array([(kind(v.year + 1, 1, 1) - kind(v.year, 1, 1)).days for v in values], dtype=float)
    if frequency == "day":
        return np.ones(time.size)
    if frequency is not None and frequency.endswith("hr"):
        return np.full(time.size, int(frequency.removesuffix("hr")) / 24.0)
    return np.full(time.size, np.nan)


def period_days(start: int, end: int, calendar: str) -> float:
    """Days from 1 January of ``start`` to 31 December of ``end`` in a CF calendar."""
    first = cftime.datetime(start, 1, 1, calendar=calendar)
    return (cftime.datetime(end + 1, 1, 1, calendar=calendar) - first).total_seconds() / 86400.0


@dataclass
class PeriodMean:
    """A field's mean over the period, and what it rests on.

    Attributes
    ----------
    mean : DataArray
    climatology : str or None
        A 12-month climatology's period as the file states it, None otherwise.
    step_days : ndarray or None
        Length in days of each time step in the period (None for maps and climatologies).
    present : DataArray or None
        Whether each of those steps holds any value (lazy for dask data).
    period_days : float
    """

    mean: xr.DataArray
    climatology: str | None = None
    step_days: np.ndarray | None = None
    present: xr.DataArray | None = None
    period_days: float = float("nan")

    def coverage(self, present: np.ndarray | None = None) -> float | None:
        """Fraction of the period covered by steps holding values (None for maps and climatologies)."""
        if self.step_days is None or np.isnan(self.step_days).all():
            return None
        present = np.asarray(self.present if present is None else present, dtype=bool)
        return float(min(self.step_days[present].sum() / self.period_days, 1.0))


def period_mean(
    data: xr.DataArray, start: int, end: int, path, variable: str, lengths=None, frequency: str | None = None
) -> PeriodMean:
    """Mean over the years ``start..end`` (inclusive), each step weighted by its own length.

    Fields without a time axis (maps) are returned unchanged. A 12-month
    climatology (see :func:`monthly_climatology`) is averaged over its months,
    weighted by month length, whatever the period. A time series' steps are
    weighted by their length in days (:func:`step_days`), so daily data are
    not weighted by the length of their month.

    Parameters
    ----------
    lengths : array, optional
        Step lengths in days from the file's time bounds (coordinate :data:`STEP_DAYS`).
    frequency : str, optional
        The sampling the file declares (:func:`declared_frequency`).

    Raises
    ------
    InputDataError
        If a time series misses whole years of the period.
    """
    if "time" not in data.dims:
        return PeriodMean(data)
    if monthly_climatology(data["time"]):
        days = data["time"].dt.days_in_month.astype(float)
        return PeriodMean(data.weighted(days).mean("time"), _climatology_period(data["time"]))
    years = data["time"].dt.year
    inside = ((years >= start) & (years <= end)).values
    chosen = data.isel(time=np.flatnonzero(inside))
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
    days = step_days(chosen["time"], None if lengths is None else np.asarray(lengths)[inside], frequency)
    weights = xr.DataArray(np.nan_to_num(days, nan=1.0), dims="time")
    present = chosen.notnull().any([d for d in chosen.dims if d != "time"])
    total = period_days(start, end, calendar_of(data.to_dataset(name="v")))
    return PeriodMean(chosen.weighted(weights).mean("time"), None, days, present, total)


def check_time_coverage(coverage: float | None, start: int, end: int, path, variable: str, notes: list[str]) -> None:
    """Fail a series covering less than :data:`MIN_TIME_COVERAGE` of the period; note one not covering all of it.

    Raises
    ------
    InputDataError
        Below the threshold, with the coverage found.
    """
    if coverage is None or coverage >= 0.999:
        return
    if coverage < MIN_TIME_COVERAGE:
        raise InputDataError(
            f"time steps holding values cover {coverage:.0%} of the period {start}-{end} (the rest is missing or "
            f"all-NaN); at least {MIN_TIME_COVERAGE:.0%} is needed: give the whole period's time steps",
            path,
            variable,
        )
    _note(notes, path, variable, f"time steps holding values cover only {coverage:.1%} of the period {start}-{end}; "
          "the mean is over the steps present")


# ----------------------------------------------------------------- values


def file_valid_range(data: xr.DataArray) -> tuple[float | None, float | None]:
    """The file's CF valid_range / valid_min / valid_max, in the units of the decoded data.

    Call it on the variable as opened (its encoding still says how it was
    packed). CF: a valid range whose type is the packed data's type is in
    packed units and is unpacked with scale_factor and add_offset; one of
    the unpacked type is already in data units.
    """
    attrs = data.attrs
    low, high = attrs.get("valid_min"), attrs.get("valid_max")
    if "valid_range" in attrs and np.size(attrs["valid_range"]) == 2:
        low, high = np.asarray(attrs["valid_range"]).tolist()
        kind = np.asarray(attrs["valid_range"]).dtype
    else:
        kind = np.asarray(low if low is not None else high if high is not None else 0.0).dtype
    scale, offset = data.encoding.get("scale_factor", 1.0), data.encoding.get("add_offset", 0.0)
    packed = data.encoding.get("dtype")
    if packed is None or np.dtype(packed) != kind:  # not packed, or the range is given unpacked
        scale, offset = 1.0, 0.0
    unpack = lambda v: None if v is None else float(v) * float(scale) + float(offset)  # noqa: E731
    return unpack(low), unpack(high)


def mask_values(
    data: xr.DataArray, request: "FieldRequest", file_range: tuple[float | None, float | None] | None = None
) -> tuple[xr.DataArray, xr.DataArray]:
    """Mask +-inf, the definition's ``missing_values`` and values outside the valid range.

    The valid range is the definition's ``valid_range``, else ``file_range``
    (:func:`file_valid_range` of the variable as opened; read from ``data``
    when not given). Values are compared in the file's units (before conversion).

    Returns
    -------
    masked : DataArray
    n_nonfinite : DataArray
        Number of +-inf values masked (cells x time steps); lazy for dask data.
    """
    infinite = np.isinf(data)
    keep = ~infinite
    for value in request.missing_values:
        # float32 files hold e.g. -3.4e38 only to about 7 digits
        keep = keep & ~(np.abs(data - value) <= 1e-6 * abs(value))
    if request.valid_range is not None:
        low, high = request.valid_range
    else:
        low, high = file_valid_range(data) if file_range is None else file_range
    if low is not None:
        keep = keep & ~(data < low)
    if high is not None:
        keep = keep & ~(data > high)
    return data.where(keep), infinite.sum()


def _note(notes: list[str], path, variable: str, text: str) -> None:
    """Record a note on how an input was read, and warn with it (one line)."""
    message = f"file {path}, variable {variable!r}: {text}"
    notes.append(message)
    warnings.warn(message, SocbenchWarning, stacklevel=3)


def source_units(request: "FieldRequest", file_units: str | None, path, notes: list[str]) -> str:
    """The units the data are in: the file's, else the definition's ``units``.

    A definition's ``units`` that differ from the file's, or file units that
    cannot be parsed and are replaced by the definition's, are noted.

    Raises
    ------
    InputDataError
        If neither the file nor the definition gives units.
    """
    assumed, variable = request.declared_units, request.variable
    file_units = str(file_units).strip() if file_units is not None else ""
    if not file_units:
        if not assumed:
            raise InputDataError(
                f"has no units attribute; declare 'units' for it in the definition (expected {request.units!r})",
                path,
                variable,
            )
        return assumed
    if not assumed:
        return file_units
    try:
        read_units(file_units)
    except UnitError:
        _note(notes, path, variable, f"the file's units {file_units!r} are not recognised; "
              f"using the definition's units {assumed!r}")
        return assumed
    if not same_units(file_units, assumed):
        _note(notes, path, variable, f"the file says units {file_units!r} and the definition says {assumed!r}: "
              f"using the file's {file_units!r} (the definition's units apply only when the file has none)")
    return file_units


# ----------------------------------------------------------------- reading


@dataclass(frozen=True)
class FieldRequest:
    """One field to read.

    Attributes
    ----------
    paths : tuple of Path
    variable : str
    units : str
        Canonical units the field is converted to.
    declared_units : str, optional
        Units to assume when the file does not say (the definition's ``units``).
    non_negative : bool
        Negative values are an error (stocks).
    missing_values : tuple of float
        Values that mean "no data", in the file's units.
    valid_range : (float, float), optional
        Values outside are missing, in the file's units.
    """

    paths: tuple[Path, ...]
    variable: str
    units: str
    declared_units: str | None = None
    non_negative: bool = False
    missing_values: tuple[float, ...] = ()
    valid_range: tuple[float, float] | None = None


def read_field(request: FieldRequest, start: int, end: int) -> xr.Dataset:
    """Read a field and return it in canonical form (see module docstring).

    The result's attributes say how it was read: ``source_files``,
    ``n_nonfinite`` (+-inf values masked), ``climatology`` (whether it was a
    12-month climatology) with ``climatology_period``, and ``notes`` (lines
    also given as :class:`~socbench.errors.SocbenchWarning`).

    Raises
    ------
    InputDataError
        For any problem, naming the file and the variable (one line).
    """
    try:
        return _read_field(request, start, end)
    except SocbenchError:
        raise
    except Exception as exc:  # an unforeseen quirk of one file must not stop the run
        raise InputDataError(
            f"cannot be read ({type(exc).__name__}: {one_line(exc)})", request.paths[0], request.variable
        ) from None


def _read_field(request: FieldRequest, start: int, end: int) -> xr.Dataset:
    path, variable, notes = request.paths[0], request.variable, []
    ds = open_variable(list(request.paths), variable)
    lengths = ds[STEP_DAYS].values if STEP_DAYS in ds.coords and "time" in ds[variable].dims else None
    file_range = file_valid_range(ds[variable])
    frequency = declared_frequency(ds, path)
    ds = drop_singletons(canonical_grid(ds, variable, path), variable, path)
    if ds[variable].chunks is not None and max(max(ds[variable].chunksizes[d]) for d in (LAT, LON)) > 4 * _TILE:
        # Large inputs stay lazy: horizontal tiles bound the memory of every later step. Chunks that
        # are already tiles (lazy_chunks) are kept: re-tiling them would hold several at once.
        ds = ds.chunk({LAT: _TILE, LON: _TILE})
    calendar = calendar_of(ds)
    masked, n_nonfinite = mask_values(ds[variable].astype(float), request, file_range)
    period = period_mean(masked, start, end, path, variable, lengths, frequency)
    mean, climatology = period.mean, period.climatology
    if climatology is not None:
        _note(notes, path, variable, f"12-month climatology ({climatology}) used for the period {start}-{end}")
    if mean.chunks is None:
        mean = mean.load()
    units = source_units(request, ds[variable].attrs.get("units"), path, notes)
    try:
        convert = conversion(units, request.units, calendar)
        aliases = read_units(units).aliases
    except UnitError as exc:
        raise InputDataError(
            f"{exc}; expected units convertible to {request.units!r} (declare 'units' in the definition "
            "to override unreadable file units)",
            path,
            variable,
        ) from None
    if aliases:
        _note(notes, path, variable, f"units {units!r} read through the alias table ({', '.join(aliases)})")
    values = xr.apply_ufunc(convert, mean, dask="parallelized", output_dtypes=[float])
    n_nonfinite, present = _check_values(values, n_nonfinite, request, path, period.present)
    coverage = period.coverage(present)
    check_time_coverage(coverage, start, end, path, variable, notes)
    if n_nonfinite:
        _note(notes, path, variable, f"{n_nonfinite} infinite value(s) masked as missing")
    out = ds[["lat_bnds", "lon_bnds"]].copy()
    out[variable] = values.assign_attrs(units=request.units, source_units=units)
    out.attrs.update(
        source_files=[str(p) for p in request.paths],
        n_nonfinite=n_nonfinite,
        climatology=climatology is not None,
        climatology_period=climatology or "",
        time_coverage=float("nan") if coverage is None else coverage,
        notes=notes,
    )
    return out


def land_fraction_of(field: xr.Dataset, variable: str) -> xr.DataArray:
    """A land fraction field (e.g. ``sftlf``, read in units ``1``) as a fraction in [0, 1].

    A file holding percent (0-100) while its units say ``1`` or ``fraction``
    is detected (maximum above 1.5), converted and noted, instead of being
    clipped to 1 everywhere.

    Raises
    ------
    InputDataError
        Values far above 100, which are neither a fraction nor a percentage.
    """
    values = field[variable]
    path = (field.attrs.get("source_files") or [None])[0]
    maximum = float(values.max())
    if maximum > 1.5:
        if maximum > 105.0:
            raise InputDataError(
                f"land fraction values reach {maximum:g}; expected a fraction (0-1) or a percentage (0-100)", path, variable
            )
        notes = field.attrs.setdefault("notes", [])
        _note(notes, path, variable, f"land fraction reaches {maximum:g} with units "
              f"{values.attrs.get('source_units', '1')!r}: read as percent (divided by 100); set its units to '%'")
        values = values / 100.0
    return values.clip(0.0, 1.0)


def _check_values(values: xr.DataArray, n_nonfinite, request: FieldRequest, path, present=None) -> tuple[int, object]:
    """All-missing and negative values; one pass over lazy data.

    Returns the non-finite count and ``present`` (which time steps hold values) computed.
    """
    import dask

    finite = np.isfinite(values)
    negative = (values < 0) & finite
    any_finite, n_negative, minimum, n_nonfinite, present = dask.compute(
        finite.any(), negative.sum(), values.min(), n_nonfinite, present
    )
    if not bool(any_finite):
        raise InputDataError(
            "all values are missing (NaN, fill value, infinite, or missing_values/valid_range) over the period",
            path,
            request.variable,
        )
    if request.non_negative and int(n_negative) > 0:
        raise InputDataError(
            f"{int(n_negative)} cells have negative values (min {float(minimum):.3g} {request.units}); "
            "expected a non-negative stock",
            path,
            request.variable,
        )
    return int(n_nonfinite), present
