"""Conservative regridding of canonical fields to the analysis grid.

The built-in backend is exact for rectilinear (regular or Gaussian) grids:
the overlap of source and target cells is separable into a latitude part,
measured in sin(latitude) so that it is proportional to area on the sphere,
and a periodic longitude part. Regridding is then two matrix products, which
xarray/dask apply chunk by chunk to large inputs. Each value is weighted by
its cell's overlap area times a source weight (land fraction, or 1 where the
product has data), so the regridded field times its coverage preserves the
source's area integral (the stock).

``xesmf`` is used instead only when the definition asks for it
(``analysis_grid.regridder: xesmf``); it is not tested on every platform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from .inputs import LAT, LON
from .registry import Registry

#: Regridding backends ``(source, variable, grid, weights) -> Regridded``.
REGRIDDERS: Registry = Registry("analysis_grid.regridder", "regridder")

EARTH_RADIUS_M = 6_371_000.0  # mean radius, as in CMIP areacella of many models


@dataclass(frozen=True)
class Regridded:
    """A field on the analysis grid.

    Attributes
    ----------
    values : DataArray
        Weighted mean of the source over the covered part of each cell.
    coverage : DataArray
        Fraction (0..1) of each cell's area covered by weighted source data,
        e.g. the land fraction for a model field weighted by sftlf.
    """

    values: xr.DataArray
    coverage: xr.DataArray


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


def analysis_grid(resolution: float, lat_min: float = -90.0, lat_max: float = 90.0) -> xr.Dataset:
    """A regular lat/lon grid with bounds and cell areas (m2).

    Longitudes run from -180 to 180 and latitudes from ``lat_min`` to
    ``lat_max``, ascending; both axes end exactly at their edges. When
    ``resolution`` divides 360 (as the definition requires) every column is
    ``360 / round(360 / resolution)`` wide; otherwise the last column, like the
    last row when the latitude range is not a multiple of ``resolution``, is
    narrower.
    """
    lat_edges = _edges(lat_min, lat_max, resolution)
    lon_edges = _edges(-180.0, 180.0, resolution)
    lat_bnds = np.stack([lat_edges[:-1], lat_edges[1:]], axis=1)
    lon_bnds = np.stack([lon_edges[:-1], lon_edges[1:]], axis=1)
    grid = xr.Dataset(
        coords={LAT: lat_bnds.mean(axis=1), LON: lon_bnds.mean(axis=1)},
        data_vars={"lat_bnds": ((LAT, "bnds"), lat_bnds), "lon_bnds": ((LON, "bnds"), lon_bnds)},
    )
    grid[LAT].attrs = {"standard_name": "latitude", "units": "degrees_north", "axis": "Y", "bounds": "lat_bnds"}
    grid[LON].attrs = {"standard_name": "longitude", "units": "degrees_east", "axis": "X", "bounds": "lon_bnds"}
    grid["cell_area"] = ((LAT, LON), cell_area(lat_bnds, lon_bnds), {"units": "m2", "standard_name": "cell_area"})
    return grid


def _edges(start: float, stop: float, step: float) -> np.ndarray:
    """Cell edges from ``start`` to exactly ``stop``, ``step`` apart (the last cell may be narrower)."""
    cells = (stop - start) / step
    if abs(cells - round(cells)) < 1e-5 * max(cells, 1.0):
        return np.linspace(start, stop, int(round(cells)) + 1)
    edges = start + step * np.arange(int(np.floor(cells)) + 1)
    return np.append(edges, stop)


def cell_area(lat_bnds: np.ndarray, lon_bnds: np.ndarray) -> np.ndarray:
    """Area (m2) of rectilinear cells on a sphere: R^2 * dlon * (sin(lat_n) - sin(lat_s))."""
    band = np.abs(np.diff(np.sin(np.radians(lat_bnds)), axis=1))[:, 0]
    width = np.radians(np.abs(np.diff(lon_bnds, axis=1))[:, 0])
    return EARTH_RADIUS_M**2 * np.outer(band, width)


def latitude_overlap(source_bnds: np.ndarray, target_bnds: np.ndarray) -> np.ndarray:
    """(n_target, n_source) overlaps in sin(latitude), proportional to area."""
    s_lo, s_hi = np.sin(np.radians(source_bnds.min(axis=1))), np.sin(np.radians(source_bnds.max(axis=1)))
    t_lo, t_hi = np.sin(np.radians(target_bnds.min(axis=1))), np.sin(np.radians(target_bnds.max(axis=1)))
    return np.clip(np.minimum(t_hi[:, None], s_hi[None, :]) - np.maximum(t_lo[:, None], s_lo[None, :]), 0.0, None)


def longitude_overlap(source_bnds: np.ndarray, target_bnds: np.ndarray) -> np.ndarray:
    """(n_target, n_source) overlaps in degrees of longitude, periodic in 360."""
    s_lo, s_hi = source_bnds.min(axis=1), source_bnds.max(axis=1)
    t_lo, t_hi = target_bnds.min(axis=1)[:, None], target_bnds.max(axis=1)[:, None]
    total = np.zeros((len(t_lo), len(s_lo)))
    for shift in (-360.0, 0.0, 360.0):
        lo, hi = s_lo[None, :] + shift, s_hi[None, :] + shift
        total += np.clip(np.minimum(t_hi, hi) - np.maximum(t_lo, lo), 0.0, None)
    return total


@REGRIDDERS.register("builtin")
def regrid_conservative(
    source: xr.Dataset, variable: str, grid: xr.Dataset, weights: xr.DataArray | None = None
) -> Regridded:
    """Area-conservative regridding of a canonical field to ``grid``.

    Parameters
    ----------
    source : Dataset
        Canonical field (``variable`` on ``(lat, lon)``, with ``lat_bnds`` and
        ``lon_bnds``); may be dask-backed.
    variable : str
    grid : Dataset
        Target grid from :func:`analysis_grid`.
    weights : DataArray, optional
        Source-cell weights in [0, 1] on the source grid (land fraction).
        Default: 1 wherever the source has data.

    Returns
    -------
    Regridded
    """
    data = source[variable]
    # inf x 0 is NaN, and one NaN would spread through both matrix products:
    # non-finite values are missing here, like NaN (the reader counts them).
    valid = np.isfinite(data)
    data = data.where(valid)
    weight = valid.astype(float) if weights is None else weights.fillna(0.0).where(valid, 0.0)
    lat_matrix = latitude_overlap(source["lat_bnds"].values, grid["lat_bnds"].values)
    lon_matrix = longitude_overlap(source["lon_bnds"].values, grid["lon_bnds"].values)
    weighted = (data.fillna(0.0) * weight).transpose(LAT, LON).data
    numerator = np.asarray(lat_matrix @ weighted @ lon_matrix.T)
    denominator = np.asarray(lat_matrix @ weight.transpose(LAT, LON).data @ lon_matrix.T)
    extent = np.outer(
        np.diff(np.sin(np.radians(grid["lat_bnds"].values)), axis=1)[:, 0],
        np.abs(np.diff(grid["lon_bnds"].values, axis=1))[:, 0],
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(denominator > 0, numerator / denominator, np.nan)
    coords = {LAT: grid[LAT].values, LON: grid[LON].values}
    values = xr.DataArray(values, dims=(LAT, LON), coords=coords)
    coverage = xr.DataArray(np.clip(denominator / extent, 0.0, 1.0), dims=(LAT, LON), coords=coords)
    values.attrs = dict(data.attrs)
    return Regridded(values=values, coverage=coverage)


@REGRIDDERS.register("xesmf")
def regrid_xesmf(source: xr.Dataset, variable: str, grid: xr.Dataset, weights: xr.DataArray | None = None) -> Regridded:
    """Conservative regridding with xesmf (ESMF); same contract as :func:`regrid_conservative`."""
    import xesmf  # optional dependency

    data = source[variable]
    valid = np.isfinite(data)
    data = data.where(valid)
    weight = valid.astype(float) if weights is None else weights.fillna(0.0).where(valid, 0.0)
    src = _with_xesmf_edges(source)
    dst = _with_xesmf_edges(grid)
    regridder = xesmf.Regridder(src, dst, "conservative", periodic=True, unmapped_to_nan=False)
    numerator = regridder((data.fillna(0.0) * weight).to_dataset(name="x"))["x"]
    denominator = regridder(weight.to_dataset(name="x"))["x"]
    values = (numerator / denominator).where(denominator > 0)
    return Regridded(values=values, coverage=denominator.clip(0.0, 1.0))


def _with_xesmf_edges(ds: xr.Dataset) -> xr.Dataset:
    """xesmf reads cell edges as 1-D ``lat_b``/``lon_b`` of length n + 1."""
    lat_edges = np.append(ds["lat_bnds"].values[:, 0], ds["lat_bnds"].values[-1, 1])
    lon_edges = np.append(ds["lon_bnds"].values[:, 0], ds["lon_bnds"].values[-1, 1])
    return xr.Dataset(coords={LAT: ds[LAT].values, LON: ds[LON].values, "lat_b": lat_edges, "lon_b": lon_edges})


def xesmf_available() -> bool:
    try:
        import xesmf  # noqa: F401
    except Exception:
        return False
    return True


def regridder(name: str = "builtin"):
    """The regridding function of a registered backend ('builtin', 'xesmf').

    There is no automatic choice: results must not depend on what is installed.
    """
    function = REGRIDDERS.get(name)
    if function is regrid_xesmf and not xesmf_available():
        raise ImportError("regridder 'xesmf' requested but xesmf/ESMPy cannot be imported")
    return function


def global_stock_pg(values: xr.DataArray, coverage: xr.DataArray, area: xr.DataArray) -> float:
    """Area integral of a density (kg m-2) times coverage, in Pg (1e12 kg)."""
    return float((values.fillna(0.0) * coverage * area).sum()) / 1e12
