"""Dataset names are unique across models, products and reserved names (issue 17, item 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import clone_model, write_definition

from socbench.cli import EXIT_FAILED, main
from socbench.config import load_definition
from socbench.errors import DefinitionError
from socbench.prepare import discover_models


def _definition_file(definition, world: Path, path: Path, **models) -> Path:
    data = definition.model_dump()
    data["models"].update(models)
    return write_definition(type(definition).model_validate(data), world, path)


def _with_models(definition, **models):
    data = definition.model_dump()
    data["models"].update(models)
    return type(definition).model_validate(data)


@pytest.mark.parametrize("name", ["HWSD-like", "null"])
def test_explicit_model_named_like_a_product_or_reserved_is_refused_at_load(small_definition, small_world, tmp_path, name):
    path = _definition_file(small_definition, small_world, tmp_path / "def.yaml")
    text = path.read_text().replace("explicit: []", f"explicit:\n  - name: '{name}'\n    paths: {{cSoil: x.nc}}")
    path.write_text(text)
    with pytest.raises(DefinitionError, match=rf"def\.yaml.*models\.explicit: model name '{name}' is .*rename the model"):
        load_definition(path)
    assert main(["validate", str(path)]) == EXIT_FAILED


def test_product_named_like_the_null_reference_is_refused(small_definition, small_world, tmp_path):
    path = _definition_file(small_definition, small_world, tmp_path / "def.yaml")
    path.write_text(path.read_text().replace("name: HWSD-like", "name: 'null'"))
    with pytest.raises(DefinitionError, match=r"observations: product name 'null' is a reserved name"):
        load_definition(path)


@pytest.fixture(scope="module")
def world_with_product_named_model(small_world, tmp_path_factory) -> Path:
    world = tmp_path_factory.mktemp("named-world")
    shutil.copytree(small_world, world, dirs_exist_ok=True)
    clone_model(world, "SYN-FAITHFUL", "HWSD-like")
    return world


def test_discovered_model_named_like_a_product_fails(small_definition, world_with_product_named_model):
    with pytest.raises(DefinitionError, match=r"models\.drs_root: discovered model name 'HWSD-like' is the name of an "
                                              r"observation product.*models\.exclude"):
        discover_models(small_definition, world_with_product_named_model, [])
    excluded = _with_models(small_definition, exclude=["HWSD-like"])
    assert "HWSD-like" not in discover_models(excluded, world_with_product_named_model, [])


def test_explicit_model_named_like_a_discovered_one_is_an_error(small_definition, small_world):
    faithful = next(small_world.glob("CMIP6/*/*/SYN-FAITHFUL/historical/r1i1p1f1/Emon/cSoil/*/*/*.nc"))
    definition = _with_models(small_definition, explicit=[{"name": "SYN-TEMPNPP", "paths": {"cSoil": str(faithful)}}])
    with pytest.raises(DefinitionError, match=r"models\.explicit: model name 'SYN-TEMPNPP' is also the name of a model "
                                              r"discovered"):
        discover_models(definition, small_world, [])
    renamed = _with_models(small_definition, explicit=[{"name": "SYN-OTHER", "paths": {"cSoil": str(faithful)}}])
    models = discover_models(renamed, small_world, [])
    assert {"SYN-TEMPNPP", "SYN-OTHER"} <= set(models)
