"""Discovery and normalisation of real CMIP6 output (the esmvaltool-sample-data package).

The package ships ``ta`` (air temperature at 1000 and 925 hPa, Amon and day) of
46 CMIP6 models in a CMIP6 DRS tree, cut to a few cells next to the North Pole:
several grids (gn, gr, gr1, gr2; Gaussian and regular, with and without a pole
point, with and without bounds), calendars and metadata styles. Every file must be found with the right facets, open, and come out of
socbench's own normalisation (canonical_grid, calendar_of, units.conversion)
in canonical form. The data are read only for one time step and one level.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from socbench import inputs
from socbench.discover import discover_models, find_drs_files
from socbench.errors import InputDataError
from socbench.units import DAYS_PER_YEAR, conversion

try:
    import esmvaltool_sample_data
except ImportError:  # the tests below that need it are skipped
    esmvaltool_sample_data = None

needs_sample = pytest.mark.skipif(esmvaltool_sample_data is None, reason="pip install esmvaltool-sample-data")


def _sample_root() -> Path | None:
    if esmvaltool_sample_data is None:
        return None
    return Path(esmvaltool_sample_data.__file__).parent / "data" / "timeseries" / "CMIP6"


ROOT = _sample_root()
FILES = find_drs_files(ROOT) if ROOT is not None else None
SOURCES = sorted(FILES["source_id"].unique()) if FILES is not None else []
CALENDARS: dict[str, str] = {}  # file name -> calendar, filled by the per-model tests


@needs_sample
def test_every_file_is_found_with_its_facets():
    walked = sorted(Path(d) / f for d, _, names in os.walk(ROOT) for f in names if f.endswith(".nc"))
    assert len(walked) > 300
    assert sorted(FILES["path"]) == walked
    assert len(SOURCES) >= 40
    assert set(FILES["variable_id"]) == {"ta"}
    assert set(FILES["table_id"]) == {"Amon", "day"}
    assert set(FILES["experiment_id"]) == {"historical"}
    assert set(FILES["mip_era"]) == {"CMIP6"}
    assert set(FILES["grid_label"]) >= {"gn", "gr", "gr1"}
    for row in FILES.itertuples():
        relative = row.path.relative_to(ROOT).parts
        assert relative[:9] == (row.activity_id, row.institution_id, row.source_id, row.experiment_id,
                                row.member_id, row.table_id, row.variable_id, row.grid_label, row.version)
        assert row.path.name.startswith(f"ta_{row.table_id}_{row.source_id}_historical_{row.member_id}_{row.grid_label}_")
        assert row.version.startswith("v20") and len(row.version) == 9
        digits = 6 if row.table_id == "Amon" else 8
        assert len(row.start) == len(row.end) == digits and row.start_year <= row.end_year
        assert f"_{row.time_range}.nc" in row.path.name


@needs_sample
def test_every_model_is_discovered_once_per_table():
    for table, frequency_models in (("Amon", 40), ("day", 30)):
        models = discover_models(ROOT, "cmip6", "historical", {"ta": table}, "ta")
        expected = sorted(FILES.loc[FILES["table_id"] == table, "source_id"].unique())
        assert sorted(models) == expected and len(models) >= frequency_models
        for name, model in models.items():
            assert model.member == "r1i1p1f1"
            paths = model.files["ta"]
            assert paths and all(p.is_file() and f"_{name}_" in p.name and f"_{table}_" in p.name for p in paths)
            # one grid per model, and the files are the model's whole time series for that grid
            assert len({p.parent for p in paths}) == 1


def _check_file(path: Path) -> str:
    """Open, normalise and convert one real file; return its calendar."""
    ds = inputs.open_variable([path], "ta")
    calendar = inputs.calendar_of(ds)
    assert calendar in DAYS_PER_YEAR, f"{path.name}: calendar {calendar!r}"
    field = inputs.canonical_grid(ds, "ta", path)
    assert field["ta"].dims[-2:] == ("lat", "lon"), f"{path.name}: {field['ta'].dims}"
    lat, lon = field["lat"].values, field["lon"].values
    assert np.all(np.diff(lat) > 0) and lat[0] >= -90 and lat[-1] <= 90, path.name
    assert np.all(np.diff(lon) > 0) and lon[0] >= -180 and lon[-1] < 180, path.name
    lat_bnds, lon_bnds = field["lat_bnds"].values, field["lon_bnds"].values
    assert np.all((lat_bnds[:, 0] <= lat) & (lat <= lat_bnds[:, 1])), f"{path.name}: lat bounds"
    assert np.all((lon_bnds[:, 0] <= lon) & (lon <= lon_bnds[:, 1])), f"{path.name}: lon bounds"
    assert np.all(lat_bnds[:, 1] > lat_bnds[:, 0]) and np.all(lon_bnds[:, 1] > lon_bnds[:, 0]), path.name
    # neighbouring cells share their edges (no gaps, no overlaps)
    np.testing.assert_allclose(lat_bnds[1:, 0], lat_bnds[:-1, 1], atol=1e-6, err_msg=path.name)
    np.testing.assert_allclose(lon_bnds[1:, 0], lon_bnds[:-1, 1], atol=1e-6, err_msg=path.name)
    level = field["ta"].isel(time=0, plev=int(np.argmin(field["plev"].values)))  # the highest level
    kelvin = level.values.astype(float)
    celsius = conversion(field["ta"].attrs["units"], "degC", calendar)(kelvin)
    np.testing.assert_allclose(celsius, kelvin - 273.15, equal_nan=True)
    mean = float(np.nanmean(celsius))
    assert -80.0 < mean < 40.0, f"{path.name}: mean {mean:.1f} degC"
    return calendar


@needs_sample
@pytest.mark.parametrize("source", SOURCES)
def test_every_file_opens_and_normalises(source):
    paths = FILES.loc[FILES["source_id"] == source, "path"]
    for path in paths:
        CALENDARS[path.name] = _check_file(path)


@needs_sample
def test_calendars_are_varied_and_known():
    for path in FILES["path"]:
        if path.name not in CALENDARS:  # when run without the per-model tests
            CALENDARS[path.name] = inputs.calendar_of(inputs.open_variable([path], "ta"))
    assert set(CALENDARS.values()) <= set(DAYS_PER_YEAR)
    assert len(set(CALENDARS.values())) >= 3


@needs_sample
def test_files_of_one_model_join_along_time():
    amon = FILES[(FILES["table_id"] == "Amon")]
    source = amon.groupby("source_id").size().idxmax()  # the model with the most Amon files
    paths = sorted(amon.loc[amon["source_id"] == source, "path"])
    assert len(paths) > 10
    ds = inputs.open_variable(paths, "ta")
    times = ds["time"].values
    assert ds.sizes["time"] > len(paths) and all(a < b for a, b in zip(times[:-1], times[1:]))


# ------------------------------------------------------------------ grids not in the sample


def _write(path: Path, dims: tuple, coords: dict) -> Path:
    sizes = {d: n for c in coords.values() for d, n in zip(np.atleast_1d(c[0]), np.shape(c[1]))}
    shape = tuple(sizes[d] for d in dims)
    xr.Dataset({"ta": (dims, np.full(shape, 280.0), {"units": "K"})}, coords=coords).to_netcdf(path)
    return path


def test_unstructured_grid_is_refused_with_a_clear_message(tmp_path):
    cells = 50
    path = _write(tmp_path / "icon.nc", ("ncells",), {
        "lat": ("ncells", np.linspace(-80, 80, cells), {"standard_name": "latitude", "units": "degrees_north"}),
        "lon": ("ncells", np.linspace(0, 350, cells), {"standard_name": "longitude", "units": "degrees_east"}),
    })
    ds = inputs.open_variable([path], "ta")
    with pytest.raises(InputDataError, match=r"icon\.nc, variable 'ta': latitude and longitude share the dimension "
                                             r"'ncells' \(unstructured grid.*not supported; remap"):
        inputs.canonical_grid(ds, "ta", path)


def test_curvilinear_grid_is_refused_with_a_clear_message(tmp_path):
    lat2d, lon2d = np.meshgrid(np.linspace(-60, 60, 4), np.linspace(0, 300, 5), indexing="ij")
    path = _write(tmp_path / "ocean.nc", ("j", "i"), {
        "latitude": (("j", "i"), lat2d, {"standard_name": "latitude", "units": "degrees_north"}),
        "longitude": (("j", "i"), lon2d, {"standard_name": "longitude", "units": "degrees_east"}),
    })
    with pytest.raises(InputDataError, match=r"ocean\.nc.*two-dimensional \(curvilinear grid\): socbench reads "
                                             r"rectilinear grids only, whichever analysis_grid\.regridder") as raised:
        inputs.canonical_grid(inputs.open_variable([path], "ta"), "ta", path)
    assert "xesmf" not in str(raised.value)  # no regridder takes curvilinear input: none may be suggested (issue 17)


def test_one_dimensional_axes_along_other_dimensions_are_used(tmp_path):
    lat, lon = np.array([30.0, 10.0, -10.0, -30.0]), np.arange(0.0, 360.0, 72.0)
    path = _write(tmp_path / "xy.nc", ("y", "x"), {
        "nav_lat": ("y", lat, {"standard_name": "latitude", "units": "degrees_north"}),
        "nav_lon": ("x", lon, {"standard_name": "longitude", "units": "degrees_east"}),
    })
    field = inputs.canonical_grid(inputs.open_variable([path], "ta"), "ta", path)
    assert field["ta"].dims == ("lat", "lon")
    assert field["lat"].values.tolist() == [-30.0, -10.0, 10.0, 30.0]
    assert field["lon"].values.tolist() == [-144.0, -72.0, 0.0, 72.0, 144.0]


@needs_sample
def test_fgoals_f3_l_gappy_bounds_are_replaced():
    """FGOALS-f3-L ``gr`` files give 0.8 deg wide bounds to cells 1 deg (lat) and 1.25 deg (lon) apart."""
    path = FILES.loc[(FILES["source_id"] == "FGOALS-f3-L") & (FILES["table_id"] == "Amon"), "path"].iloc[0]
    raw = xr.open_dataset(path)
    assert np.allclose(np.diff(raw["lat_bnds"].values, axis=1), 0.8)
    field = inputs.canonical_grid(inputs.open_variable([path], "ta"), "ta", path)
    np.testing.assert_allclose(np.diff(field["lat_bnds"].values, axis=1), 1.0)
    np.testing.assert_allclose(np.diff(field["lon_bnds"].values, axis=1), 1.25)


def test_bounds_with_gaps_or_not_containing_centres_are_inferred(tmp_path):
    lat, lon = np.array([-10.0, 0.0, 10.0]), np.array([0.0, 90.0, 180.0, 270.0])
    gappy = np.stack([lat - 4.0, lat + 4.0], axis=1)
    wrapped = np.stack([lon - 45.0, lon + 45.0], axis=1) % 360.0  # first cell [315, 45]: crosses 0
    path = tmp_path / "gappy.nc"
    xr.Dataset(
        {"ta": (("lat", "lon"), np.full((3, 4), 280.0), {"units": "K"}),
         "lat_bnds": (("lat", "bnds"), gappy), "lon_bnds": (("lon", "bnds"), wrapped)},
        coords={"lat": ("lat", lat, {"standard_name": "latitude", "units": "degrees_north", "bounds": "lat_bnds"}),
                "lon": ("lon", lon, {"standard_name": "longitude", "units": "degrees_east", "bounds": "lon_bnds"})},
    ).to_netcdf(path)
    field = inputs.canonical_grid(inputs.open_variable([path], "ta"), "ta", path)
    assert field["lat_bnds"].values.tolist() == [[-15.0, -5.0], [-5.0, 5.0], [5.0, 15.0]]
    lon_bnds = field["lon_bnds"].values
    assert np.diff(lon_bnds, axis=1).ravel().tolist() == [90.0] * 4
    assert np.all((lon_bnds[:, 0] < field["lon"].values) & (field["lon"].values < lon_bnds[:, 1]))
