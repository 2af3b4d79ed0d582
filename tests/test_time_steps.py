"""Time steps as read: overlapping files, partial periods, step weights and packed valid ranges (issue 17)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import cftime
import netCDF4
import numpy as np
import pytest

from socbench.errors import InputDataError, SocbenchWarning
from socbench.inputs import FieldRequest, read_field, resolve_paths

LAT = np.arange(-85.0, 90.0, 10.0)
LON = np.arange(-175.0, 180.0, 10.0)


def series(path: Path, dates: list, values, calendar: str = "standard", bounds: list | None = None,
           variable: str = "tas", units: str = "K") -> Path:
    """A (time, lat, lon) series: ``values`` per step (scalars or fields), with optional time bounds."""
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", None)
        nc.createDimension("lat", LAT.size)
        nc.createDimension("lon", LON.size)
        time = nc.createVariable("time", "f8", ("time",))
        time.units, time.calendar, time.axis = "days since 2000-01-01", calendar, "T"
        time[:] = cftime.date2num(dates, time.units, calendar)
        if bounds is not None:
            nc.createDimension("bnds", 2)
            time.bounds = "time_bnds"
            nc.createVariable("time_bnds", "f8", ("time", "bnds"))[:] = cftime.date2num(bounds, time.units, calendar)
        for name, values_, units_ in (("lat", LAT, "degrees_north"), ("lon", LON, "degrees_east")):
            axis = nc.createVariable(name, "f8", (name,))
            axis[:], axis.units = values_, units_
        data = nc.createVariable(variable, "f4", ("time", "lat", "lon"))
        data.units = units
        data[:] = np.broadcast_to(np.asarray(values, dtype=float).reshape(len(dates), *([1, 1] if np.ndim(values) == 1 else [LAT.size, LON.size])),
                                  (len(dates), LAT.size, LON.size))
    return path


def monthly(first: int, last: int, calendar: str = "standard", months=range(1, 13)) -> list:
    return [cftime.datetime(y, m, 15, calendar=calendar) for y in range(first, last + 1) for m in months]


def request(paths, variable: str = "tas", units: str = "K") -> FieldRequest:
    return FieldRequest(tuple(paths), variable, units)


# ------------------------------------------------------------------ item 3: overlapping files


def test_overlapping_files_are_that_datasets_failure(tmp_path):
    series(tmp_path / "tas_Amon_M_historical_r1i1p1f1_gn_201001-201412.nc", monthly(2010, 2014), np.full(60, 280.0))
    series(tmp_path / "tas_Amon_M_historical_r1i1p1f1_gn_201001-201212.nc", monthly(2010, 2012), np.full(36, 300.0))
    paths = resolve_paths(tmp_path, "tas_*.nc")
    with pytest.raises(InputDataError, match=r"201001-201212\.nc, variable 'tas': its time steps \(2010-01-15 to "
                                             r"2012-12-15\) overlap those of .*201001-201412\.nc .*counted twice"):
        read_field(request(paths), 2010, 2014)


def test_repeated_time_steps_in_one_file_are_refused(tmp_path):
    dates = monthly(2010, 2014)
    path = series(tmp_path / "tas.nc", dates + dates[:3], np.full(63, 280.0))
    with pytest.raises(InputDataError, match=r"tas\.nc, variable 'tas': the time axis repeats 3 time step"):
        read_field(request([path]), 2010, 2014)


def test_consecutive_files_are_joined_in_time_order(tmp_path):
    series(tmp_path / "b.nc", monthly(2013, 2014), np.full(24, 290.0))
    series(tmp_path / "a.nc", monthly(2010, 2012), np.full(36, 280.0))
    field = read_field(request(sorted(tmp_path.glob("*.nc"), reverse=True)), 2010, 2014)
    expected = (280.0 * (2 * 365 + 366) + 290.0 * 730) / (4 * 365 + 366)  # 2012 is a leap year
    np.testing.assert_allclose(field["tas"].values, expected, rtol=1e-6)
    assert field.attrs["time_coverage"] == pytest.approx(1.0)


# ------------------------------------------------------------------ item 5: partial periods


@pytest.mark.parametrize("how", ["bounds", "table", "frequency"])
def test_january_only_series_fails(tmp_path, how):
    """Monthly steps known as such from their bounds, the CMIP table in the file name or the frequency attribute."""
    dates = monthly(2010, 2014, months=[1])
    bounds = [[cftime.datetime(d.year, 1, 1), cftime.datetime(d.year, 2, 1)] for d in dates] if how == "bounds" else None
    name = "tas_Amon_M_historical_r1i1p1f1_gn_201001-201401.nc" if how == "table" else "tas.nc"
    path = series(tmp_path / name, dates, np.full(5, 260.0), bounds=bounds)
    if how == "frequency":
        with netCDF4.Dataset(path, "a") as nc:
            nc.frequency = "mon"
    with pytest.raises(InputDataError, match=r"\.nc, variable 'tas': time steps holding values cover 8% of the "
                                             r"period 2010-2014 .*at least 80% is needed"):
        read_field(request([path]), 2010, 2014)


def test_360_day_series_with_54_of_60_months_is_read_with_a_warning(tmp_path):
    dates = monthly(2010, 2014, calendar="360_day")
    path = series(tmp_path / "tas.nc", dates[:24] + dates[30:], np.full(54, 280.0), calendar="360_day")
    with pytest.warns(SocbenchWarning, match=r"tas\.nc, variable 'tas': time steps holding values cover only 90\.0% "
                                             r"of the period 2010-2014"):
        field = read_field(request([path]), 2010, 2014)
    assert field.attrs["time_coverage"] == pytest.approx(0.9)


def test_all_missing_time_steps_do_not_count_as_covered(tmp_path):
    """A zarr store with missing chunks reads them as fill values: whole steps of NaN."""
    values = np.full(60, 280.0)
    values[1::2] = np.nan
    path = series(tmp_path / "tas.nc", monthly(2010, 2014), values)
    with pytest.raises(InputDataError, match=r"cover 50% of the period"):
        read_field(request([path]), 2010, 2014)


def test_zarr_store_with_missing_time_chunks_fails(tmp_path):
    import xarray as xr

    dates = monthly(2010, 2014)
    ds = xr.Dataset({"tas": (("time", "lat", "lon"), np.full((60, LAT.size, LON.size), 280.0, "f4"), {"units": "K"})},
                    coords={"time": dates, "lat": ("lat", LAT, {"units": "degrees_north"}),
                            "lon": ("lon", LON, {"units": "degrees_east"})})
    store = tmp_path / "tas.zarr"
    ds.chunk({"time": 6}).to_zarr(store, mode="w")
    chunk_dir = store / "tas"
    removed = 0
    for chunk in sorted(p for p in chunk_dir.rglob("*") if p.is_file() and not p.name.startswith((".", "zarr"))):
        parts = chunk.relative_to(chunk_dir).parts  # zarr v3: c/<t>/<y>/<x>; v2: <t>.<y>.<x>
        index = int(parts[1]) if parts[0] == "c" else int(parts[0].split(".")[0])
        if index % 2 == 1:
            chunk.unlink()
            removed += 1
    assert removed == 5
    with pytest.raises(InputDataError, match=r"tas\.zarr.*cover 50% of the period"):
        read_field(request([store]), 2010, 2014)


def test_coverage_is_recorded_in_provenance(small_definition, small_world):
    from socbench.prepare import discover_models, prepare_context, prepare_model
    from socbench.provenance import provenance

    context = prepare_context(small_definition, small_world)
    model = prepare_model(context, discover_models(small_definition, small_world)["SYN-FAITHFUL"])
    coverage = provenance(small_definition, context, [model], 1, 0.0)["time_coverage"]
    assert {"SYN-FAITHFUL/cSoil", "SYN-FAITHFUL/tas", "SYN-FAITHFUL/pr", "SYN-FAITHFUL/npp"} <= set(coverage)
    assert all(share == pytest.approx(1.0) for share in coverage.values())
    json.dumps(coverage)


# ------------------------------------------------------------------ item 12: daily steps weigh their own length


def test_daily_steps_are_weighted_by_their_own_length(tmp_path):
    dates = [cftime.datetime(2010, 1, 1, 12, calendar="noleap") + timedelta(days=i) for i in range(365)]
    values = np.array([1.0 if d.month == 2 else 0.0 for d in dates])
    path = series(tmp_path / "tas.nc", dates, values, calendar="noleap", units="1")
    field = read_field(request([path], units="1"), 2010, 2010)
    np.testing.assert_allclose(field["tas"].values, 28 / 365, rtol=1e-6)  # 0.0767, not 0.0706


def test_step_length_comes_from_time_bounds(tmp_path):
    """Two steps of unequal length (bounds say 10 and 355 days): each weighs its own length."""
    calendar = "noleap"
    d = lambda m, day: cftime.datetime(2010, m, day, calendar=calendar)  # noqa: E731
    bounds = [[d(1, 1), d(1, 11)], [d(1, 11), cftime.datetime(2011, 1, 1, calendar=calendar)]]
    path = series(tmp_path / "tas.nc", [d(1, 6), d(7, 1)], np.array([10.0, 0.0]), calendar=calendar,
                  bounds=bounds, units="1")
    field = read_field(request([path], units="1"), 2010, 2010)
    np.testing.assert_allclose(field["tas"].values, 10.0 * 10 / 365, rtol=1e-6)


# ------------------------------------------------------------------ item 6: packed valid_range


def _lat_lon_axes(nc, lat: np.ndarray, lon: np.ndarray) -> None:
    """Write CF latitude and longitude axes into an open netCDF4 dataset."""
    for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
        nc.createDimension(name, values.size)
        axis = nc.createVariable(name, "f8", (name,))
        axis[:], axis.units = values, units


def test_packed_valid_range_is_unpacked(tmp_path):
    path = tmp_path / "soc.nc"
    with netCDF4.Dataset(path, "w") as nc:
        _lat_lon_axes(nc, LAT, LON)
        soc = nc.createVariable("soc", "i2", ("lat", "lon"))
        soc.scale_factor, soc.add_offset = np.float32(0.01), np.float32(0.0)
        soc.valid_range = np.array([0, 20000], "i2")
        soc.units = "kg m-2"
        values = np.full((LAT.size, LON.size), 50.0)
        values[0, :] = 250.0  # above the valid 200 kg m-2 (20000 packed)
        soc[:] = values
    field = read_field(request([path], "soc", "kg m-2"), 2010, 2014)
    assert np.isnan(field["soc"].values[0]).all()
    np.testing.assert_allclose(field["soc"].values[1:], 50.0, rtol=1e-6)


# ------------------------------------------------------------------ item 15: the lazy path by decoded size


def test_compressed_file_is_read_lazily_by_its_decoded_size(tmp_path):
    """A few hundred kB on disk, 96 MB decoded as float64: it must take the lazy (dask) path."""
    from socbench.inputs import _LAZY_BYTES, decoded_bytes, open_variable

    lat, lon = np.linspace(-89.95, 89.95, 2000), np.linspace(-179.95, 179.95, 2000)
    path = tmp_path / "compressed.nc"
    with netCDF4.Dataset(path, "w") as nc:
        _lat_lon_axes(nc, lat, lon)
        nc.createDimension("time", 3)
        time = nc.createVariable("time", "f8", ("time",))
        time[:], time.units = [15.0, 45.0, 74.0], "days since 2010-01-01"
        tas = nc.createVariable("tas", "f4", ("time", "lat", "lon"), zlib=True, complevel=4)
        tas.units = "K"
        tas[:] = 280.0
    assert path.stat().st_size < _LAZY_BYTES / 10
    ds = open_variable([path], "tas")
    assert decoded_bytes(ds["tas"]) > _LAZY_BYTES
    assert ds["tas"].chunks is not None  # lazy: read tile by tile, never whole
    assert max(ds["tas"].chunksizes["time"]) == 1
