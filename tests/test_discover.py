"""Discovery of model files in CMIP6 and CMIP5 DRS trees (synthetic trees of empty files)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from socbench.discover import discover_models, find_drs_files, latest_versions, version_key
from socbench.errors import InputDataError

WANTED = {"cSoil": "Emon", "tas": "Amon", "pr": "Amon"}


def cmip6(root: Path, source: str, member: str, table: str, variable: str, grid: str = "gn",
          version: str = "v20190101", years=((1850, 1899), (1900, 1949)), experiment: str = "historical",
          institution: str = "INST", activity: str = "CMIP") -> list[Path]:
    """Empty files of one CMIP6 dataset (one per time chunk; one file for fx)."""
    directory = (root / "CMIP6" / activity / institution / source / experiment / member / table / variable / grid
                 / version)
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{variable}_{table}_{source}_{experiment}_{member}_{grid}"
    suffixes = ("", "") if table == "day" else ("01", "12")
    names = [f"{stem}.nc"] if table == "fx" else [f"{stem}_{a}{suffixes[0]}-{b}{suffixes[1]}.nc" for a, b in years]
    paths = [directory / name for name in names]
    for path in paths:
        path.touch()
    return paths


def full_model(root: Path, source: str, member: str = "r1i1p1f1", **kwargs) -> None:
    for variable, table in WANTED.items():
        cmip6(root, source, member, table, variable, **kwargs)


def cmip5(root: Path, model: str, ensemble: str, table: str, variable: str, version: str = "v20120101",
          frequency: str = "mon", realm: str = "land", swap: bool = False) -> Path:
    base = root / "cmip5" / "output1" / "INST" / model / "historical" / frequency / realm / table / ensemble
    directory = base / variable / version if swap else base / version / variable
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "" if table == "fx" else "_185001-200512"
    path = directory / f"{variable}_{table}_{model}_historical_{ensemble}{suffix}.nc"
    path.touch()
    return path


# ------------------------------------------------------------------ find_drs_files


def test_cmip6_facets_and_time_ranges(tmp_path):
    cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil")
    cmip6(tmp_path, "M1", "r1i1p1f1", "day", "tas", years=((18500101, 18991231),))
    cmip6(tmp_path, "M1", "r1i1p1f1", "fx", "sftlf")
    files = find_drs_files(tmp_path / "CMIP6")
    assert len(files) == 4
    row = files[files["table_id"] == "Emon"].iloc[0]
    assert row[["mip_era", "activity_id", "institution_id", "source_id", "experiment_id", "member_id", "table_id",
                "variable_id", "grid_label", "version"]].tolist() == [
        "CMIP6", "CMIP", "INST", "M1", "historical", "r1i1p1f1", "Emon", "cSoil", "gn", "v20190101"]
    assert (row["start"], row["end"], row["start_year"], row["end_year"]) == ("185001", "189912", 1850, 1899)
    assert row["path"].is_file()
    daily = files[files["table_id"] == "day"].iloc[0]
    assert (daily["time_range"], daily["start_year"], daily["end_year"]) == ("18500101-18991231", 1850, 1899)
    fx = files[files["table_id"] == "fx"].iloc[0]
    assert fx["time_range"] == "" and pd.isna(fx["start_year"])
    # the parent of the CMIP6 directory works as well, and facets filter the walk
    assert len(find_drs_files(tmp_path)) == 4
    assert find_drs_files(tmp_path, variable_id=["cSoil", "sftlf"])["variable_id"].tolist() == ["cSoil", "cSoil", "sftlf"]


def test_stray_files_and_directories_are_ignored(tmp_path):
    good = cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil")
    root = tmp_path / "CMIP6"
    (root / "README.txt").write_text("not data")
    (root / "CMIP" / "INST" / "notes.nc").touch()  # file at the wrong depth
    version_dir = good[0].parent
    (version_dir / "cSoil_Emon_M1_historical_r1i1p1f1_gn_185001-189912.nc.part").touch()
    (version_dir / ".cSoil_Emon_M1_hidden.nc").touch()
    (version_dir / "checksums.nc").touch()  # not a CMOR name of this variable
    (version_dir / "subdir.nc").mkdir()
    member_dir = root / "CMIP" / "INST" / "M1" / "historical"
    (member_dir / "scratch" / "Emon" / "cSoil" / "gn" / "v1").mkdir(parents=True)
    (member_dir / "scratch" / "Emon" / "cSoil" / "gn" / "v1" / "cSoil_x.nc").touch()  # not a member label
    (member_dir / "r1i1p1f1" / "Emon" / "cSoil" / "gn" / "tmp").mkdir()
    (member_dir / "r1i1p1f1" / "Emon" / "cSoil" / "gn" / "tmp" / "cSoil_y.nc").touch()  # not a version
    (member_dir / "r1i1p1f1" / "Emon" / "cSoil" / "gn" / "v20190101" / "deeper").mkdir()
    (member_dir / "r1i1p1f1" / "Emon" / "cSoil" / "gn" / "v20190101" / "deeper" / "cSoil_z.nc").touch()
    files = find_drs_files(root)
    assert sorted(files["path"]) == sorted(good)


def test_cmip5_layout_maps_to_cmip6_facets(tmp_path):
    a = cmip5(tmp_path, "CanESM2", "r1i1p1", "Lmon", "cSoil")
    b = cmip5(tmp_path, "CanESM2", "r1i1p1", "Amon", "tas", realm="atmos", swap=True)  # variable/version mirrors
    c = cmip5(tmp_path, "CanESM2", "r0i0p0", "fx", "sftlf", frequency="fx", realm="atmos")
    (tmp_path / "cmip5" / "output1" / "INST" / "CanESM2" / "historical" / "mon" / "README").write_text("x")
    for root in (tmp_path, tmp_path / "cmip5", tmp_path / "cmip5" / "output1"):
        files = find_drs_files(root, "cmip5")
        assert sorted(files["path"]) == sorted([a, b, c]), root
    row = files[files["variable_id"] == "cSoil"].iloc[0]
    assert row[["mip_era", "activity_id", "institution_id", "source_id", "experiment_id", "frequency", "realm",
                "table_id", "member_id", "grid_label", "version"]].tolist() == [
        "CMIP5", "output1", "INST", "CanESM2", "historical", "mon", "land", "Lmon", "r1i1p1", "", "v20120101"]
    assert files[files["variable_id"] == "tas"].iloc[0]["version"] == "v20120101"
    assert row["start_year"] == 1850 and row["end_year"] == 2005


def test_cmip5_models_with_fx_from_r0i0p0(tmp_path):
    cmip5(tmp_path, "CanESM2", "r2i1p1", "Lmon", "cSoil")
    cmip5(tmp_path, "CanESM2", "r1i1p1", "Lmon", "cSoil", version="v1")
    old = cmip5(tmp_path, "CanESM2", "r1i1p1", "Lmon", "cSoil", version="v2")
    new = cmip5(tmp_path, "CanESM2", "r1i1p1", "Lmon", "cSoil", version="v10")
    fx = cmip5(tmp_path, "CanESM2", "r0i0p0", "fx", "sftlf", frequency="fx", realm="atmos")
    models = discover_models(tmp_path / "cmip5", "cmip5", "historical", {"cSoil": "Lmon"}, "cSoil")
    model = models["CanESM2"]
    assert model.member == "r1i1p1"
    assert model.files["cSoil"] == [new] and old not in model.files["cSoil"]
    assert model.files["sftlf"] == [fx]


def test_unknown_layout_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match="unknown DRS layout"):
        find_drs_files(tmp_path, "cmip7")
    with pytest.raises(InputDataError, match="DRS root directory not found"):
        find_drs_files(tmp_path / "nope")


def test_walk_finds_every_file_of_a_large_tree(tmp_path):
    # Timings of this tree are measured by bench/discover.py, as ratios to a bare os.walk.
    for k in range(40):
        for member in ("r1i1p1f1", "r2i1p1f1", "r3i1p1f1"):
            for variable, table in WANTED.items():
                cmip6(tmp_path, f"M{k}", member, table, variable, years=[(y, y + 9) for y in range(1850, 2010, 10)])
    files = find_drs_files(tmp_path)
    assert len(files) == 40 * 3 * 3 * 16
    models = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="mean")
    assert len(models) == 40
    assert all(len(model.members) == 3 and len(model.files["cSoil"]) == 16 for model in models.values())


# ------------------------------------------------------------------ versions


def test_version_key_orders_numerically_and_latest_last():
    assert sorted(["v20190308", "v20180101", "latest", "v9", "v10"], key=version_key) == [
        "latest", "v9", "v10", "v20180101", "v20190308"]


def test_latest_version_is_picked(tmp_path):
    old = cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil", version="v20180101")
    new = cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil", version="v20190308", years=((1850, 2014),))
    other_grid = cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil", grid="gr", version="v20170101")
    kept = latest_versions(find_drs_files(tmp_path))
    assert sorted(kept["path"]) == sorted(new + other_grid)
    model = discover_models(tmp_path, "cmip6", "historical", {"cSoil": "Emon"}, "cSoil")["M1"]
    assert model.files["cSoil"] == new and not set(old) & set(model.files["cSoil"])


def test_same_version_under_two_institutions_is_counted_once(tmp_path):
    cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil", institution="A")
    cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil", institution="B")
    model = discover_models(tmp_path, "cmip6", "historical", {"cSoil": "Emon"}, "cSoil")["M1"]
    assert len(model.files["cSoil"]) == 2 and all("/A/" in str(p) for p in model.files["cSoil"])


# ------------------------------------------------------------------ members


def test_first_member_by_indices(tmp_path):
    for member in ("r10i1p1f1", "r2i1p1f1", "r2i1p1f2", "r2i2p1f1"):
        full_model(tmp_path, "M1", member)
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="first")["M1"]
    assert model.member == "r2i1p1f1" and model.members == ["r2i1p1f1"]
    assert all("r2i1p1f1" in str(p) for files in model.files.values() for p in files)
    assert set(model.files) == set(WANTED)
    assert model.files_by_member() == [model.files]


def test_first_member_prefers_one_with_every_variable(tmp_path):
    cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil")  # target only
    full_model(tmp_path, "M1", "r3i1p1f1")
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil")["M1"]
    assert model.member == "r3i1p1f1"
    # without a complete member, the first one with the target (the missing variable is reported when read)
    model = discover_models(tmp_path, "cmip6", "historical", {**WANTED, "mrso": "Lmon"}, "cSoil")["M1"]
    assert model.member == "r1i1p1f1" and set(model.files) == {"cSoil"}


def test_member_mean_lists_every_complete_member(tmp_path):
    for member in ("r1i1p1f1", "r10i1p1f1", "r2i1p1f1"):
        full_model(tmp_path, "M1", member)
    cmip6(tmp_path, "M1", "r4i1p1f1", "Emon", "cSoil")  # lacks tas and pr: not averaged
    cmip6(tmp_path, "M1", "r1i1p1f1", "fx", "sftlf")
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="mean")["M1"]
    assert model.members == ["r1i1p1f1", "r2i1p1f1", "r10i1p1f1"]
    assert model.member == "r1i1p1f1" and model.files == model.member_files["r1i1p1f1"]
    assert set(model.member_files) == set(model.members)
    for member, files in model.member_files.items():
        assert set(files) == set(WANTED) | {"sftlf"}
        assert all(f"_{member}_" in p.name for var in WANTED for p in files[var])
        assert files["sftlf"][0].name == "sftlf_fx_M1_historical_r1i1p1f1_gn.nc"
    assert [set(f) for f in model.files_by_member()] == [set(WANTED) | {"sftlf"}] * 3


def test_models_without_the_target_are_skipped(tmp_path):
    full_model(tmp_path, "LAND")
    cmip6(tmp_path, "ATMOS", "r1i1p1f1", "Amon", "tas")
    cmip6(tmp_path, "WRONGTABLE", "r1i1p1f1", "Lmon", "cSoil")  # cSoil wanted from Emon
    cmip6(tmp_path, "OTHEREXP", "r1i1p1f1", "Emon", "cSoil", experiment="piControl")
    models = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil")
    assert list(models) == ["LAND"]
    assert set(models["LAND"].files) >= {"cSoil"} and all(p.name.startswith("cSoil_Emon_LAND_historical_")
                                                         for p in models["LAND"].files["cSoil"])


# ------------------------------------------------------------------ prefer, fx, grids, include/exclude


def test_prefer_uses_cSoilAbove1m_when_present(tmp_path):
    full_model(tmp_path, "DEEP")
    full_model(tmp_path, "SHALLOW")
    above = cmip6(tmp_path, "SHALLOW", "r1i1p1f1", "Emon", "cSoilAbove1m")
    cmip6(tmp_path, "ONLY1M", "r1i1p1f1", "Emon", "cSoilAbove1m")
    prefer = {"cSoil": ["cSoilAbove1m", "cSoil"]}
    models = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", prefer=prefer)
    assert sorted(models) == ["DEEP", "ONLY1M", "SHALLOW"]
    assert models["SHALLOW"].files["cSoil"] == above
    assert models["SHALLOW"].file_variable("cSoil") == "cSoilAbove1m"
    assert models["DEEP"].file_variable("cSoil") == "cSoil" and models["DEEP"].variables == {}
    assert models["DEEP"].file_variable("tas") == "tas"
    # strict 0-1 m: models without cSoilAbove1m are skipped
    strict = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", prefer={"cSoil": ["cSoilAbove1m"]})
    assert sorted(strict) == ["ONLY1M", "SHALLOW"]


def test_prefer_is_one_choice_per_model_across_members(tmp_path):
    full_model(tmp_path, "M1", "r1i1p1f1")  # cSoil only
    full_model(tmp_path, "M1", "r2i1p1f1")
    cmip6(tmp_path, "M1", "r2i1p1f1", "Emon", "cSoilAbove1m")
    prefer = {"cSoil": ["cSoilAbove1m", "cSoil"]}
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="mean", prefer=prefer)["M1"]
    assert model.members == ["r2i1p1f1"] and model.variables == {"cSoil": "cSoilAbove1m"}


def test_fx_falls_back_to_another_member(tmp_path):
    full_model(tmp_path, "M1", "r2i1p1f1")
    full_model(tmp_path, "M1", "r1i1p1f2")
    fx_r1 = cmip6(tmp_path, "M1", "r1i1p1f1", "fx", "sftlf")  # r1i1p1f1 has no cSoil: fx only
    area_own = cmip6(tmp_path, "M1", "r2i1p1f1", "fx", "areacella")
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil")["M1"]
    assert model.member == "r1i1p1f2"
    assert model.files["sftlf"] == fx_r1
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="mean")["M1"]
    assert model.members == ["r1i1p1f2", "r2i1p1f1"]
    assert model.member_files["r2i1p1f1"]["areacella"] == area_own  # its own first
    assert model.member_files["r1i1p1f2"]["areacella"] == area_own  # borrowed
    assert all(files["sftlf"] == fx_r1 for files in model.member_files.values())


def test_one_grid_per_model_and_fx_on_that_grid(tmp_path):
    for variable, table in WANTED.items():
        cmip6(tmp_path, "M1", "r1i1p1f1", table, variable, grid="gr")
    cmip6(tmp_path, "M1", "r1i1p1f1", "Amon", "tas", grid="gn")
    cmip6(tmp_path, "M1", "r1i1p1f1", "fx", "sftlf", grid="gn")
    fx_gr = cmip6(tmp_path, "M1", "r2i1p1f1", "fx", "sftlf", grid="gr")
    model = discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil")["M1"]
    assert all("_gr_" in p.name for var in WANTED for p in model.files[var])
    assert model.files["sftlf"] == fx_gr  # same grid as the target, from another member


def test_include_and_exclude(tmp_path):
    for source in ("A", "B", "C"):
        full_model(tmp_path, source)
    find = lambda **kw: sorted(discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", **kw))  # noqa: E731
    assert find() == ["A", "B", "C"]
    assert find(include=["A", "C", "Z"]) == ["A", "C"]
    assert find(exclude=["B"]) == ["A", "C"]
    assert find(include=["A", "B"], exclude=["B"]) == ["A"]


def test_member_option_is_checked(tmp_path):
    with pytest.raises(ValueError, match="member must be"):
        discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil", member="all")


def test_pipeline_discovers_the_demo_world(demo_world, demo_definition):
    from socbench.prepare import discover_models as pipeline_discover

    models = pipeline_discover(demo_definition, demo_world)
    assert {"SYN-FAITHFUL", "SCALED", "OBS-COPY"} <= set(models)
    faithful = models["SYN-FAITHFUL"]
    assert faithful.member == "r1i1p1f1"  # r2i1p1f1 exists; v20180101 is ignored
    assert all("v20190308" in str(p) for files in faithful.files.values() for p in files)
    assert "sftlf" in faithful.files


def test_pipeline_member_mean_averages_members_and_reads_preferred_variable(demo_world, demo_definition, tmp_path):
    import dataclasses
    import shutil

    import netCDF4
    import numpy as np

    from socbench.prepare import discover_models as pipeline_discover
    from socbench.prepare import prepare_context, prepare_model

    models = demo_definition.models.model_copy(update={"member": "mean", "include": ["SYN-FAITHFUL"]})
    context = prepare_context(demo_definition.model_copy(update={"models": models}), demo_world)
    model = pipeline_discover(context.definition, context.root)["SYN-FAITHFUL"]
    assert model.members == ["r1i1p1f1", "r2i1p1f1"]
    mean = prepare_model(context, model)
    singles = [
        prepare_model(context, dataclasses.replace(model, member=m, members=[m], files=model.member_files[m], member_files={}))
        for m in model.members
    ]
    assert np.nanmax(np.abs(singles[0].soc - singles[1].soc)) > 0.1  # the members differ ...
    np.testing.assert_allclose(mean.soc, (singles[0].soc + singles[1].soc) / 2, rtol=1e-12)  # ... and are averaged
    np.testing.assert_allclose(mean.covariates, (singles[0].covariates + singles[1].covariates) / 2, rtol=1e-12)
    assert len(mean.log.files) == 2 * len(singles[0].log.files)

    # prefer: the file holds cSoilAbove1m, the model's files keep the requested name cSoil
    renamed = []
    for path in model.member_files["r1i1p1f1"]["cSoil"]:
        copy = tmp_path / path.name.replace("cSoil_", "cSoilAbove1m_")
        shutil.copy(path, copy)
        with netCDF4.Dataset(copy, "a") as nc:
            nc.renameVariable("cSoil", "cSoilAbove1m")
        renamed.append(copy)
    first = model.member_files["r1i1p1f1"]
    above = dataclasses.replace(model, members=["r1i1p1f1"], files={**first, "cSoil": renamed}, member_files={},
                                variables={"cSoil": "cSoilAbove1m"})
    np.testing.assert_array_equal(prepare_model(context, above).soc, singles[0].soc)


def test_definition_keys_layout_and_prefer(tmp_path):
    from ruamel.yaml import YAML

    from socbench.config import load_definition
    from socbench.errors import DefinitionError
    from socbench.resources import benchmark_path

    yaml = YAML()
    document = yaml.load(benchmark_path("demo").read_text())
    document["models"]["layout"] = "cmip5"
    document["target"]["prefer"] = ["cSoilAbove1m", "cSoil"]
    path = tmp_path / "def.yaml"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    definition, _ = load_definition(path)
    assert definition.models.layout == "cmip5" and definition.target.prefer == ["cSoilAbove1m", "cSoil"]
    document["models"]["layout"] = "cmip7"
    with path.open("w") as handle:
        yaml.dump(document, handle)
    with pytest.raises(DefinitionError, match=r"models\.layout: .*'cmip6' or 'cmip5'"):
        load_definition(path)


def test_empty_tree_and_non_level_filters(tmp_path):
    assert find_drs_files(tmp_path).empty and find_drs_files(tmp_path, "cmip5").empty
    assert discover_models(tmp_path, "cmip6", "historical", WANTED, "cSoil") == {}
    cmip6(tmp_path, "M1", "r1i1p1f1", "Emon", "cSoil")
    assert len(find_drs_files(tmp_path, start_year=1900)) == 1
    assert len(find_drs_files(tmp_path, mip_era="CMIP6", time_range=["185001-189912"])) == 1
    with pytest.raises(ValueError, match="unknown facet"):
        find_drs_files(tmp_path, model="M1")
