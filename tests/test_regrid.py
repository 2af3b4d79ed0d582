import numpy as np
import pytest
import xarray as xr

from socbench.regrid import analysis_grid, cell_area, regrid_conservative


def _field(resolution, lon0=-180.0, seed=0, descending=False):
    grid = analysis_grid(resolution, -90, 90)
    if lon0 != -180.0:
        shift = lon0 + 180.0
        grid = grid.assign_coords(lon=grid.lon + shift)
        grid["lon_bnds"] = grid["lon_bnds"] + shift
    rng = np.random.default_rng(seed)
    values = np.exp(rng.normal(size=grid["cell_area"].shape))
    values[rng.random(values.shape) < 0.3] = np.nan
    grid["soc"] = (("lat", "lon"), values)
    return grid


def _stock(values, coverage, area):
    return float(np.nansum(np.nan_to_num(values) * coverage * area))


def test_sphere_area():
    grid = analysis_grid(1.0, -90, 90)
    assert grid["cell_area"].sum() == pytest.approx(4 * np.pi * 6_371_000.0**2, rel=1e-12)


@pytest.mark.parametrize("source_res, target_res", [(0.5, 2.0), (2.0, 0.5), (0.5, 1.875), (1.25, 2.0)])
def test_stock_preserved(source_res, target_res):
    source = _field(source_res)
    target = analysis_grid(target_res, -90, 90)
    out = regrid_conservative(source, "soc", target)
    before = float(np.nansum(source["soc"] * source["cell_area"]))
    after = _stock(out.values.values, out.coverage.values, target["cell_area"].values)
    assert after == pytest.approx(before, rel=5e-3)


@pytest.mark.parametrize("dlon, dlat", [(1.875, 1.25), (2.8125, 2.7906), (1.25, 0.9375)])
def test_stock_preserved_from_model_grids_to_the_analysis_grid(dlon, dlat):
    # CMIP-like native grids (lon 0..360 from 0, cells not square) to the 2 degree analysis grid
    lat_edges = np.linspace(-90, 90, int(round(180 / dlat)) + 1)
    lon_edges = np.arange(-dlon / 2, 360 - dlon / 2 + 1e-9, dlon)
    source = xr.Dataset(
        coords={"lat": 0.5 * (lat_edges[1:] + lat_edges[:-1]), "lon": 0.5 * (lon_edges[1:] + lon_edges[:-1])},
        data_vars={
            "lat_bnds": (("lat", "bnds"), np.stack([lat_edges[:-1], lat_edges[1:]], 1)),
            "lon_bnds": (("lon", "bnds"), np.stack([lon_edges[:-1], lon_edges[1:]], 1)),
        },
    )
    area = cell_area(source["lat_bnds"].values, source["lon_bnds"].values)
    rng = np.random.default_rng(3)
    values = np.exp(rng.normal(size=area.shape))
    values[rng.random(area.shape) < 0.4] = np.nan
    land = rng.uniform(0.2, 1.0, area.shape)
    source["soc"] = (("lat", "lon"), values)
    target = analysis_grid(2.0, -90, 90)
    out = regrid_conservative(source, "soc", target, weights=xr.DataArray(land, dims=("lat", "lon")))
    before = float(np.nansum(values * land * area))
    after = _stock(out.values.values, out.coverage.values, target["cell_area"].values)
    assert after == pytest.approx(before, rel=5e-3)


def test_longitude_convention_does_not_matter():
    a = _field(1.0)
    b = a.copy()
    # same field written on 0..360 longitudes
    b = b.roll(lon=180, roll_coords=True)
    b = b.assign_coords(lon=(b.lon % 360))
    b["lon_bnds"] = (("lon", "bnds"), np.stack([b.lon.values - 0.5, b.lon.values + 0.5], axis=1))
    target = analysis_grid(2.0, -60, 90)
    ra = regrid_conservative(a, "soc", target)
    rb = regrid_conservative(b, "soc", target)
    np.testing.assert_allclose(ra.values.values, rb.values.values, rtol=1e-12)


def test_constant_field_stays_constant_and_weights_apply():
    source = analysis_grid(0.5, -90, 90)
    source["x"] = xr.full_like(source["cell_area"], 3.0)
    land = xr.full_like(source["cell_area"], 0.5)
    out = regrid_conservative(source, "x", analysis_grid(2.0, -90, 90), weights=land)
    np.testing.assert_allclose(out.values.values, 3.0)
    np.testing.assert_allclose(out.coverage.values, 0.5)


def test_partial_coverage_reported():
    source = analysis_grid(1.0, 45, 90)
    source["x"] = xr.full_like(source["cell_area"], 1.0)
    out = regrid_conservative(source, "x", analysis_grid(2.0, -60, 90))
    south = out.values.sel(lat=slice(-60, 40))
    assert south.isnull().all()
    assert float(out.coverage.sel(lat=slice(46, 90)).min()) == pytest.approx(1.0)


def test_xesmf_backend_preserves_stock_when_available():
    pytest.importorskip("xesmf", reason="xesmf not installed: the xesmf backend is untested on this platform (docs/definition.md)")
    from socbench.regrid import regrid_xesmf

    source = _field(0.5)
    target = analysis_grid(2.0, -90, 90)
    out = regrid_xesmf(source, "soc", target)
    before = float(np.nansum(source["soc"] * source["cell_area"]))
    after = _stock(out.values.values, out.coverage.values, target["cell_area"].values)
    assert after == pytest.approx(before, rel=5e-3)


def test_builtin_is_the_default_and_auto_is_gone(monkeypatch):
    import socbench.regrid as regrid
    from socbench.errors import DefinitionError

    monkeypatch.setattr(regrid, "xesmf_available", lambda: True)  # installed or not, never chosen silently
    assert regrid.regridder() is regrid.regrid_conservative
    with pytest.raises(DefinitionError, match=r"unknown regridder 'auto' \(known: builtin, xesmf\)"):
        regrid.regridder("auto")
    monkeypatch.setattr(regrid, "xesmf_available", lambda: False)
    with pytest.raises(ImportError, match="xesmf"):
        regrid.regridder("xesmf")


@pytest.mark.parametrize("resolution", [7.0, 9.5, 2.0, 7.2])
def test_analysis_grid_longitudes_are_closed(resolution):
    # a 7 deg grid used to stop at 177E and a 9.5 deg grid at 171.5E
    grid = analysis_grid(resolution, -60, 90)
    lon_bnds = grid["lon_bnds"].values
    assert lon_bnds[0, 0] == -180.0 and lon_bnds[-1, 1] == 180.0
    np.testing.assert_array_equal(lon_bnds[1:, 0], lon_bnds[:-1, 1])
    assert grid["lat_bnds"].values[-1, 1] == 90.0
    whole_band = 2 * np.pi * 6_371_000.0**2 * (1 - np.sin(np.radians(-60)))
    assert float(grid["cell_area"].sum()) == pytest.approx(whole_band, rel=1e-12)


def test_grid_resolution_must_divide_the_globe():
    from pydantic import ValidationError

    from socbench.config import GridSpec

    with pytest.raises(ValidationError, match=r"7 deg does not divide 180 and 360.*nearby valid values: 5\.625, 6, 7\.2, 7\.5"):
        GridSpec(resolution=7.0)
    with pytest.raises(ValidationError, match=r"9\.5 deg.*7\.5, 9, 10"):
        GridSpec(resolution=9.5)
    for fine in (2.0, 0.5, 1.875, 0.083333):
        assert GridSpec(resolution=fine).resolution == fine


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_one_infinite_cell_is_masked_not_spread(bad):
    source = _field(1.0)
    spoiled = source.copy(deep=True)
    spoiled["soc"][10, 20] = bad
    source["soc"][10, 20] = np.nan
    out = regrid_conservative(spoiled, "soc", analysis_grid(2.0, -90, 90))
    masked = regrid_conservative(source, "soc", analysis_grid(2.0, -90, 90))
    np.testing.assert_array_equal(out.values.values, masked.values.values)
    np.testing.assert_array_equal(out.coverage.values, masked.coverage.values)
    assert np.isfinite(out.values.values).sum() > 0.5 * out.values.size
