"""GeoTIFF observation products (optional extra ``socbench[geotiff]``, rioxarray)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("rioxarray")

from socbench.errors import InputDataError  # noqa: E402
from socbench.inputs import FieldRequest, read_field  # noqa: E402
from socbench.regrid import analysis_grid, cell_area, global_stock_pg, regrid_conservative  # noqa: E402

T_HA_TO_KG_M2 = 0.1  # 1 t ha-1 = 1000 kg / 10^4 m2


def soc_map(resolution: float = 1.0, north_up: bool = False, units: str | None = "t ha-1") -> xr.DataArray:
    """A global map in t ha-1: smooth in latitude/longitude, nodata (NaN) over the western hemisphere."""
    lat = np.arange(-90.0 + resolution / 2, 90.0, resolution)
    lon = np.arange(-180.0 + resolution / 2, 180.0, resolution)
    if north_up:
        lat = lat[::-1]
    values = 100.0 + 50.0 * np.cos(np.deg2rad(lat))[:, None] + 0.1 * lon[None, :]
    values[:, lon < 0] = np.nan
    attrs = {"units": units} if units else {}
    data = xr.DataArray(values, dims=("y", "x"), coords={"y": lat, "x": lon}, attrs=attrs)
    return data.rio.write_crs("EPSG:4326").rio.write_nodata(np.nan)


def write_tif(path: Path, data: xr.DataArray) -> Path:
    data.rio.to_raster(path)
    return path


def request(path: Path, declared: str | None = None) -> FieldRequest:
    return FieldRequest((path,), "soc", "kg m-2", declared, non_negative=True)


def check_canonical(ds: xr.Dataset, source: xr.DataArray) -> None:
    assert list(ds["soc"].dims) == ["lat", "lon"]
    assert np.all(np.diff(ds["lat"].values) > 0)
    assert np.all(np.diff(ds["lon"].values) > 0)
    assert ds["lon"].min() >= -180.0 and ds["lon"].max() < 180.0
    assert ds["soc"].attrs["units"] == "kg m-2"
    expected = source.sortby(["y", "x"]).values * T_HA_TO_KG_M2
    np.testing.assert_allclose(ds["soc"].values, expected, rtol=1e-12, equal_nan=True)
    west = ds["soc"].sel(lon=slice(-180, 0)).values
    assert np.isnan(west).all()
    assert np.isfinite(ds["soc"].sel(lon=slice(0, 180)).values).all()
    np.testing.assert_allclose(ds["lat_bnds"].values[[0, -1]], [[-90.0, -89.0], [89.0, 90.0]])


def test_geotiff_read_in_canonical_form(tmp_path):
    source = soc_map()
    ds = read_field(request(write_tif(tmp_path / "soc.tif", source)), 2000, 2010)
    check_canonical(ds, source)
    assert ds["soc"].attrs["source_units"] == "t ha-1"  # from the file's units tag


def test_north_up_geotiff(tmp_path):
    source = soc_map(north_up=True)
    path = write_tif(tmp_path / "north_up.tiff", source)
    import rasterio

    with rasterio.open(path) as raster:
        assert raster.transform.e < 0  # north-up: rows run from north to south
    check_canonical(read_field(request(path), 2000, 2010), source)


def test_geotiff_without_units_needs_declared_units(tmp_path):
    source = soc_map(units=None)
    path = write_tif(tmp_path / "nounits.tif", source)
    with pytest.raises(InputDataError, match=r"nounits\.tif.*'soc'.*has no units attribute; declare 'units'"):
        read_field(request(path), 2000, 2010)
    check_canonical(read_field(request(path, declared="t ha-1"), 2000, 2010), source)


def test_projected_geotiff_refused(tmp_path):
    x = np.linspace(-1.5e7, 1.5e7, 30)
    y = np.linspace(-1.0e7, 1.0e7, 20)
    data = xr.DataArray(np.ones((y.size, x.size)), dims=("y", "x"), coords={"y": y, "x": x}, attrs={"units": "t ha-1"})
    path = write_tif(tmp_path / "mercator.tif", data.rio.write_crs("EPSG:3857"))
    with pytest.raises(InputDataError, match=r"mercator\.tif.*projected.*EPSG:3857.*reproject.*EPSG:4326.*gdalwarp"):
        read_field(request(path), 2000, 2010)


def test_multiband_geotiff_refused(tmp_path):
    single = soc_map(resolution=10.0)
    bands = xr.concat([single, single * 2], dim="band").assign_coords(band=[1, 2]).transpose("band", "y", "x")
    path = write_tif(tmp_path / "two_bands.tif", bands.rio.write_crs("EPSG:4326"))
    with pytest.raises(InputDataError, match=r"two_bands\.tif.*2 bands; expected a single-band"):
        read_field(request(path), 2000, 2010)


def test_geotiff_without_crs_refused(tmp_path):
    data = soc_map(resolution=10.0)
    data = data.drop_vars("spatial_ref")
    data.encoding.pop("grid_mapping", None)
    path = write_tif(tmp_path / "nocrs.tif", data)
    with pytest.raises(InputDataError, match=r"nocrs\.tif.*no coordinate reference system"):
        read_field(request(path), 2000, 2010)


def test_several_geotiffs_refused(tmp_path):
    paths = (write_tif(tmp_path / "a.tif", soc_map(10.0)), write_tif(tmp_path / "b.tif", soc_map(10.0)))
    with pytest.raises(InputDataError, match=r"a\.tif.*single file \(2 files match\)"):
        read_field(FieldRequest(paths, "soc", "kg m-2"), 2000, 2010)


def test_missing_rioxarray_named(tmp_path, monkeypatch):
    path = write_tif(tmp_path / "soc.tif", soc_map(10.0))
    monkeypatch.setitem(sys.modules, "rioxarray", None)
    with pytest.raises(InputDataError, match=r"soc\.tif.*pip install socbench\[geotiff\]"):
        read_field(request(path), 2000, 2010)


def test_large_geotiff_read_lazily(tmp_path, monkeypatch):
    import socbench.inputs as inputs

    source = soc_map()
    path = write_tif(tmp_path / "soc.tif", source)
    monkeypatch.setattr(inputs, "_LAZY_BYTES", 0)
    monkeypatch.setattr(inputs, "_TILE", 64)
    ds = read_field(request(path), 2000, 2010)
    assert ds["soc"].chunks is not None
    check_canonical(ds.compute(), source)


def test_geotiff_regridded_keeps_stock(tmp_path):
    """End to end: a 1-degree GeoTIFF product regridded to 2 degrees keeps its stock."""
    source = soc_map()
    ds = read_field(request(write_tif(tmp_path / "soc.tif", source)), 2000, 2010)
    fine_area = cell_area(ds["lat_bnds"].values, ds["lon_bnds"].values)
    fine_stock = float(np.nansum(ds["soc"].values * fine_area)) / 1e12
    grid = analysis_grid(2.0)
    coarse = regrid_conservative(ds, "soc", grid)
    coarse_stock = global_stock_pg(coarse.values, coarse.coverage, grid["cell_area"])
    assert fine_stock > 100.0  # Pg: ~half the land-free globe at ~10-15 kg m-2
    assert abs(coarse_stock / fine_stock - 1.0) < 0.005
