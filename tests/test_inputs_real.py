"""Real products as they come: look-alikes of HWSD, NCSCD and CMAP as distributed.

The fixtures copy the layouts of /work/shared/real-products.md (names, dimensions,
attributes, encodings and quirks) with generated data: HWSD and NCSCD as ILAMB
serves them (NETCDF3, ``Kg/m2``, both ``_FillValue`` and ``missing_value``, scalar
time attributes instead of a time axis, NCSCD's 0 outside its domain) and CMAP's
long-term monthly mean (year 0001, CF ``climatology`` bounds, north-to-south
latitudes, 0..360 longitudes, ``mm/day``, ``valid_range``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cftime
import netCDF4
import numpy as np
import pytest

from socbench.errors import InputDataError, SocbenchWarning
from socbench.inputs import FieldRequest, read_field
from socbench.regrid import analysis_grid, cell_area, regrid_conservative

LAT_HALF = np.arange(-89.75, 90.0, 0.5)
LON_HALF = np.arange(-179.75, 180.0, 0.5)
HWSD_FILL, HWSD_MISSING = -999.0, -3.4e38


def _half_degree_file(path: Path, values: np.ndarray, long_name: str, missing_value: float, **extra) -> Path:
    """An ILAMB-style 0.5 degree soilc(lat, lon) map: NETCDF3, no bounds, scalar time attributes."""
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as nc:
        nc.createDimension("lat", LAT_HALF.size)
        nc.createDimension("lon", LON_HALF.size)
        lat = nc.createVariable("lat", "f8", ("lat",))
        lat[:], lat.units, lat.long_name = LAT_HALF, "degrees_north", "latitude"
        lon = nc.createVariable("lon", "f8", ("lon",))
        lon[:], lon.units, lon.long_name = LON_HALF, "degrees_east", "longitude"
        soilc = nc.createVariable("soilc", "f4", ("lat", "lon"), fill_value=np.float32(HWSD_FILL))
        soilc.setncatts(
            {
                "units": "Kg/m2",
                "long_name": long_name,
                "missing_value": np.float32(missing_value),
                "time": 54788.0,
                "time_unit": "No. of days since 1850-1-1",
                "calendar": "gregorian",
                "min": np.float32(0.0),
                "max": np.float32(80.54),
                **extra,
            }
        )
        soilc.set_auto_maskandscale(False)  # write the fill and missing values as they are in the files
        soilc[:] = values.astype(np.float32)
    return path


def _land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """A made-up land mask: a band of latitudes, with one ocean gap of longitudes."""
    return (np.abs(lat[:, None] + 10.0) < 65.0) & ~((lon[None, :] > -40.0) & (lon[None, :] < 0.0))


def hwsd_like(path: Path) -> tuple[Path, float]:
    """HWSD look-alike; returns the path and its true stock (Pg) over land."""
    land = _land(LAT_HALF, LON_HALF)
    density = np.where(land, 8.0 + 4.0 * np.cos(np.radians(LAT_HALF))[:, None], 0.0)
    values = np.where(land, density, HWSD_FILL)
    values[:, : LON_HALF.size // 2] = np.where(land[:, : LON_HALF.size // 2], values[:, : LON_HALF.size // 2], HWSD_MISSING)
    edges_lat = np.append(LAT_HALF - 0.25, 90.0)
    edges_lon = np.append(LON_HALF - 0.25, 180.0)
    area = cell_area(np.stack([edges_lat[:-1], edges_lat[1:]], 1), np.stack([edges_lon[:-1], edges_lon[1:]], 1))
    _half_degree_file(path, values, "Soil Carbon in top 3 m", HWSD_MISSING, projection="+proj=longlat +datum=WGS84 +no_defs")
    return path, float((density * area).sum() / 1e12)


def ncscd_like(path: Path, domain_south: float = 51.25, value: float = 30.0) -> Path:
    """NCSCD look-alike: ``value`` north of ``domain_south``, 0 south of it, -1 (missing) in one patch."""
    values = np.where(LAT_HALF[:, None] > domain_south, value, 0.0) * np.ones(LON_HALF.size)
    values[-20:, :40] = -1.0
    esri = 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]]'
    return _half_degree_file(path, values, "Soil Carbon in top 1 m", -1.0, coordinates="lon lat", esri_pe_string=esri)


CMAP_UNITS = "hours since 1800-01-01 00:00:0.0"


def cmap_like(path: Path, with_climatology_attribute: bool = True) -> Path:
    """CMAP precip.mon.ltm look-alike: month m rains m mm/day, except a few missing or invalid cells."""
    lat = np.arange(88.75, -89.0, -2.5)
    lon = np.arange(1.25, 360.0, 2.5)
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as nc:
        nc.Conventions = "COARDS"
        for name, size in (("lon", lon.size), ("lat", lat.size), ("time", 12), ("nbnds", 2)):
            nc.createDimension(name, size)
        for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
            var = nc.createVariable(name, "f4", (name,))
            var[:], var.units = values, units
        time = nc.createVariable("time", "f8", ("time",))
        starts = [cftime.DatetimeGregorian(1, m, 1) for m in range(1, 13)]
        ends = [cftime.DatetimeGregorian(30 if m == 12 else 1, m % 12 + 1, 1) for m in range(1, 13)]
        time[:] = netCDF4.date2num(starts, CMAP_UNITS, "standard")
        time.units, time.long_name = CMAP_UNITS, "Time"
        time.avg_period, time.climo_period = "0030-00-00 00:00:00", "1981/01/01 - 2010/12/31"
        time.actual_range = np.array([time[0], time[-1]])
        if with_climatology_attribute:
            time.climatology = "climatology_bounds"
        bounds = nc.createVariable("climatology_bounds", "f8", ("time", "nbnds"))
        bounds.units = CMAP_UNITS
        bounds[:] = np.stack([time[:], netCDF4.date2num(ends, CMAP_UNITS, "standard")], axis=1)
        precip = nc.createVariable("precip", "f4", ("time", "lat", "lon"))
        precip.setncatts(
            {
                "units": "mm/day",
                "valid_range": np.array([0.0, 70.0], dtype="f4"),
                "missing_value": np.float32(-9.969209968386869e36),
                "scale_factor": np.float32(1.0),
                "add_offset": np.float32(0.0),
            }
        )
        data = np.arange(1, 13, dtype="f4")[:, None, None] * np.ones((12, lat.size, lon.size), "f4")
        data[:, 0, 0] = -9.969209968386869e36  # missing in every month
        data[3, 10, 10] = 80.0  # outside valid_range: missing in April only
        precip.set_auto_maskandscale(False)
        precip[:] = data
        count = nc.createVariable("valid_yr_count", "i2", ("time", "lat", "lon"))
        count.missing_value = np.int16(32767)
        count[:] = 30
    return path


# ------------------------------------------------------------------ HWSD


def test_hwsd_as_distributed_is_read_with_its_stock(tmp_path):
    path, stock = hwsd_like(tmp_path / "soilc_0.5x0.5.nc")
    with pytest.warns(SocbenchWarning, match=r"soilc_0\.5x0\.5\.nc, variable 'soilc': units 'Kg/m2' read through the alias table \(Kg -> kg\)"):
        field = read_field(FieldRequest((path,), "soilc", "kg m-2", non_negative=True), 1995, 2005)
    soilc = field["soilc"]
    assert soilc.dims == ("lat", "lon") and soilc.attrs["source_units"] == "Kg/m2"
    # both the _FillValue (-999) and the missing_value (-3.4e38) cells are missing
    land = _land(LAT_HALF, LON_HALF)
    assert int(soilc.notnull().sum()) == int(land.sum())
    assert float(soilc.min()) >= 8.0
    assert field.attrs["n_nonfinite"] == 0 and field.attrs["climatology"] is False
    assert len(field.attrs["notes"]) == 1
    grid = analysis_grid(2.0, -90, 90)
    out = regrid_conservative(field, "soilc", grid)
    regridded = float((out.values.fillna(0) * out.coverage * grid["cell_area"]).sum() / 1e12)
    assert regridded == pytest.approx(stock, rel=1e-6)


# ------------------------------------------------------------------ NCSCD


def test_ncscd_zeros_are_missing_when_declared(tmp_path):
    path = ncscd_like(tmp_path / "ncscd.nc")
    grid = analysis_grid(2.0, -60, 90)
    edge = dict(lat=51.0)  # the 50-52N row: NCSCD covers its northern 0.75 deg only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SocbenchWarning)
        as_is = read_field(FieldRequest((path,), "soilc", "kg m-2"), 2000, 2000)
        declared = read_field(FieldRequest((path,), "soilc", "kg m-2", missing_values=(0.0,)), 2000, 2000)
    # the -1 missing_value patch is missing either way
    assert bool(as_is["soilc"].isel(lat=slice(-20, None), lon=slice(0, 40)).isnull().all())
    zeros_kept = regrid_conservative(as_is, "soilc", grid).values.sel(**edge, method="nearest")
    zeros_missing = regrid_conservative(declared, "soilc", grid).values.sel(**edge, method="nearest")
    # 0 read as "no carbon" dilutes the edge cells; declared missing, they keep the domain's value
    assert float(zeros_kept.median()) < 0.5 * 30.0
    np.testing.assert_allclose(zeros_missing.values, 30.0)
    assert int(declared["soilc"].notnull().sum()) < int(as_is["soilc"].notnull().sum())


def test_valid_range_from_the_definition(tmp_path):
    path = ncscd_like(tmp_path / "ncscd.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SocbenchWarning)
        field = read_field(FieldRequest((path,), "soilc", "kg m-2", valid_range=(1.0, 100.0)), 2000, 2000)
    assert float(field["soilc"].min()) == 30.0
    with pytest.raises(InputDataError, match=r"ncscd\.nc, variable 'soilc': all values are missing"), warnings.catch_warnings():
        warnings.simplefilter("ignore", SocbenchWarning)
        read_field(FieldRequest((path,), "soilc", "kg m-2", valid_range=(31.0, 100.0)), 2000, 2000)


# ------------------------------------------------------------------ CMAP


def _month_weighted_mean() -> float:
    days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)  # year 0001 is not a leap year
    return float((np.arange(1, 13) * days).sum() / days.sum())


def test_cmap_long_term_mean_is_read_as_a_climatology(tmp_path):
    path = cmap_like(tmp_path / "precip.mon.ltm.nc")
    with pytest.warns(SocbenchWarning, match=r"12-month climatology \(1981/01/01 - 2010/12/31\) used for the period 1995-2005"):
        field = read_field(FieldRequest((path,), "precip", "mm day-1"), 1995, 2005)
    precip = field["precip"]
    assert field.attrs["climatology"] is True
    assert field.attrs["climatology_period"] == "1981/01/01 - 2010/12/31"
    # latitudes turned south-to-north, longitudes wrapped to [-180, 180)
    assert precip["lat"].values[0] == -88.75 and precip["lon"].values[0] == -178.75
    np.testing.assert_allclose(precip.sel(lat=0.0, lon=1.25, method="nearest"), _month_weighted_mean(), rtol=1e-6)
    # missing_value in every month: missing; 80 mm/day (outside valid_range) in April only: mean of the other months
    assert bool(precip.sel(lat=88.75, lon=1.25).isnull())
    others = [m for m in range(1, 13) if m != 4]
    days = {m: d for m, d in zip(range(1, 13), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])}
    expected = sum(m * days[m] for m in others) / sum(days[m] for m in others)
    lat10, lon10 = 88.75 - 2.5 * 10, 1.25 + 2.5 * 10
    assert float(precip.sel(lat=lat10, lon=lon10)) == pytest.approx(expected, rel=1e-6)


def test_climatology_converted_with_the_calendar_year(tmp_path):
    path = cmap_like(tmp_path / "precip.mon.ltm.nc")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SocbenchWarning)
        field = read_field(FieldRequest((path,), "precip", "mm yr-1"), 2010, 2014)
    value = float(field["precip"].sel(lat=0.0, lon=1.25, method="nearest"))
    assert value == pytest.approx(_month_weighted_mean() * 365.2425, rel=1e-6)


def test_year_0001_without_the_attribute_is_a_climatology_too(tmp_path):
    path = cmap_like(tmp_path / "ltm.nc", with_climatology_attribute=False)
    with pytest.warns(SocbenchWarning, match="12-month climatology"):
        field = read_field(FieldRequest((path,), "precip", "mm day-1"), 1995, 2005)
    assert field.attrs["climatology"] is True


def test_twelve_months_of_a_real_year_are_not_a_climatology(tmp_path):
    import xarray as xr

    time = xr.date_range("2003-01-01", periods=12, freq="MS", use_cftime=True)
    ds = xr.Dataset(
        {"precip": (("time", "lat", "lon"), np.ones((12, 3, 4)), {"units": "mm/day"})},
        coords={"time": time, "lat": ("lat", [-30.0, 0.0, 30.0], {"units": "degrees_north"}),
                "lon": ("lon", [0.0, 90.0, 180.0, 270.0], {"units": "degrees_east"})},
    )
    ds.to_netcdf(tmp_path / "pr2003.nc")
    with pytest.raises(InputDataError, match=r"time axis \(2003-2003\) does not cover the period 2010-2014"):
        read_field(FieldRequest((tmp_path / "pr2003.nc",), "precip", "mm day-1"), 2010, 2014)


def test_climatology_covariate_is_recorded_in_provenance(small_world, small_definition, tmp_path):
    from socbench.prepare import prepare_context
    from socbench.provenance import provenance

    data = small_definition.model_dump()
    data["covariates"]["precipitation"]["obs"] = {"path": str(cmap_like(tmp_path / "precip.mon.ltm.nc")), "variable": "precip"}
    definition = type(small_definition).model_validate(data)
    with pytest.warns(SocbenchWarning, match="12-month climatology"):
        context = prepare_context(definition, small_world)
    record = provenance(definition, context, [], 1, 0.0)
    assert record["climatology_inputs"] == {"covariate:precipitation/precip": "1981/01/01 - 2010/12/31"}
    assert str(tmp_path / "precip.mon.ltm.nc") in record["input_files"]
    # about 6.5 mm/day x 365.24 days wherever CMAP has data
    precipitation = context.obs_covariates[context.covariate_names.index("precipitation")]
    assert np.nanmedian(precipitation[context.land]) == pytest.approx(_month_weighted_mean() * 365.2425, rel=1e-6)
