"""Region schemes: one region map for every dataset, from the observed climate.

A scheme is a registered function ``(context) -> (codes, names)`` where
``codes`` is an integer DataArray on the analysis grid (-1 outside every
region) and ``names`` maps code -> region name. Adding a scheme means adding
one decorated function. Undersized regions are merged into their nearest
neighbour in climate space, and the all-land region ``global`` is added.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import xarray as xr

from .errors import DefinitionError, InputDataError, SocbenchWarning
from .registry import Registry

GLOBAL = "global"

#: Region schemes ``(context) -> (codes, names)``.
REGION_SCHEMES: Registry[Callable] = Registry("regions.scheme", "region scheme")
region_scheme = REGION_SCHEMES.register


@dataclass(frozen=True)
class RegionContext:
    """What a scheme may use: the observed climate and land on the analysis grid."""

    temperature: xr.DataArray  # degC
    precipitation: xr.DataArray  # mm yr-1
    land: xr.DataArray  # bool
    mask_path: str | None = None
    mask_variable: str | None = None


# Whittaker (1975) biome diagram, as digitised in Ricklefs (2008, The Economy of
# Nature, fig. 5.5): classes from mean annual temperature (degC) and
# precipitation (mm/yr). Boundaries are simplified to straight lines.
WHITTAKER_BIOMES = {
    1: "Tundra",
    2: "Boreal forest",
    3: "Temperate grassland/desert",
    4: "Woodland/shrubland",
    5: "Temperate seasonal forest",
    6: "Temperate rain forest",
    7: "Subtropical desert",
    8: "Tropical savanna",
    9: "Tropical seasonal forest",
    10: "Tropical rain forest",
}


def whittaker_class(temperature: np.ndarray, precipitation: np.ndarray) -> np.ndarray:
    """Whittaker biome code (1..10) of each (MAT degC, MAP mm/yr) pair; 0 where undefined."""
    t, p = np.asarray(temperature, float), np.asarray(precipitation, float)
    code = np.zeros(t.shape, dtype=int)
    tropical, temperate, boreal, tundra = t >= 20, (t >= 3) & (t < 20), (t >= -5) & (t < 3), t < -5
    code[tundra] = 1
    code[boreal] = 2
    dry_temperate = p < 250 + 10 * t
    code[temperate & dry_temperate] = 3
    code[temperate & ~dry_temperate & (p < 600 + 25 * t)] = 4
    code[temperate & (p >= 600 + 25 * t) & (p < 1800 + 50 * t)] = 5
    code[temperate & (p >= 1800 + 50 * t)] = 6
    code[tropical & (p < 600)] = 7
    code[tropical & (p >= 600) & (p < 1500)] = 8
    code[tropical & (p >= 1500) & (p < 2600)] = 9
    code[tropical & (p >= 2600)] = 10
    code[~(np.isfinite(t) & np.isfinite(p))] = 0
    return code


@region_scheme("whittaker")
def whittaker_regions(context: RegionContext) -> tuple[xr.DataArray, dict[int, str]]:
    """Whittaker biomes from the observed MAT/MAP."""
    codes = whittaker_class(context.temperature.values, context.precipitation.values)
    codes = np.where(context.land.values & (codes > 0), codes, -1)
    return xr.DataArray(codes, dims=context.land.dims, coords=context.land.coords), dict(WHITTAKER_BIOMES)


@region_scheme("global_only")
def global_only(context: RegionContext) -> tuple[xr.DataArray, dict[int, str]]:
    """No sub-regions: only the all-land region."""
    return xr.full_like(context.land, -1, dtype=int), {}


@region_scheme("mask")
def mask_regions(context: RegionContext) -> tuple[xr.DataArray, dict[int, str]]:
    """Integer region codes from a user netCDF (flag_values/flag_meanings), aligned by coordinates."""
    if not context.mask_path or not context.mask_variable:
        raise DefinitionError("regions: scheme 'mask' needs 'mask_path' and 'mask_variable'")
    try:
        with xr.open_dataset(context.mask_path) as ds:
            mask = ds[context.mask_variable].load()
    except (OSError, KeyError, ValueError) as exc:
        raise InputDataError(f"cannot read region mask ({exc})", context.mask_path, context.mask_variable) from None
    gridded = _on_analysis_grid(mask, context.land, context.mask_path).values
    values = np.where(np.isfinite(gridded) & context.land.values, np.nan_to_num(gridded, nan=-1), -1).astype(int)
    flags = mask.attrs.get("flag_values")
    meanings = str(mask.attrs.get("flag_meanings", "")).split()
    names = (
        {int(v): m.replace("_", " ") for v, m in zip(np.atleast_1d(flags), meanings)}
        if flags is not None and meanings
        else {int(v): f"region {int(v)}" for v in np.unique(values) if v >= 0}
    )
    return xr.DataArray(values, dims=context.land.dims, coords=context.land.coords), names


def _region_variable(ds: xr.Dataset, name: str | None, path: str) -> str:
    """The integer region-code variable: ``name``, else ILAMB's ``ids``, else the only 2-D integer variable."""
    if name:
        if name not in ds.variables:
            raise InputDataError(f"variable is absent; variables present: {', '.join(map(str, ds.data_vars))}", path, name)
        return name
    if "ids" in ds.data_vars:
        return "ids"
    candidates = [str(v) for v in ds.data_vars if ds[v].ndim == 2 and (
        np.issubdtype(ds[v].dtype, np.integer) or "flag_values" in ds[v].attrs or "labels" in ds[v].attrs)]
    if len(candidates) != 1:
        found = ", ".join(candidates) or "none"
        raise InputDataError(f"expected one 2-D integer region-code variable (found: {found}); set regions.mask_variable", path)
    return candidates[0]


def _region_names(ds: xr.Dataset, codes: xr.DataArray, path: str) -> dict[int, str]:
    """Code -> name: ILAMB's ``labels``/``names`` string variables (code = index), else CF flag_values/flag_meanings."""
    attrs = codes.attrs
    if "labels" in attrs or "names" in attrs:
        # ILAMB region files (https://www.ilamb.org/doc/custom_regions.html): the attributes name string
        # variables; a cell's code is the index of its region in them.
        key = "names" if str(attrs.get("names")) in ds.variables else "labels"
        if str(attrs.get(key)) not in ds.variables:
            raise InputDataError(f"its attribute {key}={attrs[key]!r} names no variable of the file", path, codes.name)
        names = [str(v.decode() if isinstance(v, bytes) else v).strip() for v in ds[str(attrs[key])].values]
        return dict(enumerate(names))
    if "flag_values" in attrs and "flag_meanings" in attrs:
        meanings = str(attrs["flag_meanings"]).split()
        return {int(v): m.replace("_", " ") for v, m in zip(np.atleast_1d(attrs["flag_values"]), meanings)}
    raise InputDataError("region codes carry no names: expected ILAMB 'labels'/'names' attributes or CF "
                         "'flag_values'/'flag_meanings'", path, codes.name)


_AXES = {"lat": ("latitude", "degrees_north"), "lon": ("longitude", "degrees_east")}


def _axis_dim(codes: xr.DataArray, axis: str, path: str) -> str:
    """The dimension of ``codes`` that is its latitude (``axis='lat'``) or longitude, with coordinate values."""
    standard_name, units = _AXES[axis]
    for dim in codes.dims:
        attrs = codes[dim].attrs if dim in codes.coords else {}
        named = str(dim).lower().startswith(axis) or attrs.get("standard_name") == standard_name
        if (named or attrs.get("units") == units) and dim in codes.coords:
            return str(dim)
    raise InputDataError(
        f"region codes have no {standard_name} coordinate (dimensions {codes.dims}); expected 1-D {standard_name} "
        f"coordinate values (units {units!r}) so that they can be aligned with the analysis grid",
        path,
        codes.name,
    )


def _extent(centres: np.ndarray) -> tuple[float, float, float]:
    """(first edge, last edge, spacing) of ascending cell centres."""
    step = float(np.median(np.diff(centres))) if centres.size > 1 else 0.0
    return centres[0] - step / 2, centres[-1] + step / 2, step


def _check_covers(codes: xr.DataArray, land: xr.DataArray, path: str) -> bool:
    """Refuse region codes that do not cover the analysis grid; return whether they span every longitude."""
    lat0, lat1, _ = _extent(codes["lat"].values)
    lon0, lon1, lon_step = _extent(codes["lon"].values)
    periodic = lon1 - lon0 >= 360.0 - 1e-6 * max(lon_step, 1.0)
    grid_lat, grid_lon = land["lat"].values, land["lon"].values
    tol = 1e-6
    lat_ok = lat0 - tol <= grid_lat.min() and grid_lat.max() <= lat1 + tol
    lon_ok = periodic or (lon0 - tol <= grid_lon.min() and grid_lon.max() <= lon1 + tol)
    if not (lat_ok and lon_ok):
        raise InputDataError(
            f"region codes cover latitudes {lat0:g} to {lat1:g} and longitudes {lon0:g} to {lon1:g}, which do not "
            f"cover the analysis grid (cell centres at latitudes {grid_lat.min():g} to {grid_lat.max():g}, "
            f"longitudes {grid_lon.min():g} to {grid_lon.max():g}); give a region file covering it",
            path,
            codes.name,
        )
    return periodic


def _on_analysis_grid(codes: xr.DataArray, land: xr.DataArray, path: str) -> xr.DataArray:
    """Nearest-neighbour codes at the analysis grid's cell centres, matched by coordinates.

    Any longitude convention ([-180, 180) or [0, 360)) and either latitude
    order are accepted; codes that do not cover the grid are refused.
    """
    if codes.ndim != 2:
        raise InputDataError(f"expected 2-D (lat, lon) region codes, found dimensions {codes.dims}", path, codes.name)
    if "lat" not in land.coords or "lon" not in land.coords:
        raise ValueError("the region context's land has no lat/lon coordinates")  # a programming error, not input
    lat, lon = _axis_dim(codes, "lat", path), _axis_dim(codes, "lon", path)
    codes = codes.rename({lat: "lat", lon: "lon"}).transpose("lat", "lon").astype(float)
    codes = codes.assign_coords(lon=((codes["lon"].values + 180.0) % 360.0) - 180.0).sortby(["lat", "lon"])
    codes = codes.isel(lon=np.unique(codes["lon"].values, return_index=True)[1])
    if _check_covers(codes, land, path):
        # wrap one column around each side, so that cells near the date line find their true nearest code
        codes = xr.concat([codes.isel(lon=[-1]).assign_coords(lon=codes["lon"].values[[-1]] - 360.0), codes,
                           codes.isel(lon=[0]).assign_coords(lon=codes["lon"].values[[0]] + 360.0)], dim="lon")
    return codes.interp(lat=land["lat"], lon=land["lon"], method="nearest", kwargs={"fill_value": None})


@region_scheme("file")
def file_regions(context: RegionContext) -> tuple[xr.DataArray, dict[int, str]]:
    """Regions from a netCDF of integer codes on any regular grid, e.g. ILAMB's Whittaker.nc or Koppen.nc.

    Names come from ILAMB's convention (``labels``/``names`` attributes naming
    string variables, the code being the index) or CF ``flag_values``/``flag_meanings``.
    Cells that are fill values, or codes without a name, belong to no region.
    """
    if not context.mask_path:
        raise DefinitionError("regions: scheme 'file' needs 'mask_path' (e.g. regions/Whittaker.nc)")
    try:
        ds = xr.open_dataset(context.mask_path)
    except (OSError, ValueError) as exc:
        raise InputDataError(f"cannot read region file ({exc})", context.mask_path) from None
    with ds:
        name = _region_variable(ds, context.mask_variable, context.mask_path)
        codes = ds[name].load()
        names = _region_names(ds, codes, context.mask_path)
    gridded = _on_analysis_grid(codes, context.land, context.mask_path).values
    known = np.isin(gridded, list(names)) & np.isfinite(gridded)
    values = np.where(known & context.land.values, np.nan_to_num(gridded, nan=-1), -1).astype(int)
    return xr.DataArray(values, dims=context.land.dims, coords=context.land.coords), names

@dataclass
class RegionMap:
    """The regions of a run.

    Attributes
    ----------
    codes : DataArray
        Region code per cell (-1: none).
    names : dict
        Code -> name, for the regions kept (after merging).
    table : DataFrame
        ``region, n_cells, status`` for every region of the scheme, including
        merged and insufficient ones.
    include_global : bool
    """

    codes: xr.DataArray
    names: dict[int, str]
    table: pd.DataFrame
    include_global: bool = True

    def masks(self, land: np.ndarray) -> dict[str, np.ndarray]:
        """Region name -> boolean cell mask, ``global`` first."""
        out = {GLOBAL: np.asarray(land).copy()} if self.include_global else {}
        for code, name in self.names.items():
            out[name] = self.codes.values == code
        return out


def checked_region_names(names: dict[int, str], context: RegionContext) -> dict[int, str]:
    """Region names that are unique and leave ``global`` to the all-land region.

    A scheme's region named ``global`` (any case) is renamed ``<name> (regions file)``
    with a warning: it would otherwise replace the all-land region.

    Raises
    ------
    InputDataError
        When two codes have the same name (their cells would be merged silently).
    """
    source = context.mask_path or "the region scheme"
    renamed = {}
    for code, name in names.items():
        if name.strip().lower() == GLOBAL:
            new = f"{name} (regions file)"
            warnings.warn(
                f"file {source}, variable {context.mask_variable or 'region codes'!r}: region {code} is named "
                f"{name!r}, which is reserved for the all-land region; it is scored as {new!r} (rename it in the file "
                "to choose another name)",
                SocbenchWarning,
                stacklevel=3,
            )
            name = new
        renamed[code] = name
    seen: dict[str, int] = {}
    for code, name in renamed.items():
        if name in seen:
            raise InputDataError(
                f"region codes {seen[name]} and {code} are both named {name!r}; give each region its own name "
                "(or one code per region)",
                source,
                context.mask_variable,
            )
        seen[name] = code
    return renamed


def build_regions(scheme: str, context: RegionContext, min_cells: int, include_global: bool = True) -> RegionMap:
    """Apply a registered scheme and merge undersized regions.

    A region with fewer than ``min_cells`` land cells is merged into the
    region nearest to it in (standardised temperature, log precipitation)
    space; merging repeats until every region is big enough or one is left.
    """
    codes, names = REGION_SCHEMES.get(scheme)(context)
    names = checked_region_names(names, context)
    codes = codes.copy()
    status = {name: "ok" for name in names.values()}
    counts = {c: int((codes.values == c).sum()) for c in names}
    for code, name in names.items():
        if counts[code] == 0:
            status[name] = "absent"
    features = _climate_features(context)
    while True:
        present = {c: n for c, n in counts.items() if n > 0}
        small = [c for c, n in sorted(present.items(), key=lambda item: item[1]) if n < min_cells]
        if not small or len(present) < 2:
            break
        code = small[0]
        target = _nearest_region(code, [c for c in present if c != code], codes.values, features)
        codes.values[codes.values == code] = target
        status[names[code]] = f"merged into {names[target]}"
        counts[target] += counts[code]
        counts[code] = 0
    kept = {c: names[c] for c, n in counts.items() if n >= min_cells}
    for code, n in counts.items():
        if 0 < n < min_cells:
            status[names[code]] = "insufficient data"
    rows = [{"region": GLOBAL, "n_cells": int(context.land.values.sum()), "status": "ok"}] if include_global else []
    rows += [{"region": names[c], "n_cells": counts[c], "status": status[names[c]]} for c in names]
    return RegionMap(codes=codes, names=kept, table=pd.DataFrame(rows), include_global=include_global)


def _climate_features(context: RegionContext) -> np.ndarray:
    t = context.temperature.values
    logp = np.log(np.clip(context.precipitation.values, 1.0, None))
    stack = np.stack([t / np.nanstd(t), logp / np.nanstd(logp)], axis=-1)
    return stack


def _nearest_region(code: int, candidates: list[int], codes: np.ndarray, features: np.ndarray) -> int:
    centre = np.nanmean(features[codes == code], axis=0)
    distances = [np.linalg.norm(np.nanmean(features[codes == c], axis=0) - centre) for c in candidates]
    return candidates[int(np.argmin(distances))]
