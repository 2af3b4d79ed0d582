"""The shipped benchmarks: valid, their data in the registry, and runnable on look-alikes of the real files.

The look-alike files follow the documented layouts of the real products
(/work/shared/real-products.md: HWSD and NCSCD headers; ILAMB's region-file
convention) with generated data: "Kg/m2" units, 0 meaning "no data", no time
axis but scalar time attributes, _FillValue and a different missing_value,
no bounds. They are served from 127.0.0.1 with a registry of the shipped
paths, fetched with `socbench data fetch` (which also computes the C:N map),
and each shipped benchmark is run end to end on them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from helpers import Server
from ruamel.yaml import YAML

from socbench import synth
from socbench.cli import main
from socbench.config import load_definition
from socbench.data import benchmark_files, load_registry
from socbench.regions import WHITTAKER_BIOMES, whittaker_class
from socbench.resources import resource_dir

SHIPPED = sorted(p.stem for p in resource_dir("benchmarks").glob("*.yaml")
                 if p.stem != "demo" and not p.stem.startswith("registry"))  # registry-sources.yaml: the data sidecar
REAL = ["cmip-soc-climate", "cmip-soc-soil"]


def test_the_real_benchmarks_are_shipped():
    assert set(REAL) <= set(SHIPPED)


@pytest.mark.parametrize("name", [*SHIPPED, "demo"])
def test_every_shipped_benchmark_validates(name, capsys):
    assert main(["validate", str(resource_dir("benchmarks") / f"{name}.yaml")]) == 0
    assert f"valid benchmark definition {name!r}" in capsys.readouterr().out


#: A fixed CV block edge below this (degrees) leaks spatial autocorrelation into the CV R^2 (docs/method.md).
LEAKY_BLOCK_SIZE = 20.0


def method_violations(document: dict) -> list[str]:
    """What in a definition (its YAML, as written) the method calls deprecated or leaky."""
    from socbench.config import RENAMED_COMPONENTS
    from socbench.results import COMPONENTS

    found = []
    scores = document.get("scores") or {}
    for key in ("weights", "delta_min", "distance_max", "power"):
        renamed = sorted(set(scores.get(key) or {}) & set(RENAMED_COMPONENTS))
        if renamed:
            found.append(f"scores.{key} uses the deprecated name(s) {renamed}")
    missing = sorted(set(COMPONENTS) - set(scores.get("weights") or {}))
    if missing:
        found.append(f"scores.weights leaves out {missing}")
    block = ((document.get("learner") or {}).get("cv") or {}).get("block_size", "auto")
    if block != "auto" and float(block) < LEAKY_BLOCK_SIZE:
        found.append(f"learner.cv.block_size {block} is a fixed block below {LEAKY_BLOCK_SIZE:g} degrees (leaky)")
    return found


@pytest.mark.parametrize("name", [*SHIPPED, "demo"])
def test_no_shipped_benchmark_uses_a_deprecated_name_or_a_leaky_setting(name):
    """Issue 15 item 9: shipped definitions follow the method (docs/method.md, spatial cross-validation blocks)."""
    document = YAML(typ="safe").load((resource_dir("benchmarks") / f"{name}.yaml").read_text())
    assert method_violations(document) == [], name


def test_the_rule_catches_the_old_shipped_settings():
    old = {"learner": {"cv": {"block_size": 10, "folds": 5}},
           "scores": {"weights": {"importance": 0.35, "response": 0.35, "stock_bias": 0.15,
                                  "spatial_distribution": 0.15}}}
    found = method_violations(old)
    assert len(found) == 3 and "stock_bias" in found[0] and "leaky" in found[2]


def _data_paths(path: Path) -> list[str]:
    """Observation, covariate and region paths of a definition, read from the YAML itself."""
    document = YAML(typ="safe").load(path.read_text())
    paths = [o["path"] for o in document["observations"]]
    for covariate in document["covariates"].values():
        paths += [covariate[k]["path"] for k in ("obs", "shared") if k in covariate]
    if document.get("regions", {}).get("mask_path"):
        paths.append(document["regions"]["mask_path"])
    return paths


@pytest.mark.parametrize("name", REAL)
def test_every_data_file_is_registered_with_source_licence_and_citation(name):
    registry = load_registry()
    for path in _data_paths(resource_dir("benchmarks") / f"{name}.yaml"):
        assert path in registry.files, f"{name}: {path} is not in benchmarks/registry.txt"
        entry = registry.files[path]
        assert entry.url and entry.licence and entry.citation, path
    published = {p: f.known_hash for p, f in registry.files.items() if p.startswith(("cSoil/", "tas/", "pr/", "regions/"))}
    assert published["cSoil/HWSD/soilc_0.5x0.5.nc"] == "sha1:5dd084a66a7e0d0b4ca6125db47af0eb0c119377"
    assert all(h and h.startswith("sha1:") for h in published.values())
    assert registry.files["tas/CRU4.02/tas.nc"].url == "https://www.ilamb.org/ILAMB-Data/DATA/tas/CRU4.02/tas.nc"


# ------------------------------------------------------------------ look-alike files

LAT = np.arange(-89.75, 90, 0.5)
LON = np.arange(-179.75, 180, 0.5)


def _climate(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smooth MAT (degC) and MAP (mm/yr) fields."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    temperature = 28.0 - 0.55 * np.abs(la) + 3.0 * np.sin(np.radians(lo))
    precipitation = 300.0 + 2200.0 * np.exp(-(la / 25.0) ** 2) + 400.0 * np.cos(np.radians(2 * lo)) ** 2
    return temperature, precipitation


def _land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    from global_land_mask import globe

    la, lo = np.meshgrid(lat, lon, indexing="ij")
    return globe.is_land(la, lo)


def _soc(rng, scale: float = 1.0) -> np.ndarray:
    temperature, precipitation = _climate(LAT, LON)
    soc = scale * np.exp(2.5 - 0.04 * temperature + 0.0003 * precipitation) * rng.lognormal(0.0, 0.2, temperature.shape)
    return soc.astype("float32")


def _latlon(nc: netCDF4.Dataset, lat=LAT, lon=LON) -> None:
    nc.createDimension("lat", lat.size)
    nc.createDimension("lon", lon.size)
    for name, values, units in (("lat", lat, "degrees_north"), ("lon", lon, "degrees_east")):
        variable = nc.createVariable(name, "f8", (name,))
        variable[:] = values
        variable.units = units


def write_hwsd_like(path: Path, rng) -> None:
    """HWSD v1.2 layout: NETCDF3_CLASSIC, soilc Kg/m2, _FillValue -999 and missing_value -3.4e38, scalar time attributes."""
    land = _land(LAT, LON)
    soc = np.where(land, _soc(rng), -999.0).astype("float32")
    soc[land & (rng.random(land.shape) < 0.03)] = 0.0  # 0: no data
    _write_soilc(path, soc, {"long_name": "Soil Carbon in top 3 m", "missing_value": np.float32(-3.4e38),
                             "min": 0.0, "max": float(soc.max()), "projection": "+proj=longlat +datum=WGS84 +no_defs"})


def _write_soilc(path: Path, soc: np.ndarray, attributes: dict) -> None:
    """A NETCDF3_CLASSIC file of ``soilc`` (Kg/m2, _FillValue -999) as HWSD and NCSCD ship it."""
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as nc:
        _latlon(nc)
        variable = nc.createVariable("soilc", "f4", ("lat", "lon"), fill_value=-999.0)
        variable.set_auto_maskandscale(False)
        variable[:] = soc
        variable.setncatts({"units": "Kg/m2", **attributes, "time": 54788.0,
                            "time_unit": "No. of days since 1850-1-1", "calendar": "gregorian"})


def write_ncscd_like(path: Path, rng) -> None:
    """NCSCD v2.2 layout: as HWSD, missing_value -1, coordinates/esri_pe_string, 0 outside the permafrost domain."""
    land = _land(LAT, LON)
    soc = np.where(land, _soc(rng, 1.5), -999.0).astype("float32")
    soc[land & (LAT[:, None] < 50)] = 0.0
    _write_soilc(path, soc, {"long_name": "Soil Carbon in top 1 m", "missing_value": np.float32(-1.0),
                             "coordinates": "lon lat", "esri_pe_string": 'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]]'})


def write_map(path: Path, variable: str, values: np.ndarray, units: str, lat=LAT, lon=LON) -> None:
    """A plain (lat, lon) map with a _FillValue (HWSD2, Wang2024 and Koven npp)."""
    with netCDF4.Dataset(path, "w") as nc:
        _latlon(nc, lat, lon)
        field = nc.createVariable(variable, "f4", ("lat", "lon"), fill_value=np.float32(1e20))
        field[:] = np.ma.masked_invalid(values)
        field.units = units


def write_monthly(path: Path, variable: str, climate: np.ndarray, units: str, lat, lon, years=(1995, 2014)) -> None:
    """A monthly time series (CRU tas, GPCP pr) whose period mean is ``climate``."""
    n = 12 * (years[1] - years[0] + 1)
    cycle = np.sin(2 * np.pi * (np.arange(n) % 12) / 12.0)[:, None, None]
    with netCDF4.Dataset(path, "w") as nc:
        _latlon(nc, lat, lon)
        nc.createDimension("time", None)
        nc.createDimension("nb", 2)
        time = nc.createVariable("time", "f8", ("time",))
        time.units, time.calendar, time.bounds = f"days since {years[0]}-01-01", "noleap", "time_bnds"
        starts = np.arange(n) // 12 * 365.0 + np.tile(np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]), n // 12)
        ends = starts + np.tile([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], n // 12)
        time[:] = 0.5 * (starts + ends)
        nc.createVariable("time_bnds", "f8", ("time", "nb"))[:] = np.stack([starts, ends], axis=1)
        field = nc.createVariable(variable, "f4", ("time", "lat", "lon"), fill_value=np.float32(1e20))
        amplitude = 5.0 if units == "degC" else 0.3 * climate
        field[:] = np.ma.masked_invalid(climate[None] + amplitude * cycle)
        field.units = units


def write_whittaker_like(path: Path) -> None:
    """ILAMB's region convention: ids(lat, lon) = index into the labels/names string variables."""
    temperature, precipitation = _climate(LAT, LON)
    codes = whittaker_class(temperature, precipitation)
    ids = np.where(_land(LAT, LON) & (codes > 0), codes - 1, -999).astype("int32")
    with netCDF4.Dataset(path, "w") as nc:
        _latlon(nc)
        nc.createDimension("n", len(WHITTAKER_BIOMES))
        variable = nc.createVariable("ids", "i4", ("lat", "lon"), fill_value=-999)
        variable[:] = np.ma.masked_equal(ids, -999)
        variable.labels, variable.names = "labels", "names"
        labels, names = nc.createVariable("labels", str, ("n",)), nc.createVariable("names", str, ("n",))
        for index, name in enumerate(WHITTAKER_BIOMES.values()):
            labels[index] = name.split("/")[0].lower().replace(" ", "_")
            names[index] = name


def write_soilgrids_like(path: Path, values: np.ndarray) -> None:
    """A SoilGrids WCS answer: int16 GeoTIFF in EPSG:4326, nodata -32768, no units tag (0.5 deg here)."""
    import rioxarray  # noqa: F401
    import xarray as xr

    lat = np.arange(89.75, -60, -0.5)
    data = np.where(_land(lat, LON), values[LAT[::-1] >= -60], -32768).astype("int16")
    raster = xr.DataArray(data, dims=("y", "x"), coords={"y": lat, "x": LON})
    raster.rio.write_crs("EPSG:4326", inplace=True).rio.write_nodata(-32768, inplace=True).rio.to_raster(path)


def write_lookalikes(root: Path, rng) -> None:
    """Every registry file of the shipped benchmarks, at its registry path."""
    for sub in ("cSoil/HWSD", "cSoil/HWSD2", "cSoil/NCSCDV22", "cSoil/Wang2024", "cSoil/Koven", "tas/CRU4.02",
                "pr/GPCPv2.3", "regions", "soil/SoilGrids2"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    land = _land(LAT, LON)
    write_hwsd_like(root / "cSoil/HWSD/soilc_0.5x0.5.nc", rng)
    write_ncscd_like(root / "cSoil/NCSCDV22/soilc_0.5x0.5.nc", rng)
    write_map(root / "cSoil/HWSD2/hwsd2_cSoil.nc", "cSoil", np.where(land, _soc(rng, 0.8), np.nan), "Kg/m2")
    write_map(root / "cSoil/Wang2024/wang2024_cSoil.nc", "cSoil", np.where(land, _soc(rng, 1.1), 0.0), "Kg/m2")
    temperature, precipitation = _climate(LAT, LON)
    npp = 1.2 * (1 - np.exp(-precipitation / 1200.0)) * np.clip((temperature + 10) / 35.0, 0.02, 1)
    write_map(root / "cSoil/Koven/npp_0.5x0.5.nc", "npp", np.where(land, npp, np.nan), "kg m-2 yr-1")
    coarse_lat, coarse_lon = np.arange(-88.75, 90, 2.5), np.arange(-178.75, 180, 2.5)
    t_coarse, p_coarse = _climate(coarse_lat, coarse_lon)
    write_monthly(root / "tas/CRU4.02/tas.nc", "tas",
                  np.where(_land(coarse_lat, coarse_lon), t_coarse, np.nan), "degC", coarse_lat, coarse_lon)
    write_monthly(root / "pr/GPCPv2.3/pr.nc", "pr", p_coarse / 86400.0 / 365.0, "kg m-2 s-1", coarse_lat, coarse_lon)
    write_whittaker_like(root / "regions/Whittaker.nc")
    flipped = lambda field: field[::-1]  # noqa: E731  (GeoTIFF rows run north to south)
    write_soilgrids_like(root / "soil/SoilGrids2/clay_0-5cm_mean_0.1deg.tif",
                         flipped(np.clip(150 + 200 * np.cos(np.radians(LAT))[:, None] + 0 * LON, 0, 1000)))
    write_soilgrids_like(root / "soil/SoilGrids2/soc_0-5cm_mean_0.1deg.tif", flipped(10 * _soc(rng)))
    write_soilgrids_like(root / "soil/SoilGrids2/nitrogen_0-5cm_mean_0.1deg.tif",
                         flipped(np.clip(10 * _soc(rng) / rng.uniform(8, 20, land.shape) * 10, 1, 30000)))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Look-alike files served from 127.0.0.1 with a registry of the shipped paths and their sha256."""
    root = tmp_path_factory.mktemp("lookalike-source")
    write_lookalikes(root, np.random.default_rng(11))
    shipped = load_registry()
    files = {p: (root / p).read_bytes() for p in shipped.files if (root / p).is_file()}
    server = Server(files)
    server.thread.start()
    registry_dir = tmp_path_factory.mktemp("lookalike-registry")
    lines, sources = [], ["files:"]
    for path, entry in shipped.files.items():
        if entry.derive:
            lines.append(f"{path} -")
            ratio = ", ".join(entry.derive["ratio"])
            sources += [f"  {path}:", f"    derive: {{ratio: [{ratio}], factor: {entry.derive['factor']}, variable: "
                        f"{entry.derive['variable']}, units: '1'}}", "    licence: test", "    citation: test"]
        elif path in files:
            lines.append(f"{path} sha256:{hashlib.sha256(files[path]).hexdigest()}")
            sources += [f"  {path}:", f"    base_url: {server.url}", "    licence: test", "    citation: test"]
    (registry_dir / "registry.txt").write_text("\n".join(lines) + "\n")
    (registry_dir / "registry-sources.yaml").write_text("\n".join(sources) + "\n")
    yield registry_dir / "registry.txt", server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="module")
def cmip_world(tmp_path_factory) -> Path:
    """Two synthetic CMIP6 models (4 degrees, 1995-2014) with cSoil, tas, pr, npp and sftlf."""
    world = tmp_path_factory.mktemp("lookalike-cmip")
    synth.make_world(world, seed=5, resolution=4.0, n_models=2, n_products=3, years=(1995, 2014))
    return world


def light_copy(name: str, target: Path) -> Path:
    """The shipped definition with light learner settings (the data sections untouched)."""
    yaml = YAML()
    document = yaml.load((resource_dir("benchmarks") / f"{name}.yaml").read_text())
    document["analysis_grid"]["resolution"] = 4.0
    document["regions"]["min_cells"] = 15
    document["learner"].update({"params": {"max_iter": 40, "learning_rate": 0.2, "max_depth": 3}, "bootstraps": 0,
                                "max_explain_cells": 300, "cv": {"block_size": 20, "folds": 3}})
    path = target / f"{name}.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    return path


@pytest.mark.parametrize("name", REAL)
def test_shipped_benchmark_runs_on_lookalike_files(name, served, cmip_world, tmp_path, capsys):
    registry, server = served
    data_dir = tmp_path / "data"
    definition_path = light_copy(name, tmp_path)
    assert main(["data", "fetch", str(definition_path), "--registry", str(registry), "--dir", str(data_dir)]) == 0
    wanted = {e.path for e in benchmark_files(str(definition_path), load_registry(registry))}
    assert all((data_dir / p).is_file() for p in wanted)
    (data_dir / "CMIP6").symlink_to(cmip_world / "CMIP6")
    out = tmp_path / "scorecard"
    code = main(["run", str(definition_path), "--data-root", str(data_dir), "--out", str(out), "--workers", "1",
                 "--no-cache", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    definition, _ = load_definition(definition_path)
    import pandas as pd

    scores = pd.read_csv(out / "scores.csv")
    assert scores["model"].nunique() == 2
    table = scores[scores["region"] == "global"].pivot(index="model", columns="metric", values="value")
    assessments = pd.read_csv(out / "assessments.csv")
    assessments = assessments[assessments["region"] == "global"]
    nulls = pd.read_csv(out / "nulls.csv")
    null_overall = nulls[(nulls["region"] == "global") & (nulls["metric"] == "overall")]["value"]
    for model, row in table.iterrows():  # overall: the weighted mean of its components (weights as assessed)
        weights = assessments[assessments["model"] == model].set_index("metric")["overall_weight"]
        present = weights[weights > 0]
        expected = (row[present.index].fillna(0.0) * present).sum() / present.sum()
        if (assessments[assessments["model"] == model]["status"] == "capped").any():  # reasons unreadable
            expected = min(expected, float(null_overall.iloc[0]))
        assert row["overall"] == pytest.approx(expected, abs=1e-9), model
    assert table["overall"].nunique() == 2  # the two models are told apart
    regions = pd.read_csv(out / "regions.csv")
    biomes = set(regions["region"]) - {"global"}
    assert len(biomes) >= 2 and biomes <= set(WHITTAKER_BIOMES.values())  # named by the region file's 'names'
    emulators = pd.read_csv(out / "emulators.csv")
    assert {"HWSD", "HWSD2", "NCSCDv2.2", "Wang2024"} <= set(emulators["dataset"])
    assert len(definition.covariates) == (5 if name == "cmip-soc-soil" else 3)
