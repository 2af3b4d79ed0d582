"""Bad input: one clear message naming the file, the variable and what was expected.

One test per item of the bad-input list; and a run where some models fail
goes on with the others and says it was partial.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from socbench.cli import EXIT_PARTIAL, main
from socbench.config import load_definition
from socbench.errors import DefinitionError, InputDataError, SocbenchWarning
from socbench.inputs import FieldRequest, read_field, resolve_paths
from socbench.pipeline import run
from socbench.prepare import prepare_context, prepare_models, prepare_observation
from socbench.provenance import provenance
from socbench.resources import benchmark_path


def write_field(path: Path, values=None, units="kg m-2", variable="soc", lat_attrs=None, time=None) -> Path:
    lat = np.arange(-88.0, 90.0, 4.0)
    lon = np.arange(2.0, 360.0, 4.0)
    data = np.full((lat.size, lon.size), 5.0) if values is None else values
    dims = ("lat", "lon")
    coords = {"lat": ("lat", lat, lat_attrs or {"units": "degrees_north", "standard_name": "latitude"}),
              "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude"})}
    if time is not None:
        data = np.broadcast_to(data, (len(time),) + data.shape)
        dims = ("time",) + dims
        coords["time"] = ("time", time)
    attrs = {} if units is None else {"units": units}
    xr.Dataset({variable: (dims, data, attrs)}, coords=coords).to_netcdf(path)
    return path


def request(path: Path, variable="soc", units="kg m-2", declared=None, non_negative=True) -> FieldRequest:
    return FieldRequest((path,), variable, units, declared, non_negative)


def test_empty_glob_names_the_pattern(tmp_path):
    with pytest.raises(InputDataError, match=r"no_such_\*\.nc.*no file matches"):
        resolve_paths(tmp_path, "no_such_*.nc")


def test_missing_file(tmp_path):
    with pytest.raises(InputDataError, match=r"gone\.nc.*'soc'.*file not found"):
        read_field(request(tmp_path / "gone.nc"), 2000, 2000)


def test_corrupt_netcdf(tmp_path):
    path = tmp_path / "corrupt.nc"
    path.write_bytes(b"CDF\x01 this is not really netCDF" * 10)
    with pytest.raises(InputDataError, match=r"corrupt\.nc.*'soc'.*cannot be read as netCDF"):
        read_field(request(path), 2000, 2000)


def test_truncated_netcdf(tmp_path):
    path = write_field(tmp_path / "whole.nc")
    truncated = tmp_path / "truncated.nc"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(InputDataError, match="cannot be read as netCDF"):
        read_field(request(truncated), 2000, 2000)


def test_absent_variable_lists_those_present(tmp_path):
    path = write_field(tmp_path / "f.nc", variable="orgc")
    with pytest.raises(InputDataError, match=r"f\.nc, variable 'soc': variable is absent; variables present: orgc"):
        read_field(request(path), 2000, 2000)


def test_missing_units_asks_for_a_declaration(tmp_path):
    path = write_field(tmp_path / "f.nc", units=None)
    with pytest.raises(InputDataError, match="has no units attribute; declare 'units'.*'kg m-2'"):
        read_field(request(path), 2000, 2000)
    # ... and a declared unit is used
    field = read_field(request(path, declared="Mg ha-1"), 2000, 2000)
    assert float(field["soc"].mean()) == pytest.approx(0.5)


@pytest.mark.parametrize("units", ["K", "bananas m-2"])
def test_unknown_or_unconvertible_units(tmp_path, units):
    path = write_field(tmp_path / "f.nc", units=units)
    with pytest.raises(InputDataError, match=rf"f\.nc, variable 'soc': .*{units.split()[0]}.*'kg m-2'"):
        read_field(request(path), 2000, 2000)


def test_no_recognisable_latitude(tmp_path):
    path = write_field(tmp_path / "f.nc", lat_attrs={"units": "1"})
    ds = xr.open_dataset(path).rename({"lat": "y"})
    ds.to_netcdf(tmp_path / "g.nc")
    with pytest.raises(InputDataError, match=r"g\.nc, variable 'soc': no recognisable latitude"):
        read_field(request(tmp_path / "g.nc"), 2000, 2000)


def test_time_axis_not_covering_the_period(tmp_path):
    time = xr.date_range("2001-01-01", periods=24, freq="MS", calendar="noleap", use_cftime=True)
    path = write_field(tmp_path / "f.nc", time=time)
    with pytest.raises(InputDataError, match=r"f\.nc.*time axis \(2001-2002\) does not cover the period 2001-2005"):
        read_field(request(path), 2001, 2005)
    assert float(read_field(request(path), 2001, 2002)["soc"].mean()) == pytest.approx(5.0)


def test_all_missing_values(tmp_path):
    path = write_field(tmp_path / "f.nc", values=np.full((45, 90), np.nan))
    with pytest.raises(InputDataError, match="all values are missing"):
        read_field(request(path), 2000, 2000)


def test_negative_soc(tmp_path):
    values = np.full((45, 90), 5.0)
    values[3, 4] = -1.0
    path = write_field(tmp_path / "f.nc", values=values)
    with pytest.raises(InputDataError, match=r"1 cells have negative values.*expected a non-negative stock"):
        read_field(request(path), 2000, 2000)


def test_duplicated_model_names(tmp_path):
    text = benchmark_path("demo").read_text()
    text = text.replace(
        "  drs_root: CMIP6\n",
        "  explicit:\n    - {name: M, paths: {cSoil: a.nc}}\n    - {name: M, paths: {cSoil: b.nc}}\n",
    )
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError, match="duplicated model names: M"):
        load_definition(path)


@pytest.fixture(scope="module")
def broken_world(small_world, tmp_path_factory) -> Path:
    """The small world with SYN-DOUBLE's cSoil corrupted and SYN-TEMPNPP's tas missing."""
    world = tmp_path_factory.mktemp("broken") / "world"
    shutil.copytree(small_world, world)
    csoil = next(world.glob("CMIP6/*/*/SYN-DOUBLE/*/r1i1p1f1/Emon/cSoil/*/*/*.nc"))
    csoil.write_bytes(csoil.read_bytes()[:1000])
    shutil.rmtree(next(world.glob("CMIP6/*/*/SYN-TEMPNPP/*/r1i1p1f1/Amon/tas")))
    return world


def test_partial_run_scores_the_rest_and_reports_failures(broken_world, small_definition):
    result = run(small_definition, broken_world, workers=1)
    assert result.status == "partial"
    failures = result.failures.set_index("dataset")["reason"]
    assert set(failures.index) == {"SYN-DOUBLE", "SYN-TEMPNPP"}
    assert "cSoil" in failures["SYN-DOUBLE"] and "cannot be read as netCDF" in failures["SYN-DOUBLE"]
    assert "'tas'" in failures["SYN-TEMPNPP"]
    assert set(result.models) == {"SYN-FAITHFUL", "SYN-UNRELATED"}


def test_partial_run_exit_code_and_scorecard(broken_world, small_definition, tmp_path):
    from conftest import write_definition

    definition = write_definition(small_definition, broken_world, tmp_path / "d.yaml")
    out = tmp_path / "card"
    assert main(["run", str(definition), "--out", str(out), "--quiet", "--workers", "1"]) == EXIT_PARTIAL
    html = (out / "index.html").read_text()
    assert "SYN-DOUBLE" in html and "cannot be read as netCDF" in html
    assert "SYN-TEMPNPP" in html and "tas" in html


# ------------------------------------------------------------------ issue 8 and 11: reading one dataset


def monthly(years: int = 1, start: str = "2000-01-01"):
    return xr.date_range(start, periods=12 * years, freq="MS", calendar="noleap", use_cftime=True)


def write_extra_dim(path: Path, name: str, size: int) -> Path:
    """soc(time, <name>, lat, lon) with ``size`` levels."""
    lat, lon = np.arange(-88.0, 90.0, 4.0), np.arange(2.0, 360.0, 4.0)
    time = monthly()
    data = np.full((time.size, size, lat.size, lon.size), 5.0)
    xr.Dataset(
        {"soc": (("time", name, "lat", "lon"), data, {"units": "kg m-2"})},
        coords={"time": time, name: (name, np.arange(size) + 0.5, {"units": "m"}),
                "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
    ).to_netcdf(path)
    return path


def test_one_infinite_value_is_masked_and_counted(tmp_path):
    values = np.full((12, 45, 90), 5.0)
    values[:, 3, 4] = np.arange(1.0, 13.0)
    values[6, 3, 4] = np.inf
    values[2, 7, 8] = -np.inf
    time = monthly()
    path = write_field(tmp_path / "f.nc", values=np.zeros((45, 90)), time=time)
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds["soc"].values[:] = values
    ds.to_netcdf(tmp_path / "g.nc")
    with pytest.warns(SocbenchWarning, match=r"g\.nc, variable 'soc': 2 infinite value\(s\) masked as missing"):
        field = read_field(request(tmp_path / "g.nc"), 2000, 2000)
    assert field.attrs["n_nonfinite"] == 2
    soc = field["soc"]
    assert bool(np.isfinite(soc).all())
    days = time.to_series().map(lambda t: t.daysinmonth).values.astype(float)
    others = np.arange(12) != 6
    cell = float(soc.sel(lat=-76.0, lon=18.0))  # source row 3, column 4
    assert cell == pytest.approx(float((np.arange(1.0, 13.0)[others] * days[others]).sum() / days[others].sum()))
    assert float(soc.sel(lat=-60.0, lon=34.0)) == pytest.approx(5.0)


def test_file_units_win_over_the_definition(tmp_path):
    path = write_field(tmp_path / "f.nc", values=np.full((45, 90), 5000.0), units="g m-2")
    message = r"f\.nc, variable 'soc': the file says units 'g m-2' and the definition says 'kg m-2': using the file's"
    with pytest.warns(SocbenchWarning, match=message):
        field = read_field(request(path, declared="kg m-2"), 2000, 2000)
    assert float(field["soc"].mean()) == pytest.approx(5.0)  # not 5000: the file's g m-2 were used
    same = write_field(tmp_path / "same.nc", units="kg m-2")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SocbenchWarning)
        read_field(request(same, declared="kg m-2"), 2000, 2000)


def test_unreadable_file_units_give_way_to_the_definition_with_a_note(tmp_path):
    path = write_field(tmp_path / "f.nc", values=np.full((45, 90), 50.0), units="tonnes per hectare")
    with pytest.raises(InputDataError, match=r"f\.nc, variable 'soc': .*'tonnes per hectare'.*declare 'units'"):
        read_field(request(path), 2000, 2000)
    with pytest.warns(SocbenchWarning, match=r"the file's units 'tonnes per hectare' are not recognised; using the definition's units 't ha-1'"):
        field = read_field(request(path, declared="t ha-1"), 2000, 2000)
    assert float(field["soc"].mean()) == pytest.approx(5.0)


def test_scaled_units(tmp_path):
    path = write_field(tmp_path / "f.nc", values=np.full((45, 90), 5000.0), units="1e-3 kg m-2")
    assert float(read_field(request(path), 2000, 2000)["soc"].mean()) == pytest.approx(5.0)


def test_time_axis_without_units(tmp_path):
    path = write_field(tmp_path / "f.nc", time=np.arange(12.0))
    with pytest.raises(InputDataError) as error:
        read_field(request(path), 2000, 2000)
    message = str(error.value)
    assert "\n" not in message
    assert re.search(r"f\.nc, variable 'soc': time axis 'time' has no units; expected units such as 'days since", message)


def test_singleton_extra_dimension_is_squeezed(tmp_path):
    path = write_extra_dim(tmp_path / "f.nc", "depth", 1)
    field = read_field(request(path), 2000, 2000)
    assert field["soc"].dims == ("lat", "lon") and float(field["soc"].mean()) == pytest.approx(5.0)


def test_other_extra_dimension_is_refused_naming_it(tmp_path):
    path = write_extra_dim(tmp_path / "f.nc", "sdepth", 3)
    with pytest.raises(InputDataError, match=r"f\.nc, variable 'soc': unexpected extra dimension 'sdepth' \(size 3\)"):
        read_field(request(path), 2000, 2000)


def test_unforeseen_error_while_reading_is_one_line(tmp_path, monkeypatch):
    import socbench.inputs as inputs

    def broken(*args, **kwargs):
        raise RuntimeError("deep inside a library\nwith a second line")

    monkeypatch.setattr(inputs, "canonical_grid", broken)
    with pytest.raises(InputDataError) as error:
        read_field(request(write_field(tmp_path / "f.nc")), 2000, 2000)
    assert str(error.value) == (
        f"file {tmp_path / 'f.nc'}, variable 'soc': cannot be read (RuntimeError: deep inside a library with a second line)"
    )


# ------------------------------------------------------------------ the same, in the pipeline


def variant(definition, **changes):
    """``definition`` with nested changes given as dotted paths, e.g. ``{"models.include": [...]}``."""
    data = definition.model_dump()
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(key) if isinstance(node, list) else key] = value
    return type(definition).model_validate(data)


@pytest.fixture(scope="module")
def small_context(small_world, small_definition):
    return prepare_context(small_definition, small_world)


def test_infinite_product_cell_is_counted_in_provenance(small_context, small_world, tmp_path):
    clean = prepare_observation(small_context, "HWSD-like")
    spoiled_path = tmp_path / "hwsd_inf.nc"
    with xr.open_dataset(next(small_world.glob("obs/soc/HWSD-like/*.nc"))) as ds:
        ds = ds.load()
    ds["soc"][40, 100] = np.inf
    ds.to_netcdf(spoiled_path)
    definition = variant(small_context.definition, **{"observations.0.path": str(spoiled_path)})
    context = dataclasses.replace(small_context, definition=definition)
    with pytest.warns(SocbenchWarning, match="1 infinite value"):
        spoiled = prepare_observation(context, "HWSD-like")
    assert spoiled.log.nonfinite_cells == 1 and clean.log.nonfinite_cells == 0
    # the field is still there: only the one source cell is missing
    assert np.isfinite(spoiled.soc).sum() == np.isfinite(clean.soc).sum()
    record = provenance(definition, context, [spoiled], 1, 0.0)
    assert record["nonfinite_cells"]["HWSD-like"] == 1
    assert record["nonfinite_cells"]["covariate:temperature"] == 0
    assert any("1 infinite value" in note for note in record["input_notes"])


def test_unforeseen_regridding_error_is_the_datasets_failure(small_context):
    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together\nshapes (3,4) (5,6)")

    context = dataclasses.replace(small_context, regrid=broken)
    with pytest.raises(InputDataError, match=r"hwsd_like_soc\.nc, variable 'soc': cannot be regridded \(ValueError: operands"):
        prepare_observation(context, "HWSD-like")
    definition = variant(small_context.definition, **{"models.include": ["SYN-FAITHFUL", "SYN-UNRELATED"]})
    prepared, failures = prepare_models(dataclasses.replace(context, definition=definition))
    assert prepared == []
    assert [f["dataset"] for f in failures] == ["SYN-FAITHFUL", "SYN-UNRELATED"]
    assert all("cannot be regridded" in f["reason"] and "\n" not in f["reason"] for f in failures)


def test_explicit_model_whose_glob_matches_nothing_is_its_failure(small_context):
    explicit = [{"name": "GHOST", "paths": {"cSoil": "nowhere/cSoil_*.nc"}}]
    definition = variant(small_context.definition, **{"models.include": ["SYN-FAITHFUL"], "models.explicit": explicit})
    prepared, failures = prepare_models(dataclasses.replace(small_context, definition=definition))
    assert [p.name for p in prepared] == ["SYN-FAITHFUL"]
    assert len(failures) == 1 and failures[0]["dataset"] == "GHOST"
    assert re.search(r"model 'GHOST': file .*nowhere/cSoil_\*\.nc: no file matches", failures[0]["reason"])
    # ... also when it is the only model: a listed failure, not an abort
    alone = variant(small_context.definition, **{"models.drs_root": None, "models.explicit": explicit})
    prepared, failures = prepare_models(dataclasses.replace(small_context, definition=alone))
    assert prepared == [] and [f["dataset"] for f in failures] == ["GHOST"]


def test_missing_value_keys_apply_to_products_covariates_and_models(small_context, small_world):
    base = small_context.definition
    product = variant(base, **{"observations.0.valid_range": [1000.0, 2000.0]})
    with pytest.raises(InputDataError, match=r"hwsd_like_soc\.nc, variable 'soc': all values are missing"):
        prepare_observation(dataclasses.replace(small_context, definition=product), "HWSD-like")
    covariate = variant(base, **{"covariates.clay.shared.missing_values": [float(v) for v in _values(small_world, "clay")]})
    with pytest.raises(InputDataError, match=r"clay\.nc, variable 'clay': all values are missing"):
        prepare_context(covariate, small_world)
    model = variant(base, **{"models.include": ["SYN-FAITHFUL"], "covariates.npp.model.valid_range": [-2.0, -1.0]})
    prepared, failures = prepare_models(dataclasses.replace(small_context, definition=model))
    assert prepared == [] and re.search(r"npp_Lmon_SYN-FAITHFUL.*'npp': all values are missing", failures[0]["reason"])


def _values(world: Path, name: str) -> np.ndarray:
    with xr.open_dataset(world / "obs" / "covariates" / f"{name}.nc") as ds:
        return np.unique(ds[name].values[np.isfinite(ds[name].values)])


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("valid_range", [5.0, 1.0], "valid_range must be \\[min, max\\] with finite min < max"),
        ("valid_range", [0.0], "valid_range"),
        ("missing_values", [float("nan")], "finite number"),
    ],
)
def test_missing_value_keys_are_validated(tmp_path, key, value, message):
    text = benchmark_path("demo").read_text().replace(
        "    variable: soc\n", f"    variable: soc\n    {key}: {json.dumps(value).replace('NaN', '.nan')}\n", 1
    )
    path = tmp_path / "d.yaml"
    path.write_text(text)
    with pytest.raises(DefinitionError, match=rf"d\.yaml:\d+: observations\.0\.{key}.*{message}"):
        load_definition(path)


def test_percent_land_fraction_labelled_1_is_converted_with_a_note(small_context, small_world, tmp_path):
    """sftlf holding 0-100 with units "1" is read as percent, not clipped to 1 (issue 17 item 13)."""
    import netCDF4

    from socbench.prepare import discover_models, prepare_model

    model = discover_models(small_context.definition, small_context.root)["SYN-FAITHFUL"]
    relabelled = tmp_path / model.files["sftlf"][0].name
    shutil.copy(model.files["sftlf"][0], relabelled)
    with netCDF4.Dataset(relabelled, "a") as nc:
        assert float(nc["sftlf"][:].max()) > 50  # the synthetic world writes percent
        nc["sftlf"].units = "1"
    mislabelled = dataclasses.replace(model, files={**model.files, "sftlf": [relabelled]}, member_files={})
    with pytest.warns(SocbenchWarning, match=r"sftlf\.nc|sftlf_.*variable 'sftlf': land fraction reaches 100 with units "
                                             r"'1': read as percent"):
        converted = prepare_model(small_context, mislabelled)
    expected = prepare_model(small_context, model)
    np.testing.assert_allclose(converted.soc, expected.soc, equal_nan=True)
    assert any("read as percent" in note for note in converted.log.notes)
