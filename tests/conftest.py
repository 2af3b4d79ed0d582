"""Shared fixtures: synthetic worlds and benchmark runs, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import netCDF4
import pytest
from ruamel.yaml import YAML

from socbench import synth
from socbench.config import load_definition
from socbench.pipeline import run
from socbench.resources import benchmark_path

SCALE_FACTOR = 4.0  # a power of two: exact in the float32 files, so only the method is tested


def write_definition(definition, data_root: Path, path: Path) -> Path:
    """Write ``definition`` as YAML (keys in order) with ``data_root`` set; return ``path``."""
    data = definition.model_dump(mode="json")
    data["data_root"] = str(data_root)
    with path.open("w") as handle:
        YAML().dump(data, handle)
    return path


def clone_model(world: Path, source: str, clone: str, csoil_factor: float = 1.0) -> None:
    """Copy a model of the world's DRS tree under a new source_id, scaling its cSoil."""
    source_dir = next((world / "CMIP6").glob(f"*/*/{source}"))
    target_dir = source_dir.parent / clone
    shutil.copytree(source_dir, target_dir)
    for path in sorted(target_dir.rglob("*.nc")):
        renamed = path.with_name(path.name.replace(f"_{source}_", f"_{clone}_"))
        path.rename(renamed)
        with netCDF4.Dataset(renamed, "a") as nc:
            nc.source_id = clone
            if "cSoil" in nc.variables:
                nc["cSoil"][:] = nc["cSoil"][:] * csoil_factor


@pytest.fixture(autouse=True)
def private_task_cache(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own task cache: never the user's ~/.cache/socbench."""
    directory = tmp_path_factory.mktemp("task-cache")
    monkeypatch.setenv("SOCBENCH_CACHE", str(directory))
    return directory


@pytest.fixture(scope="session")
def demo_world(tmp_path_factory) -> Path:
    """The demo world (seed 0, 2 degrees) plus two test models.

    OBS-COPY is an exact copy of the HWSD-like product (with the observed
    climate as its covariates); SCALED is SYN-FAITHFUL with cSoil x 4.
    """
    world = tmp_path_factory.mktemp("demo-world")
    synth.make_world(world, seed=0, resolution=2.0)
    synth.add_copy_model(world, product="HWSD-like", source_id="OBS-COPY")
    clone_model(world, "SYN-FAITHFUL", "SCALED", SCALE_FACTOR)
    return world


@pytest.fixture(scope="session")
def demo_definition():
    definition, _ = load_definition(benchmark_path("demo"))
    return definition


@pytest.fixture(scope="session")
def demo_result(demo_world, demo_definition):
    return run(demo_definition, demo_world, workers=2)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A coarse (4 degree) world for fast end-to-end and determinism tests."""
    world = tmp_path_factory.mktemp("small-world")
    synth.make_world(world, seed=1, resolution=4.0)
    return world


@pytest.fixture(scope="session")
def small_definition(demo_definition):
    """The demo definition on a 4 degree grid with light learner settings."""
    data = demo_definition.model_dump()
    data["analysis_grid"]["resolution"] = 4.0
    data["regions"]["min_cells"] = 30
    data["learner"]["bootstraps"] = 2
    data["learner"]["params"] = {"max_iter": 60, "learning_rate": 0.2, "max_depth": 3}
    return type(demo_definition).model_validate(data)
