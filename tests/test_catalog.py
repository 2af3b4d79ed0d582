"""Model discovery from an intake-esm (ESM collection) catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from socbench import synth
from socbench.catalog import read_catalog
from socbench.config import load_definition
from socbench.discover import find_drs_files
from socbench.errors import DefinitionError, InputDataError
from socbench.prepare import discover_models as pipeline_discover
from socbench.resources import benchmark_path

CATALOG_COLUMNS = ["activity_id", "institution_id", "source_id", "experiment_id", "member_id", "table_id",
                   "variable_id", "grid_label", "version", "path"]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    world = tmp_path_factory.mktemp("catalog-world")
    synth.make_world(world, seed=3, resolution=4.0, n_models=2, n_products=3)
    return world


def write_catalog(directory: Path, table: pd.DataFrame, name: str = "cmip6", csv_name: str | None = None,
                  column: str = "path") -> Path:
    """An ESM collection JSON plus its CSV (catalog_file relative to the JSON)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_name = csv_name or f"{name}.csv"
    table.to_csv(directory / csv_name, index=False)
    spec = {
        "esmcat_version": "0.1.0",
        "id": name,
        "description": "test catalogue",
        "catalog_file": csv_name,
        "attributes": [{"column_name": c} for c in table.columns if c != column],
        "assets": {"column_name": column, "format": "netcdf"},
        "aggregation_control": {
            "variable_column_name": "variable_id",
            "groupby_attrs": ["source_id", "experiment_id", "table_id", "grid_label"],
            "aggregations": [{"type": "union", "attribute_name": "variable_id"}],
        },
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(spec, indent=1))
    return path


def drs_table(world: Path) -> pd.DataFrame:
    files = find_drs_files(world / "CMIP6")
    table = files[CATALOG_COLUMNS].copy()
    table["path"] = table["path"].map(str)
    return table


def discover(world: Path, models: dict) -> dict:
    """The models the demo definition finds under ``world`` with the given ``models`` section."""
    definition, _ = load_definition(benchmark_path("demo"))
    definition = definition.model_copy(update={"models": type(definition.models).model_validate(models)})
    return pipeline_discover(definition, world)


def test_catalogue_finds_the_same_models_as_the_drs_tree(world, tmp_path):
    catalog = write_catalog(tmp_path / "catalogs", drs_table(world))
    relative = Path("..") / catalog.relative_to(tmp_path)  # data_root-relative, via a parent directory
    world_link = tmp_path / "root"
    world_link.mkdir()
    from_drs = discover(world, {"drs_root": "CMIP6"})
    from_catalog = discover(world_link, {"catalog": str(relative)})
    assert len(from_drs) == 2
    assert from_catalog == from_drs  # names, members, files (same paths, same order), variables
    model = next(iter(from_catalog.values()))
    assert {"cSoil", "tas", "pr", "sftlf"} <= set(model.files)
    assert sum(len(files) for files in model.files.values()) >= 4
    faithful = from_catalog["SYN-FAITHFUL"]  # cSoil has v20180101 and v20190308, members r1 and r2
    assert faithful.member == "r1i1p1f1"
    assert all("v20190308" in str(p) for files in faithful.files.values() for p in files)


def test_catalogue_table_matches_find_drs_files(world, tmp_path):
    catalog = write_catalog(tmp_path, drs_table(world))
    table = read_catalog(catalog)
    drs = find_drs_files(world / "CMIP6")
    assert list(table.columns) == list(drs.columns)
    pd.testing.assert_frame_equal(table.drop(columns="mip_era"), drs.drop(columns="mip_era"), check_dtype=False)


def test_relative_paths_and_cmip5_style_columns(world, tmp_path):
    """Asset paths relative to the JSON; CMIP5 column names (model, ensemble_member, ...) and no grid label."""
    table = drs_table(world).drop(columns=["grid_label"])
    table = table.rename(columns={"source_id": "model", "experiment_id": "experiment", "member_id": "ensemble_member",
                                  "table_id": "mip_table", "variable_id": "variable", "path": "file"})
    catalog_dir = world.parent / f"{world.name}-catalog"
    table["file"] = [str(Path("..") / world.name / Path(p).relative_to(world)) for p in table["file"]]
    catalog = write_catalog(catalog_dir, table, column="file")
    found = read_catalog(catalog)
    assert (found["grid_label"] == "").all()
    assert all(p.is_file() for p in found["path"])
    models = discover(world, {"catalog": str(catalog)})
    assert set(models) == set(discover(world, {"drs_root": "CMIP6"}))


def test_catalogue_with_a_missing_column_is_named(world, tmp_path):
    catalog = write_catalog(tmp_path, drs_table(world).drop(columns=["member_id"]), csv_name="no_member.csv")
    with pytest.raises(InputDataError, match=r"no_member\.csv: catalogue has no column 'member_id'"):
        discover(world, {"catalog": str(catalog)})


def test_catalogue_without_its_asset_column(world, tmp_path):
    catalog = write_catalog(tmp_path, drs_table(world), csv_name="assets.csv", column="zstore")
    with pytest.raises(InputDataError, match=r"assets\.csv: catalogue has no column 'zstore'"):
        read_catalog(catalog)


def test_catalogue_errors_name_the_file(world, tmp_path):
    with pytest.raises(InputDataError, match=r"nowhere\.json: catalogue file not found"):
        read_catalog(tmp_path / "nowhere.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"catalog_file": "x.csv"}')
    with pytest.raises(InputDataError, match=r"bad\.json: not an ESM collection"):
        read_catalog(bad)
    catalog = write_catalog(tmp_path, drs_table(world), name="gone")
    (tmp_path / "gone.csv").unlink()
    with pytest.raises(InputDataError, match=r"gone\.csv: catalog_file of the catalogue .*gone\.json not found"):
        read_catalog(catalog)


def test_other_asset_formats_refused(world, tmp_path):
    catalog = write_catalog(tmp_path, drs_table(world))
    spec = json.loads(catalog.read_text())
    spec["assets"]["format"] = "grib"
    catalog.write_text(json.dumps(spec))
    with pytest.raises(InputDataError, match=r"catalogue lists grib assets; socbench reads netCDF files and zarr stores"):
        read_catalog(catalog)


# ------------------------------------------------------------------ zarr stores (Pangeo-style catalogues)

PANGEO_COLUMNS = ["activity_id", "institution_id", "source_id", "experiment_id", "member_id", "table_id",
                  "variable_id", "grid_label", "zstore", "dcpp_init_year", "version"]


def zarr_catalogue(world: Path, directory: Path) -> Path:
    """One zarr store per dataset (the whole time series, as in Pangeo's CMIP6 catalogue) and a catalogue of them."""
    pytest.importorskip("zarr")
    files = find_drs_files(world / "CMIP6")
    keys = ["source_id", "experiment_id", "member_id", "table_id", "variable_id", "grid_label", "version"]
    rows = []
    for key, group in files.groupby(keys):
        facets = dict(zip(keys, key))
        first = group.iloc[0]
        store = directory / "stores" / "/".join(str(facets[k]) for k in keys)
        paths = sorted(group["path"], key=str)
        ds = xr.open_mfdataset(paths, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True),
                               combine="by_coords", data_vars="minimal") if len(paths) > 1 else xr.open_dataset(
            paths[0], decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
        with ds:
            ds.load().to_zarr(store, mode="w", consolidated=True)
        relative = store.relative_to(directory)
        rows.append({**facets, "activity_id": first["activity_id"], "institution_id": first["institution_id"],
                     "zstore": str(relative) + "/", "dcpp_init_year": ""})
    table = pd.DataFrame(rows)[PANGEO_COLUMNS]
    catalog = write_catalog(directory, table, name="pangeo-like", column="zstore")
    spec = json.loads(catalog.read_text())
    spec["assets"]["format"] = "zarr"
    catalog.write_text(json.dumps(spec))
    return catalog


@pytest.fixture(scope="module")
def zarr_catalog(world, tmp_path_factory) -> Path:
    return zarr_catalogue(world, tmp_path_factory.mktemp("zarr-catalogue"))


def test_zarr_catalogue_finds_the_models_of_the_drs_tree(world, zarr_catalog):
    from socbench.catalog import is_zarr_store

    table = read_catalog(zarr_catalog)
    assert all(is_zarr_store(p) and p.is_dir() for p in table["path"])
    assert (table["time_range"] == "").all()
    from_drs = discover(world, {"drs_root": "CMIP6"})
    from_zarr = discover(world, {"catalog": str(zarr_catalog)})
    assert set(from_zarr) == set(from_drs) and len(from_zarr) == 2
    for name, model in from_zarr.items():
        assert model.member == from_drs[name].member
        assert set(model.files) == set(from_drs[name].files)
        assert all(len(stores) == 1 for stores in model.files.values())  # one store per dataset
    faithful = from_zarr["SYN-FAITHFUL"]
    assert all("v20190308" in str(p) for stores in faithful.files.values() for p in stores)


def test_zarr_store_reads_like_the_netcdf_files(world, zarr_catalog):
    from socbench.inputs import FieldRequest, read_field

    from_drs = discover(world, {"drs_root": "CMIP6"})["SYN-FAITHFUL"]
    from_zarr = discover(world, {"catalog": str(zarr_catalog)})["SYN-FAITHFUL"]
    for variable, units in (("cSoil", "kg m-2"), ("tas", "degC"), ("pr", "mm yr-1")):
        netcdf = read_field(FieldRequest(tuple(from_drs.files[variable]), variable, units), 2010, 2014)
        zarr = read_field(FieldRequest(tuple(from_zarr.files[variable]), variable, units), 2010, 2014)
        np.testing.assert_allclose(zarr[variable].values, netcdf[variable].values, rtol=1e-6)
        assert zarr.attrs["source_files"] == [str(from_zarr.files[variable][0])]


def test_zarr_provenance_and_errors(world, zarr_catalog, tmp_path):
    from socbench.catalog import open_zarr_store, store_fingerprint
    from socbench.provenance import file_sha256

    store = read_catalog(zarr_catalog)["path"].iloc[0]
    assert file_sha256(str(store)) == store_fingerprint(store) and len(store_fingerprint(store)) == 64
    assert store_fingerprint("gs://cmip6/CMIP6/x/v20190308") == "remote"
    with pytest.raises(InputDataError, match=r"variable 'nope': variable is absent; variables present: "):
        open_zarr_store(store, "nope")
    with pytest.raises(InputDataError, match=r"missing\.zarr, variable 'tas': cannot be opened as a zarr store"):
        open_zarr_store(tmp_path / "missing.zarr", "tas")


def test_zarr_catalogue_end_to_end(world, zarr_catalog, small_definition):
    """A run whose models all come from a catalogue of zarr stores scores them all."""
    from socbench.pipeline import run

    models = {"catalog": str(zarr_catalog), "experiment": "historical"}
    definition = small_definition.model_copy(update={"models": type(small_definition.models).model_validate(models)})
    learner = definition.learner.model_copy(update={"bootstraps": 0, "max_explain_cells": 300})
    definition = definition.model_copy(update={"learner": learner})
    result = run(definition, world, workers=1)
    assert set(result.failures["kind"]) <= {"observation"}  # the world has 3 of the demo's 4 products
    assert result.scores["model"].nunique() == 2 and result.scores["value"].notna().any()
    assert any(str(zarr_catalog.parent) in f for f in result.provenance["input_files"])


def test_definition_accepts_catalog_alone(tmp_path):
    from ruamel.yaml import YAML

    yaml = YAML()
    document = yaml.load(benchmark_path("demo").read_text())
    document["models"] = {"catalog": "catalogs/cmip6.json"}
    path = tmp_path / "def.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    definition, _ = load_definition(path)
    assert definition.models.catalog == "catalogs/cmip6.json" and definition.models.drs_root is None
    document["models"] = {"experiment": "historical"}
    with path.open("w") as handle:
        yaml.dump(document, handle)
    with pytest.raises(DefinitionError, match=r"'drs_root', 'catalog' or a list of 'explicit' models"):
        load_definition(path)
