"""Tests of the real-like synthetic world (``socbench synth OUTDIR --world real-like``).

Everything is measured from the written files (netCDF4/xarray) against what
``truth.json`` and docs/synthetic-world.md document, not from the generator's
internals: the layout and unit quirks, the products' noise, and the planted
relations of every model role.
"""

from __future__ import annotations

import json
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from socbench.cli import main
from socbench.regions import whittaker_class

RESOLUTION = 3.0
SECONDS_PER_YEAR = 365.0 * 86400.0
PRODUCTS = {  # name: (file, variable, units, kg m-2 per unit)
    "HWSD-like": ("obs/soc/HWSD-like/hwsd_like_soilc.nc", "soilc", "Kg/m2", 1.0),
    "Merged-like": ("obs/soc/Merged-like/merged_like_soc.nc", "soc", "Mg ha-1", 0.1),
    "NCSCD-like": ("obs/soc/NCSCD-like/ncscd_like_socc.nc", "SOCC", "hg m-2", 0.1),
}
ROLES = {
    "RL-FAITHFUL": "faithful", "RL-FAITHFUL-R2": "replicate", "RL-FAITHFUL-R3": "replicate",
    "RL-STEEP2": "steep", "RL-STEEP4": "steep", "RL-MIRRORP": "mirror", "RL-DOUBLE": "double",
    "RL-WRONGDRIVER": "wrong-driver", "RL-NOISE": "noise",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reallike")
    assert main(["synth", str(root), "--world", "real-like", "--resolution", str(RESOLUTION)]) == 0
    return root


@pytest.fixture(scope="module")
def truth(world) -> dict:
    return json.loads((world / "truth.json").read_text())


# ------------------------------------------------------------------ reading the files


def _read(path: Path, variable: str) -> xr.DataArray:
    with xr.open_dataset(path, decode_times=False) as ds:
        data = ds[variable].load()
    return data.mean("time") if "time" in data.dims else data


def _shared_precipitation(world: Path, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """The CMAP-like MAP (mm yr-1) interpolated to points, from its monthly mm/day climatology."""
    precip = _read(world / "obs/covariates/cmap_like_precip.nc", "precip").sortby("lat") * 365.0
    lon360 = precip.lon.values
    wrapped = xr.concat([precip.assign_coords(lon=lon360 - 360.0), precip, precip.assign_coords(lon=lon360 + 360.0)],
                        dim="lon")
    points = wrapped.interp(lat=xr.DataArray(lat.ravel(), dims="p"), lon=xr.DataArray(lon.ravel() % 360.0, dims="p"))
    return points.values.reshape(lat.shape)


def _planted(truth: dict, temperature, precipitation, rh) -> np.ndarray:
    """ln SOC of the documented process (truth.json), with the documented amplitudes."""
    process = truth["truth"]
    amplitude, reference = process["amplitudes"], process["reference_values"]
    return (process["C0"] + amplitude["temperature"] * (temperature - reference["temperature"])
            + amplitude["precipitation"] * np.log(precipitation / reference["precipitation"])
            + amplitude["rh"] * np.log(rh / reference["rh"]))


def _model(world: Path, truth: dict, name: str) -> dict:
    """A model's fields on its grid (land north of 60S): drivers in canonical units, cSoil, weights."""
    csoil_path = world / truth["models"][name]["path"]
    folder = csoil_path.parents[4]

    def one(table: str, variable: str) -> xr.DataArray:
        return _read(next((folder / table / variable).rglob("*.nc")), variable)

    csoil = one("Emon", "cSoil")
    lat2, lon2 = np.meshgrid(csoil.lat.values, csoil.lon.values, indexing="ij")
    weights = one("fx", "areacella").values * one("fx", "sftlf").values / 100.0
    land = np.isfinite(csoil.values) & (weights > 0) & (lat2 >= -60.0)
    return {"temperature": one("Amon", "tas").values[land] - 273.15,
            "precipitation": _shared_precipitation(world, lat2, lon2)[land],
            "rh": one("Lmon", "rh").values[land] * SECONDS_PER_YEAR,
            "csoil": csoil.values[land], "weights": weights[land]}


def _fit(columns: list, target: np.ndarray, weights: np.ndarray) -> tuple:
    """Weighted least squares: (coefficients after the intercept, R^2)."""
    design = np.column_stack([np.ones_like(target), *columns])
    root = np.sqrt(weights)
    coef, *_ = np.linalg.lstsq(design * root[:, None], target * root, rcond=None)
    residual = target - design @ coef
    mean = np.average(target, weights=weights)
    r2 = 1.0 - np.average(residual**2, weights=weights) / np.average((target - mean) ** 2, weights=weights)
    return coef[1:], float(r2)


def _driver_fit(model: dict) -> tuple:
    columns = [model["temperature"], np.log(model["precipitation"]), np.log(model["rh"])]
    return _fit(columns, np.log(model["csoil"]), model["weights"])


def _stock_pg(model: dict) -> float:
    return float(np.sum(model["csoil"] * model["weights"]) / 1e12)


# ------------------------------------------------------------------ layout


def test_world_has_the_documented_files_and_unit_quirks(world, truth):
    assert truth["world"] == "real-like" and truth["model_roles"] == ROLES
    for name, (path, variable, units, _) in PRODUCTS.items():
        with netCDF4.Dataset(world / path) as nc:
            assert nc[variable].units == units, name
            lat = nc["lat"][:]
            if name == "Merged-like":
                assert lat[0] > lat[-1] and nc["lon"][:].min() > 0.0
            if name == "NCSCD-like":
                assert nc["lat_bnds"][:].min() >= 50.0
    with netCDF4.Dataset(world / "obs/covariates/cmap_like_precip.nc") as nc:
        assert nc["precip"].units == "mm/day" and nc["time"].size == 12 and "climatology" in nc["time"].ncattrs()
        assert np.all(np.isfinite(nc["precip"][:].filled(np.nan)))  # global, one field for every dataset
    with netCDF4.Dataset(world / "obs/covariates/cardamom_like_rh.nc") as nc:
        rh = nc["rh"][:].filled(np.nan)
        assert nc["rh"].units == "gC m-2 d-1" and (rh == 0.0).mean() > 0.4  # 0 means no data (ocean)
    for name in ROLES:
        folder = (world / truth["models"][name]["path"]).parents[4]
        for table, variable in (("Amon", "tas"), ("Lmon", "rh"), ("Emon", "cSoil"), ("fx", "sftlf"),
                                ("fx", "areacella")):
            assert list((folder / table / variable).rglob(f"{variable}_{table}_{name}_*.nc")), (name, variable)


def test_benchmark_definition_runs_on_this_layout():
    assert main(["validate", str(Path(__file__).parents[1] / "benchmarks" / "real-like.yaml")]) == 0


# ------------------------------------------------------------------ products


def _product_on_driver_grid(world: Path, truth: dict) -> dict:
    """HWSD-like with the observed drivers (it shares their grid): ln SOC, planted ln SOC, biomes, weights."""
    path, variable, _, per_unit = PRODUCTS["HWSD-like"]
    soc = _read(world / path, variable)
    temperature = _read(world / "obs/covariates/wfdei_like_tair.nc", "Tair") - 273.15
    rh = _read(world / "obs/covariates/cardamom_like_rh.nc", "rh") * 365.2425 / 1000.0
    assert np.allclose(soc.lat, temperature.lat) and np.allclose(soc.lon, temperature.lon)
    lat2, lon2 = np.meshgrid(soc.lat.values, soc.lon.values, indexing="ij")
    precipitation = _shared_precipitation(world, lat2, lon2)
    valid = np.isfinite(soc.values) & np.isfinite(temperature.values) & (rh.values > 0)
    planted = _planted(truth, temperature.values[valid], precipitation[valid], rh.values[valid])
    return {"ln_soc": np.log(soc.values[valid] * per_unit), "planted": planted,
            "temperature": temperature.values[valid], "precipitation": precipitation[valid], "rh": rh.values[valid],
            "biome": whittaker_class(temperature.values[valid], precipitation[valid]),
            "weights": np.cos(np.deg2rad(lat2[valid]))}


def test_products_are_truth_plus_large_documented_noise(world, truth):
    product = _product_on_driver_grid(world, truth)
    residual = product["ln_soc"] - product["planted"]
    noise = truth["products"]["HWSD-like"]["noise_std"]
    documented = np.hypot(noise["smooth"], noise["white"])
    assert abs(np.std(residual) - documented) < 0.12 * documented
    # lognormal noise with its mean divided out: the product's stock is the truth's x the nominal bias
    bias = truth["products"]["HWSD-like"]["bias"]
    assert np.mean(residual) == pytest.approx(np.log(bias) - documented**2 / 2.0, abs=0.1)
    # the noise is unrelated to the drivers: the product carries the planted effects, unbiased
    columns = [product["temperature"], np.log(product["precipitation"]), np.log(product["rh"])]
    coef, _ = _fit(columns, residual, product["weights"])
    assert np.all(np.abs(coef / np.array([0.05, 0.35, 0.45])) < 0.25), coef
    # the truth explains a minority of the product's variance globally ...
    share = np.var(product["planted"]) / np.var(product["ln_soc"])
    assert 0.15 < share < 0.45
    # ... and much less inside a biome, where the climate gradient is gone
    for code in np.unique(product["biome"]):
        inside = product["biome"] == code
        if inside.sum() >= 100:
            assert np.var(product["planted"][inside]) / np.var(product["ln_soc"][inside]) < 0.2, code


def test_regional_product_covers_the_north_only(world, truth):
    path, variable, _, per_unit = PRODUCTS["NCSCD-like"]
    soc = _read(world / path, variable)
    assert float(soc.lat.min()) > 50.0 and np.isfinite(soc.values).sum() > 50
    assert truth["products"]["NCSCD-like"]["stock_pg"] < 0.5 * truth["products"]["HWSD-like"]["stock_pg"]


# ------------------------------------------------------------------ models


@pytest.fixture(scope="module")
def fits(world, truth) -> dict:
    return {name: _driver_fit(_model(world, truth, name)) for name in ROLES}


def test_faithful_models_follow_the_planted_process(fits, truth):
    amplitudes = truth["truth"]["amplitudes"]
    for name in ("RL-FAITHFUL", "RL-FAITHFUL-R2", "RL-FAITHFUL-R3", "RL-DOUBLE"):
        coef, r2 = fits[name]
        assert r2 > 0.95, name
        assert coef[0] == pytest.approx(amplitudes["temperature"], rel=0.1), name
        assert coef[1] == pytest.approx(amplitudes["precipitation"], rel=0.2), name
        assert coef[2] == pytest.approx(amplitudes["rh"], rel=0.1), name


def test_steeper_models_have_the_documented_rh_sensitivity_ratio(fits, truth):
    faithful = fits["RL-FAITHFUL"][0]
    for name in ("RL-STEEP2", "RL-STEEP4"):
        coef, r2 = fits[name]
        ratio = truth["sensitivity_ratios"][name]
        assert ratio["rh"] in (2.0, 4.0) and ratio["temperature"] == ratio["precipitation"] == 1.0
        assert coef[2] / faithful[2] == pytest.approx(ratio["rh"], rel=0.1), name
        assert coef[0] == pytest.approx(faithful[0], rel=0.15) and r2 > 0.95, name


def test_mirror_model_has_the_opposite_precipitation_response(fits, truth):
    coef, r2 = fits["RL-MIRRORP"]
    assert r2 > 0.95
    assert coef[1] == pytest.approx(-truth["truth"]["amplitudes"]["precipitation"], rel=0.2)
    assert coef[2] == pytest.approx(truth["truth"]["amplitudes"]["rh"], rel=0.1)


def test_wrong_driver_and_noise_models(world, truth, fits):
    wrong = _model(world, truth, "RL-WRONGDRIVER")
    log_p = np.log(wrong["precipitation"])
    _, hump_r2 = _fit([log_p, log_p**2], np.log(wrong["csoil"]), wrong["weights"])
    assert hump_r2 > 0.9  # a function of precipitation alone, not the planted process
    with_t = _fit([log_p, log_p**2, wrong["temperature"], np.log(wrong["rh"])], np.log(wrong["csoil"]),
                  wrong["weights"])[1]
    assert with_t - hump_r2 < 0.02  # temperature and rh add nothing
    assert fits["RL-NOISE"][1] < 0.3  # the drivers explain little of the noise model


def test_model_stocks(world, truth):
    stocks = {name: _stock_pg(_model(world, truth, name)) for name in ROLES}
    assert stocks["RL-DOUBLE"] / stocks["RL-FAITHFUL"] == pytest.approx(2.0, rel=0.03)
    observed = truth["stocks_pg"]["truth"]
    for name in ("RL-FAITHFUL", "RL-STEEP2", "RL-STEEP4", "RL-MIRRORP", "RL-WRONGDRIVER", "RL-NOISE"):
        assert stocks[name] == pytest.approx(observed, rel=0.06), name


def test_model_and_product_counts_are_refused_for_the_real_like_world(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "w"), "--world", "real-like", "--models", "3"]) != 0
    assert "--models and --products do not apply to --world real-like" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_replicates_are_ensemble_members_unless_asked_otherwise(world, truth, tmp_path):
    """RL-FAITHFUL-R2 and -R3 have RL-FAITHFUL's grid and drivers and noise of their own; with
    replicates_share_grid=False each has a grid of its own (so regridding changes its data too)."""
    from socbench.synth_reallike import make_reallike_world

    def fields(root, manifest, name):
        path = root / manifest["models"][name]["path"]
        folder = path.parents[4]
        tas = _read(next((folder / "Amon" / "tas").rglob("*.nc")), "tas")
        return tas, _read(path, "cSoil")

    tas, csoil = fields(world, truth, "RL-FAITHFUL")
    for name in ("RL-FAITHFUL-R2", "RL-FAITHFUL-R3"):
        assert truth["models"][name]["grid"] == truth["models"]["RL-FAITHFUL"]["grid"]
        assert "ensemble member" in truth["models"][name]["role"]
        tas_r, csoil_r = fields(world, truth, name)
        np.testing.assert_array_equal(tas_r.values, tas.values)
        ratio = np.log(csoil_r.values / csoil.values)
        ratio = ratio[np.isfinite(ratio)]
        assert 0.08 < np.std(ratio) < 0.15  # two independent draws of 0.08 white noise: sqrt(2) x 0.08
    own = make_reallike_world(tmp_path / "own", seed=0, resolution=RESOLUTION, replicates_share_grid=False)
    grids = [own["models"][name]["grid"] for name in ("RL-FAITHFUL", "RL-FAITHFUL-R2", "RL-FAITHFUL-R3")]
    assert grids[0] != grids[1] and grids[0] != grids[2] and grids[1] != grids[2]
    assert "its own grid and noise" in own["models"]["RL-FAITHFUL-R2"]["role"]
