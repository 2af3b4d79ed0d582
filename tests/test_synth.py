"""Tests of the synthetic world (socbench.synth): layout, determinism, planted truth."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import netCDF4
import numpy as np
import pytest

from socbench import synth

RESOLUTION = 4.0
YEARS = (2010, 2014)
PRODUCT_FILES = {
    "HWSD-like": ("obs/soc/HWSD-like/hwsd_like_soc.nc", "soc", 1.0),
    "SoilGrids-like": ("obs/soc/SoilGrids-like/soilgrids_like_ocs.nc", "ocs", 0.1),
    "NCSCD-like": ("obs/soc/NCSCD-like/ncscd_like_socc.nc", "SOCC", 0.1),
    "GSOCmap-like": ("obs/soc/GSOCmap-like/gsocmap_like_soc.nc", "soc_stock", 0.1),
}
COVARIATE_FILES = ("climate_tas.nc", "climate_pr.nc", "modis_like_npp.nc", "clay.nc", "cn_ratio.nc", "wetland.nc")
MODELS = {"SYN-FAITHFUL": "SYNA", "SYN-TEMPNPP": "SYNB", "SYN-DOUBLE": "SYNC", "SYN-UNRELATED": "SYND"}
TABLES = {"cSoil": "Emon", "tas": "Amon", "pr": "Amon", "npp": "Lmon"}


INSTITUTIONS = {**MODELS, "SYN-FAITHFUL-2": "SYNA", "OBS-COPY": "SYNOBS"}


def drs(root: Path, source_id: str, variable: str, member: str = "r1i1p1f1", version: str = "v20190308") -> Path:
    """The fixed DRS path of a model file."""
    institution = INSTITUTIONS[source_id]
    table = TABLES.get(variable, "fx")
    stem = f"{variable}_{table}_{source_id}_historical_{member}_gn"
    name = f"{stem}.nc" if table == "fx" else f"{stem}_{YEARS[0]}01-{YEARS[1]}12.nc"
    model_dir = root / "CMIP6" / "CMIP" / institution / source_id / "historical" / member
    return model_dir / table / variable / "gn" / version / name


def read(path: Path, variable: str) -> np.ndarray:
    with netCDF4.Dataset(path) as nc:
        return np.ma.filled(nc[variable][:].astype(float), np.nan)


def read_coords(path: Path) -> dict:
    with netCDF4.Dataset(path) as nc:
        out = {name: np.asarray(nc[name][:], float) for name in ("lat", "lon", "lat_bnds", "lon_bnds")}
        if "time" in nc.variables:
            out["calendar"] = nc["time"].calendar
            out["time_units"] = nc["time"].units
            out["time_bnds"] = np.asarray(nc["time_bnds"][:], float)
    return out


def model_stock(root: Path, source_id: str, member: str = "r1i1p1f1") -> float:
    """Stock (Pg) of a model's first cSoil month north of 60S, from its files."""
    csoil = read(drs(root, source_id, "cSoil", member), "cSoil")[0]
    land = read(drs(root, source_id, "sftlf", member), "sftlf") / 100.0
    area = read(drs(root, source_id, "areacella", member), "areacella")
    lat = read_coords(drs(root, source_id, "cSoil", member))["lat"]
    weights = np.where(lat[:, None] >= -60.0, area * land, 0.0)
    valid = np.isfinite(csoil) & (weights > 0)
    return float(np.sum(csoil[valid] * weights[valid]) / 1e12)


def model_field(root: Path, source_id: str) -> np.ndarray:
    """A model's first cSoil month (kg m-2), as written (found by its source_id in the DRS tree)."""
    path = next(root.glob(f"CMIP6/*/*/{source_id}/historical/r1i1p1f1/Emon/cSoil/*/*/*.nc"))
    return read(path, "cSoil")[0]


def all_arrays(root: Path) -> dict:
    """Every variable of every netCDF file under root, keyed by (relative path, name)."""
    arrays = {}
    for path in sorted(root.rglob("*.nc")):
        with netCDF4.Dataset(path) as nc:
            for name in nc.variables:
                arrays[(str(path.relative_to(root)), name)] = np.ma.filled(nc[name][:].astype(float), np.nan)
    return arrays


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    manifest = synth.make_world(root, seed=0, resolution=RESOLUTION, years=YEARS)
    return root, manifest


# ----------------------------------------------------------------------------- layout


def test_files_exist_at_fixed_paths(world):
    root, _ = world
    for path, _, _ in PRODUCT_FILES.values():
        assert (root / path).is_file(), path
    for name in COVARIATE_FILES:
        assert (root / "obs" / "covariates" / name).is_file(), name
    for source_id in MODELS:
        for variable in ("cSoil", "tas", "pr", "npp", "sftlf", "areacella"):
            assert drs(root, source_id, variable).is_file(), (source_id, variable)
    assert (root / "truth.json").is_file()


def test_faithful_has_older_version_and_second_member(world):
    root, _ = world
    old = read(drs(root, "SYN-FAITHFUL", "cSoil", version="v20180101"), "cSoil")
    new = read(drs(root, "SYN-FAITHFUL", "cSoil"), "cSoil")
    np.testing.assert_allclose(old, 3.0 * new, rtol=1e-6)
    for variable in ("cSoil", "tas", "pr", "npp", "sftlf"):
        assert drs(root, "SYN-FAITHFUL", variable, member="r2i1p1f1").is_file(), variable
    second = read(drs(root, "SYN-FAITHFUL", "cSoil", member="r2i1p1f1"), "cSoil")
    assert not np.allclose(second, new, equal_nan=True)
    assert abs(np.nanmean(np.log(second / new))) < 0.01


def test_manifest_is_written_and_returned(world):
    root, manifest = world
    assert json.loads((root / "truth.json").read_text()) == manifest
    assert manifest["seed"] == 0 and manifest["resolution"] == RESOLUTION and manifest["years"] == list(YEARS)
    assert manifest["model_roles"].keys() == MODELS.keys()
    for name, (path, variable, _) in PRODUCT_FILES.items():
        entry = manifest["products"][name]
        assert (entry["path"], entry["variable"]) == (path, variable)
    names = manifest["covariate_correlation"]["names"]
    assert tuple(names) == synth.COVARIATES
    matrix = np.array(manifest["covariate_correlation"]["matrix"])
    np.testing.assert_allclose(np.diag(matrix), 1.0, atol=1e-6)
    assert np.all(np.abs(matrix - np.eye(len(names))) < 0.6)


def test_invalid_counts_raise(tmp_path):
    with pytest.raises(ValueError, match="n_products"):
        synth.make_world(tmp_path, n_products=2)
    with pytest.raises(ValueError, match="n_models"):
        synth.make_world(tmp_path, n_models=0)


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_arrays_and_extra_datasets(world, tmp_path):
    root, _ = world
    manifest = synth.make_world(tmp_path, seed=0, resolution=RESOLUTION, n_models=5, n_products=5, years=YEARS)
    first, second = all_arrays(root), all_arrays(tmp_path)
    assert set(first) <= set(second)
    for key, values in first.items():
        np.testing.assert_array_equal(values, second[key], err_msg=str(key))
    assert "SYN-FAITHFUL-2" in manifest["model_roles"] and "Extra-1" in manifest["products"]
    assert drs(tmp_path, "SYN-FAITHFUL-2", "cSoil").is_file()
    assert (tmp_path / manifest["products"]["Extra-1"]["path"]).is_file()


def test_different_seed_gives_different_world(world, tmp_path):
    root, _ = world
    synth.make_world(tmp_path, seed=1, resolution=RESOLUTION, n_models=1, n_products=3, years=YEARS)
    path, variable, _ = PRODUCT_FILES["HWSD-like"]
    assert not np.allclose(read(root / path, variable), read(tmp_path / path, variable), equal_nan=True)
    assert not np.allclose(read(drs(root, "SYN-FAITHFUL", "tas"), "tas"),
                           read(drs(tmp_path, "SYN-FAITHFUL", "tas"), "tas"))


# ----------------------------------------------------------------------------- products


def test_global_products_stock_within_observed_range(world):
    _, manifest = world
    for name in ("HWSD-like", "SoilGrids-like", "GSOCmap-like"):
        assert 1100.0 <= manifest["products"][name]["stock_pg"] <= 2700.0, name
    assert 1100.0 <= manifest["truth_stock_pg"] <= 2700.0


def test_ncscd_stock_is_its_biased_regional_truth(world):
    _, manifest = world
    entry = manifest["products"]["NCSCD-like"]
    assert entry["stock_pg"] == pytest.approx(0.85 * entry["truth_stock_pg_on_coverage"], rel=0.1)


def test_products_are_nan_over_ocean_and_antarctica(world):
    root, _ = world
    path, variable, _ = PRODUCT_FILES["HWSD-like"]
    values = read(root / path, variable)
    lat = read_coords(root / path)["lat"]
    assert np.all(np.isnan(values[lat < -60.0]))
    assert 0.15 < np.isfinite(values).mean() < 0.45


def test_soilgrids_lat_descending_lon_0_360(world):
    root, _ = world
    coords = read_coords(root / PRODUCT_FILES["SoilGrids-like"][0])
    assert np.all(np.diff(coords["lat"]) < 0)
    assert coords["lon"].min() >= 0.0 and coords["lon_bnds"].max() <= 360.0
    assert coords["lat"].size == round(180.0 / (RESOLUTION / 4))


def test_ncscd_only_north_of_45n(world):
    root, _ = world
    coords = read_coords(root / PRODUCT_FILES["NCSCD-like"][0])
    assert coords["lat_bnds"].min() >= 45.0
    assert np.all(np.diff(coords["lat"]) > 0)


def test_hwsd_and_covariates_on_half_resolution_grid(world):
    root, _ = world
    coords = read_coords(root / PRODUCT_FILES["HWSD-like"][0])
    assert coords["lon_bnds"].min() == -180.0 and coords["lon_bnds"].max() == 180.0
    assert np.diff(coords["lon"])[0] == pytest.approx(RESOLUTION / 2)
    tas = read(root / "obs/covariates/climate_tas.nc", "tas")
    hwsd = read(root / PRODUCT_FILES["HWSD-like"][0], "soc")
    assert tas.shape == hwsd.shape
    with netCDF4.Dataset(root / "obs/covariates/modis_like_npp.nc") as nc:
        assert nc["npp"].units == "g m-2 yr-1"
        assert 100.0 < np.nanmedian(np.ma.filled(nc["npp"][:], np.nan)) < 1000.0


# ----------------------------------------------------------------------------- models


def test_model_grid_lon_0_360_and_noleap(world):
    root, _ = world
    for source_id in MODELS:
        coords = read_coords(drs(root, source_id, "tas"))
        assert coords["calendar"] == "noleap" and coords["time_units"] == "days since 1850-01-01"
        assert coords["lon"].min() >= 0.0 and coords["lon"].max() < 360.0
        assert np.all(np.diff(coords["lat"]) > 0)
        assert coords["time_bnds"].shape == (12 * (YEARS[1] - YEARS[0] + 1), 2)
    with netCDF4.Dataset(drs(root, "SYN-FAITHFUL", "cSoil")) as nc:
        assert nc.getncattr("Conventions") == "CF-1.7 CMIP-6.2"
        assert nc.source_id == "SYN-FAITHFUL" and nc.variant_label == "r1i1p1f1"
        assert nc["cSoil"]._FillValue == np.float32(1e20)


def test_models_have_their_own_grids(world):
    root, _ = world
    shapes = {read(drs(root, source_id, "sftlf"), "sftlf").shape for source_id in MODELS}
    assert len(shapes) == len(MODELS)


@pytest.mark.parametrize("index", [0, 1])
def test_period_mean_recovers_model_climatology(world, index):
    root, _ = world
    source_id = synth._model_spec(index, RESOLUTION).source_id
    coords = read_coords(drs(root, source_id, "tas"))
    days = np.diff(coords["time_bnds"], axis=1)[:, 0]
    tas = read(drs(root, source_id, "tas"), "tas") - 273.15
    pr = read(drs(root, source_id, "pr"), "pr") * synth.SECONDS_PER_YEAR
    assert np.nanmax(tas.max(axis=0) - tas.min(axis=0)) > 10.0  # there is a seasonal cycle ...
    for monthly in (tas, pr):  # ... and the day-weighted period mean is its plain mean
        np.testing.assert_allclose(np.tensordot(days, monthly, axes=1) / days.sum(), monthly.mean(axis=0),
                                   rtol=1e-5, atol=1e-4)
    # the climatology is the observed one plus the model's own smooth bias, not the observed one itself
    spec = synth._model_spec(index, RESOLUTION)
    observed = synth._observed_fields(0, *spec.grid.mesh())
    tas_bias = tas.mean(axis=0) - observed["temperature"]
    pr_bias = np.log(pr.mean(axis=0) / observed["precipitation"])
    assert 0.2 < np.median(np.abs(tas_bias)) < 2.5 and np.corrcoef(tas.mean(axis=0).ravel(), observed["temperature"].ravel())[0, 1] > 0.95
    assert 0.02 < np.median(np.abs(pr_bias)) < 0.5


def test_tempnpp_stock_equals_truth(world):
    root, manifest = world
    stock = model_stock(root, "SYN-TEMPNPP")
    assert stock == pytest.approx(manifest["truth_stock_pg"], rel=0.01)
    assert manifest["models"]["SYN-TEMPNPP"]["stock_pg"] == pytest.approx(stock, rel=1e-4)


def test_unrelated_stock_equals_truth(world):
    root, manifest = world
    assert model_stock(root, "SYN-UNRELATED") == pytest.approx(manifest["truth_stock_pg"], rel=0.01)


def test_double_is_twice_faithful(world):
    root, _ = world
    ratio = model_stock(root, "SYN-DOUBLE") / model_stock(root, "SYN-FAITHFUL")
    assert ratio == pytest.approx(2.0, rel=0.1)


def test_model_csoil_constant_in_time_and_ocean_missing(world):
    root, _ = world
    csoil = read(drs(root, "SYN-FAITHFUL", "cSoil"), "cSoil")
    land = read(drs(root, "SYN-FAITHFUL", "sftlf"), "sftlf") > 0
    np.testing.assert_array_equal(csoil[0], csoil[-1])
    assert np.all(np.isnan(csoil[0][~land])) and np.all(np.isfinite(csoil[0][land]))


# ----------------------------------------------------------------------------- the planted process


def _medians(n: int = 1) -> dict:
    return {"temperature": np.full(n, 10.0), "precipitation": np.full(n, 800.0), "npp": np.full(n, 0.4),
            "clay": np.full(n, 25.0), "cn_ratio": np.full(n, 14.0), "wetland": np.full(n, 0.1)}


@pytest.mark.parametrize("covariate, values, sign", [
    ("temperature", np.linspace(-10.0, 30.0, 21), -1),
    ("clay", np.linspace(5.0, 60.0, 21), +1),
    ("cn_ratio", np.linspace(8.0, 30.0, 21), +1),
    ("wetland", np.linspace(0.0, 1.0, 21), +1),
    ("npp", np.linspace(0.05, 1.5, 21), +1),
    ("precipitation", np.linspace(100.0, 3000.0, 21), +1),
])
def test_truth_is_monotone(covariate, values, sign):
    inputs = _medians(values.size)
    inputs[covariate] = values
    assert np.all(sign * np.diff(synth.truth_ln_soc(**inputs)) > 0)


def test_truth_npp_response_saturates():
    inputs = _medians(31)
    inputs["npp"] = np.linspace(0.05, 1.5, 31)
    assert np.all(np.diff(synth.truth_ln_soc(**inputs), 2) < 0)


def test_planted_weights_match_measured_components():
    grid = synth._make_grid(1.0, 1.0)
    measured = synth._component_stds(0, grid)
    for name, weight in synth.PLANTED_WEIGHTS.items():
        assert measured[name] == pytest.approx(weight, rel=0.05), name
    order = sorted(measured, key=measured.get, reverse=True)
    assert tuple(order[:2]) == synth.STRONGEST_DRIVERS


def test_truth_cells_within_clip_range():
    values = np.exp(synth.truth_ln_soc(temperature=np.array([60.0, -40.0]), precipitation=np.array([50.0, 4500.0]),
                                       npp=np.array([0.001, 3.0]), clay=np.array([5.0, 60.0]),
                                       cn_ratio=np.array([8.0, 30.0]), wetland=np.array([0.0, 1.0])))
    np.testing.assert_allclose(values, [1.0, 60.0], rtol=1e-12)  # hot, dry and barren at the floor; the opposite at the cap
    middle = np.exp(synth.truth_ln_soc(temperature=np.array([5.0, 25.0]), precipitation=np.array([800.0, 800.0]),
                                       npp=np.array([0.5, 0.5]), clay=np.array([20.0, 20.0]),
                                       cn_ratio=np.array([12.0, 12.0]), wetland=np.array([0.0, 0.0])))
    assert 1.0 < middle[1] < middle[0] < 60.0  # between the bounds, less SOC where it is warmer


# ----------------------------------------------------------------------------- copy model


@pytest.mark.parametrize("product", ["HWSD-like", "SoilGrids-like"])
def test_copy_model_equals_product(world, tmp_path, product):
    root, _ = world
    # work on a copy so that the module's world stays pristine
    shutil.copytree(root, tmp_path / "w")
    world_dir = tmp_path / "w"
    path = synth.add_copy_model(world_dir, product=product, source_id="OBS-COPY")
    assert path == drs(world_dir, "OBS-COPY", "cSoil")
    product_path, variable, to_kg = PRODUCT_FILES[product]
    obs = read(world_dir / product_path, variable) * to_kg
    obs_coords = read_coords(world_dir / product_path)
    obs = obs[np.argsort(obs_coords["lat"])][:, np.argsort(obs_coords["lon"] % 360.0)]
    csoil = read(path, "cSoil")
    assert csoil.shape[0] == 12 * (YEARS[1] - YEARS[0] + 1)
    np.testing.assert_allclose(csoil[0], obs, rtol=1e-6)
    np.testing.assert_array_equal(csoil[0], csoil[-1])
    coords = read_coords(path)
    assert coords["lon"].min() >= 0.0 and np.all(np.diff(coords["lat"]) > 0)
    for variable in ("tas", "pr", "npp", "sftlf", "areacella"):
        assert drs(world_dir, "OBS-COPY", variable).is_file(), variable
    tas = read(drs(world_dir, "OBS-COPY", "tas"), "tas")
    np.testing.assert_array_equal(tas[0], tas[5])
    manifest = json.loads((world_dir / "truth.json").read_text())
    assert "OBS-COPY" in manifest["model_roles"]
    assert manifest["models"]["OBS-COPY"]["stock_pg"] == pytest.approx(manifest["products"][product]["stock_pg"],
                                                                      rel=1e-3)


def test_copy_model_tas_matches_observed_covariate_on_same_grid(world, tmp_path):
    root, _ = world
    shutil.copytree(root, tmp_path / "w")
    synth.add_copy_model(tmp_path / "w", product="HWSD-like")
    tas = read(drs(tmp_path / "w", "OBS-COPY", "tas"), "tas")[0] - 273.15
    obs = read(tmp_path / "w" / "obs/covariates/climate_tas.nc", "tas")
    lon = read_coords(tmp_path / "w" / "obs/covariates/climate_tas.nc")["lon"]
    obs = obs[:, np.argsort(lon % 360.0)]
    land = np.isfinite(obs)
    np.testing.assert_allclose(tas[land], obs[land], atol=1e-4)


def test_copy_model_unknown_product(world):
    root, _ = world
    with pytest.raises(ValueError, match="unknown product"):
        synth.add_copy_model(root, product="nope")


# ------------------------------------------------------------ scenario roles (issue 7)


@pytest.fixture(scope="module")
def role_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("roles")
    manifest = synth.make_world(root, seed=2, resolution=6.0, roles=["faithful", "mix:0.5", "mix:1", "longnoise"],
                                model_grid="analysis", climate_bias=0.0, extra_products=["outlier", "misread"])
    return root, manifest


def test_roles_name_the_models_and_share_the_analysis_grid(role_world):
    root, manifest = role_world
    assert list(manifest["models"]) == ["SYN-FAITHFUL", "SYN-MIX-050", "SYN-MIX-100", "SYN-LONGNOISE"]
    grids = {(e["grid"]["dlon"], e["grid"]["dlat"]) for e in manifest["models"].values()}
    assert grids == {(6.0, 6.0)}
    for entry in manifest["models"].values():
        assert entry["stock_pg"] == pytest.approx(manifest["truth_stock_pg"], rel=0.05)


def test_mix_models_move_from_the_truth_to_the_wrong_driver(role_world):
    """ln SOC of SYN-MIX-<l> is (1 - l) truth + l wrong-driver field: its correlation with the truth falls with l."""
    root, manifest = role_world
    grid = synth._make_grid(6.0, 6.0, lon_start=0.0)
    lat, lon = grid.mesh()
    truth = np.log(synth._truth_soc(2, lat, lon))
    land = synth._land_weights(grid) > 0
    correlation = {}
    for name in ("SYN-FAITHFUL", "SYN-MIX-050", "SYN-MIX-100"):
        csoil = model_field(root, name)
        ok = land & np.isfinite(csoil)
        correlation[name] = np.corrcoef(np.log(csoil[ok]), truth[ok])[0, 1]
    assert correlation["SYN-FAITHFUL"] > 0.95 > correlation["SYN-MIX-050"] > correlation["SYN-MIX-100"]
    assert correlation["SYN-MIX-100"] < 0.5


def test_extra_products_outlier_and_misread(role_world):
    root, manifest = role_world
    products = manifest["products"]
    assert products["Outlier-like"]["process"] == "outlier"
    assert products["Misread-like"]["units"] == "kg m-2" and products["Misread-like"]["value_per_kg_m2"] == 10.0
    _, values, units = synth._read_product(root / products["Misread-like"]["path"], "soc")
    _, hwsd, _ = synth._read_product(root / products["HWSD-like"]["path"], "soc")
    assert units == "kg m-2"
    assert np.nanmedian(values) / np.nanmedian(hwsd) == pytest.approx(10.0, rel=0.2)


def test_unknown_role_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown model role 'faithfull'"):
        synth.make_world(tmp_path, resolution=10.0, roles=["faithfull"])
    with pytest.raises(ValueError, match="duplicated model names"):
        synth.make_world(tmp_path, resolution=10.0, roles=["mix:0.5", "mix:0.5"])


def test_planted_shares_are_the_mean_absolute_components():
    rng = np.random.default_rng(0)
    n = 500
    covariates = {"temperature": rng.uniform(-5, 25, n), "precipitation": rng.uniform(200, 3000, n),
                  "npp": rng.uniform(0.1, 1.2, n), "clay": rng.uniform(5, 60, n),
                  "cn_ratio": rng.uniform(8, 30, n), "wetland": rng.uniform(0, 0.5, n)}
    shares = synth.planted_shares(covariates, np.ones(n))
    assert sum(shares.values()) == pytest.approx(1.0)
    wide_clay = dict(covariates, clay=rng.uniform(5, 60, n) * 0 + 25.0)  # no clay variation: no clay share
    assert synth.planted_shares(wide_clay, np.ones(n))["clay"] == pytest.approx(0.0, abs=1e-12)
    assert max(shares, key=shares.get) in ("clay", "temperature", "cn_ratio")


def test_replicates_have_their_roles_climate_unless_asked_otherwise():
    """SYN-FAITHFUL-2 has SYN-FAITHFUL's climate, SYN-DOUBLE-2 the faithful one's as SYN-DOUBLE does."""
    shared = {synth._model_spec(i, RESOLUTION).source_id: synth._model_spec(i, RESOLUTION).climate_index
              for i in range(8)}
    assert shared == {"SYN-FAITHFUL": None, "SYN-TEMPNPP": None, "SYN-DOUBLE": None, "SYN-UNRELATED": None,
                      "SYN-FAITHFUL-2": 0, "SYN-TEMPNPP-2": 1, "SYN-DOUBLE-2": 0, "SYN-UNRELATED-2": 3}
    assert all(synth._model_spec(i, RESOLUTION, replicates_share_climate=False).climate_index is None
               for i in range(8))
