"""`regions.scheme: file`: ILAMB region files (Whittaker.nc, Koppen.nc) and CF flag files on their own grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from socbench.errors import DefinitionError, InputDataError
from socbench.regions import RegionContext, build_regions

LABELS = ["tundra", "boreal", "temperate", "tropical"]
NAMES = ["Tundra", "Boreal forest", "Temperate forest", "Tropical forest"]


def analysis_grid(resolution: float = 2.0) -> xr.DataArray:
    lat = np.arange(-60 + resolution / 2, 90, resolution)
    lon = np.arange(-180 + resolution / 2, 180, resolution)
    return xr.DataArray(np.ones((lat.size, lon.size), bool), dims=("lat", "lon"), coords={"lat": lat, "lon": lon})


def latitude_bands(lat: np.ndarray) -> np.ndarray:
    """Expected code of each latitude: 0 poleward of 60, 1 in 46-60, 2 in 20-46, 3 within 20 of the equator.

    The edges fall on edges of the 2-degree analysis cells, so nearest-neighbour sampling is unambiguous.
    """
    a = np.abs(lat)
    return np.select([a >= 60, a >= 46, a >= 20], [0, 1, 2], 3)


def ilamb_region_file(path: Path, lon_0_360: bool = False, descending_lat: bool = True) -> Path:
    """An ILAMB-style region file at 0.5 deg: ``ids(lat, lon)`` with ``labels``/``names`` string variables."""
    lat = np.arange(89.75, -90, -0.5) if descending_lat else np.arange(-89.75, 90, 0.5)
    lon = np.arange(0.25, 360, 0.5) if lon_0_360 else np.arange(-179.75, 180, 0.5)
    ids = np.broadcast_to(latitude_bands(lat)[:, None], (lat.size, lon.size)).astype("int32").copy()
    ids[(np.abs(lat) < 2)[:, None] & (np.abs(((lon + 180) % 360) - 180 - 30) < 2)[None, :]] = -999  # a hole
    ds = xr.Dataset(
        {
            "ids": (("lat", "lon"), ids, {"labels": "labels", "names": "names"}),
            "labels": ("n", np.array(LABELS, dtype=object)),
            "names": ("n", np.array(NAMES, dtype=object)),
        },
        coords={"lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
    )
    ds.to_netcdf(path, encoding={"ids": {"_FillValue": -999}})
    return path


def context(path: Path, variable: str | None = None) -> RegionContext:
    land = analysis_grid()
    temperature = 30 - 0.5 * np.abs(land["lat"]) + 0 * land
    return RegionContext(temperature, 1000 + 0 * temperature, land, str(path), variable)


@pytest.mark.parametrize(("lon_0_360", "descending_lat"), [(False, True), (True, False)])
def test_ilamb_region_file(tmp_path, lon_0_360, descending_lat):
    path = ilamb_region_file(tmp_path / "Whittaker.nc", lon_0_360, descending_lat)
    regions = build_regions("file", context(path), min_cells=5)
    assert regions.names == dict(enumerate(NAMES))
    codes = regions.codes
    expected = np.broadcast_to(latitude_bands(codes["lat"].values)[:, None], codes.shape)
    hole = (np.abs(codes["lat"].values) < 2)[:, None] & (np.abs(codes["lon"].values - 30) < 2)[None, :]
    assert np.array_equal(codes.values[~hole], expected[~hole])
    assert (codes.values[hole] == -1).all()
    table = regions.table.set_index("region")
    assert table.loc["Tropical forest", "n_cells"] == int((expected[~hole] == 3).sum())
    assert set(regions.masks(np.ones(codes.shape, bool))) == {"global", *NAMES}


def test_cf_flag_file_and_explicit_variable(tmp_path):
    lat = np.arange(-89.5, 90, 1.0)
    lon = np.arange(-179.5, 180, 1.0)
    codes = np.broadcast_to(np.where(lat > 0, 7, 9)[:, None], (lat.size, lon.size)).astype("int16")
    ds = xr.Dataset(
        {"koppen": (("latitude", "longitude"), codes, {"flag_values": np.array([7, 9], "int16"),
                                                        "flag_meanings": "north_zone south_zone"}),
         "other": (("latitude", "longitude"), codes.astype("int16"))},
        coords={"latitude": lat, "longitude": lon},
    )
    ds.to_netcdf(tmp_path / "Koppen.nc")
    regions = build_regions("file", context(tmp_path / "Koppen.nc", "koppen"), min_cells=5)
    assert regions.names == {7: "north zone", 9: "south zone"}
    assert (regions.codes.values[regions.codes["lat"].values > 0] == 7).all()
    with pytest.raises(InputDataError, match=r"Koppen\.nc.*expected one 2-D integer region-code variable \(found: koppen, other\)"):
        build_regions("file", context(tmp_path / "Koppen.nc"), min_cells=5)


def test_region_file_errors_are_named(tmp_path):
    path = tmp_path / "bare.nc"
    xr.Dataset({"ids": (("lat", "lon"), np.zeros((3, 4), "int32"))},
               coords={"lat": [-10.0, 0.0, 10.0], "lon": [0.0, 90.0, 180.0, 270.0]}).to_netcdf(path)
    with pytest.raises(InputDataError, match=r"bare\.nc, variable 'ids': region codes carry no names"):
        build_regions("file", context(path), min_cells=5)
    with pytest.raises(InputDataError, match=r"missing\.nc: cannot read region file"):
        build_regions("file", context(tmp_path / "missing.nc"), min_cells=5)
    with pytest.raises(InputDataError, match=r"variable 'codes': variable is absent; variables present: ids"):
        build_regions("file", context(path, "codes"), min_cells=5)
    with pytest.raises(DefinitionError, match=r"scheme 'file' needs 'mask_path'"):
        build_regions("file", RegionContext(*(analysis_grid(),) * 3), min_cells=5)


# ------------------------------------------------ through prepare_context, as a user's run reads them (issue 17)


def _with_regions(definition, **regions):
    data = definition.model_dump()
    data["regions"].update(regions)
    return type(definition).model_validate(data)


def _flag_file(path: Path, lat: np.ndarray, lon: np.ndarray, codes: np.ndarray, meanings: str) -> Path:
    values = sorted(set(np.unique(codes).tolist()))
    xr.Dataset(
        {"region": (("lat", "lon"), codes.astype("int16"),
                    {"flag_values": np.array(values, "int16"), "flag_meanings": meanings})},
        coords={"lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
    ).to_netcdf(path)
    return path


def _grid_coords(context):
    return context.grid["lat"].values, context.grid["lon"].values


@pytest.mark.parametrize("scheme", ["file", "mask"])
def test_region_file_is_aligned_by_latitude_through_prepare_context(small_definition, small_world, tmp_path, scheme):
    from socbench.prepare import prepare_context

    lat, lon = np.arange(89.5, -90, -1.0), np.arange(-179.5, 180, 1.0)  # north to south, as many files are
    codes = np.broadcast_to(np.where(lat >= 0, 1, 2)[:, None], (lat.size, lon.size))
    path = _flag_file(tmp_path / "hemispheres.nc", lat, lon, codes, "North South")
    definition = _with_regions(small_definition, scheme=scheme, mask_path=str(path), mask_variable="region", min_cells=5)
    context = prepare_context(definition, small_world)
    grid_lat, _ = _grid_coords(context)
    north = np.broadcast_to((grid_lat >= 0)[:, None], context.land.shape) & context.land
    assert np.array_equal(context.regions["North"], north)
    assert np.array_equal(context.regions["South"], context.land & ~north)
    assert context.region_table.set_index("region").loc["South", "status"] == "ok"


@pytest.mark.parametrize("scheme", ["file", "mask"])
def test_region_file_on_0_360_longitudes_keeps_east_and_west(small_definition, small_world, tmp_path, scheme):
    from socbench.prepare import prepare_context

    lat, lon = np.arange(-89.5, 90, 1.0), np.arange(0.5, 360, 1.0)
    wrapped = ((lon + 180) % 360) - 180
    codes = np.broadcast_to(np.where(wrapped >= 0, 1, 2)[None, :], (lat.size, lon.size))
    path = _flag_file(tmp_path / "east_west.nc", lat, lon, codes, "East West")
    definition = _with_regions(small_definition, scheme=scheme, mask_path=str(path), mask_variable="region", min_cells=5)
    context = prepare_context(definition, small_world)
    _, grid_lon = _grid_coords(context)
    east = np.broadcast_to((grid_lon >= 0)[None, :], context.land.shape) & context.land
    assert np.array_equal(context.regions["East"], east)
    assert np.array_equal(context.regions["West"], context.land & ~east)


def test_region_mask_not_covering_the_grid_is_refused(small_definition, small_world, tmp_path):
    from socbench.prepare import prepare_context

    definition = _with_regions(small_definition, scheme="global_only")
    lat, lon = _grid_coords(prepare_context(definition, small_world))
    short = lat[:-1]  # one row short of the analysis grid
    path = _flag_file(tmp_path / "short.nc", short, lon, np.ones((short.size, lon.size)), "Land")
    definition = _with_regions(small_definition, scheme="mask", mask_path=str(path), mask_variable="region", min_cells=5)
    with pytest.raises(InputDataError, match=r"short\.nc, variable 'region': region codes cover latitudes .* do not cover "
                                             r"the analysis grid .*give a region file covering it"):
        prepare_context(definition, small_world)


def test_region_named_global_does_not_replace_the_all_land_region(tmp_path):
    from socbench.errors import SocbenchWarning

    lat, lon = np.arange(-89.5, 90, 1.0), np.arange(-179.5, 180, 1.0)
    codes = np.broadcast_to(np.where(lat >= 20, 1, 2)[:, None], (lat.size, lon.size))
    path = _flag_file(tmp_path / "with_global.nc", lat, lon, codes, "global tropics_and_south")
    with pytest.warns(SocbenchWarning, match=r"with_global\.nc.*'global', which is reserved for the all-land region"):
        regions = build_regions("file", context(path, "region"), min_cells=5)
    land = np.ones(regions.codes.shape, bool)
    masks = regions.masks(land)
    assert masks["global"].sum() == land.sum()
    assert "global (regions file)" in masks and masks["global (regions file)"].sum() < land.sum()


def test_two_codes_with_one_name_are_refused(tmp_path):
    lat, lon = np.arange(-89.5, 90, 1.0), np.arange(-179.5, 180, 1.0)
    codes = np.broadcast_to(np.where(lat >= 0, 1, 2)[:, None], (lat.size, lon.size))
    path = _flag_file(tmp_path / "twice.nc", lat, lon, codes, "Forest Forest")
    with pytest.raises(InputDataError, match=r"twice\.nc, variable 'region': region codes 1 and 2 are both named 'Forest'"):
        build_regions("file", context(path, "region"), min_cells=5)
