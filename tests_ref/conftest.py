"""Fixtures of the climate-ref provider tests (Python >= 3.12 with the `ref` extra; tox -e ref).

One synthetic world (4 degrees), one benchmark run on it (what ``socbench run``
and ``socbench reference build`` compute), its reference bundle served by a
local mirror (``file://`` for the unit tests, HTTP on 127.0.0.1 end to end).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info < (3, 12) or importlib.util.find_spec("climate_ref") is None:  # the default suite's Python
    collect_ignore_glob = ["test_*.py"]
else:
    import netCDF4
    from ruamel.yaml import YAML

    from socbench import synth
    from socbench.config import load_definition
    from socbench.pipeline import run
    from socbench.reference import save_reference
    from socbench.report import write_report
    from socbench.resources import benchmark_path

#: A model whose npp is missing: the solver must not execute it.
NO_NPP = "SYN-NONPP"
BUNDLE = "small"


def _small_definition(world: Path, path: Path) -> Path:
    """The demo definition on a 4 degree grid with light learner settings (as tests/conftest.py)."""
    definition, _ = load_definition(benchmark_path("demo"))
    data = definition.model_dump(mode="json")
    data["analysis_grid"]["resolution"] = 4.0
    data["regions"]["min_cells"] = 30
    data["learner"]["bootstraps"] = 2
    data["learner"]["params"] = {"max_iter": 60, "learning_rate": 0.2, "max_depth": 3}
    data["data_root"] = str(world)
    with path.open("w") as handle:
        YAML().dump(data, handle)
    return path


def _add_model_without_npp(world: Path) -> None:
    source = next((world / "CMIP6").glob("*/*/SYN-TEMPNPP"))
    target = source.parent / NO_NPP
    shutil.copytree(source, target)
    for npp in list(target.rglob("npp")):
        shutil.rmtree(npp)
    for path in sorted(target.rglob("*.nc")):
        renamed = path.with_name(path.name.replace("_SYN-TEMPNPP_", f"_{NO_NPP}_"))
        path.rename(renamed)
        with netCDF4.Dataset(renamed, "a") as nc:  # the REF reads the facets from the file attributes
            nc.source_id = NO_NPP
            nc.tracking_id = nc.tracking_id[:-4] + "beef"


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("world")
    synth.make_world(directory, seed=1, resolution=4.0)
    _add_model_without_npp(directory)
    return directory


@pytest.fixture(scope="session")
def definition_file(world, tmp_path_factory) -> Path:
    return _small_definition(world, tmp_path_factory.mktemp("definition") / "small.yaml")


@pytest.fixture(scope="session")
def benchmark(definition_file):
    definition, _ = load_definition(definition_file)
    return definition


@pytest.fixture(scope="session")
def socbench_run(benchmark, world, tmp_path_factory):
    """``socbench run`` on the world: (result, scorecard directory)."""
    result = run(benchmark, world, workers=1)
    scorecard = tmp_path_factory.mktemp("run") / "scorecard"
    write_report(result, scorecard)
    return result, scorecard


@pytest.fixture(scope="session")
def mirror(socbench_run, tmp_path_factory) -> Path:
    """A bundle mirror: ``<mirror>/small/`` as ``socbench reference build`` writes it."""
    result, _ = socbench_run
    directory = tmp_path_factory.mktemp("mirror")
    save_reference(result.reference, result, directory / BUNDLE)
    return directory


@pytest.fixture(scope="session")
def registry_file(mirror, tmp_path_factory) -> Path:
    """The mirror's registry, as ``socbench reference registry`` prints it."""
    done = subprocess.run([sys.executable, "-m", "socbench.cli", "reference", "registry", str(mirror / BUNDLE)],
                          capture_output=True, text=True, check=True)
    path = tmp_path_factory.mktemp("registry") / "registry.txt"
    path.write_text(done.stdout)
    return path


@pytest.fixture
def provider_env(monkeypatch, tmp_path, definition_file, registry_file, mirror) -> dict[str, str]:
    """Environment of the provider: the small benchmark, its bundle in a file:// mirror, a private cache."""
    env = {
        "SOCBENCH_REF_BENCHMARK": str(definition_file),
        "SOCBENCH_REF_BUNDLE": BUNDLE,
        "SOCBENCH_REF_REGISTRY": str(registry_file),
        "SOCBENCH_REF_BUNDLE_URL": mirror.as_uri(),
        "REF_DATASET_CACHE_DIR": str(tmp_path / "cache"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
