"""Bad input: one clear message naming the file, the variable and what was expected.

One test per item of the bad-input list; and a run where some models fail
goes on with the others and says it was partial.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from socbench.cli import EXIT_PARTIAL, main
from socbench.config import load_definition
from socbench.errors import DefinitionError, InputDataError
from socbench.inputs import FieldRequest, read_field, resolve_paths
from socbench.pipeline import run
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
