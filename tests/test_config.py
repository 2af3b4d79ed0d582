"""The benchmark definition: validation messages name file, line, key path, nearest key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socbench.config import Definition, json_schema, load_definition
from socbench.errors import DefinitionError
from socbench.resources import benchmark_path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "definition.md"


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = benchmark_path("demo").read_text()
    assert old in text, old
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, fragment: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def test_shipped_demo_definition_is_valid():
    definition, root = load_definition(benchmark_path("demo"))
    assert definition.name == "demo"
    assert list(definition.covariates)[:2] == ["temperature", "precipitation"]
    assert root == benchmark_path("demo").parent


def test_misspelt_key_names_line_path_and_nearest_key(tmp_path):
    path = write_variant(tmp_path, "  bootstraps: 5", "  bootstrap: 5")
    with pytest.raises(DefinitionError) as error:
        load_definition(path)
    message = str(error.value)
    assert f"{path}:{line_of(path, 'bootstrap: 5')}:" in message
    assert "learner.bootstrap" in message
    assert "did you mean 'bootstraps'?" in message


def test_wrong_type_names_key_path(tmp_path):
    path = write_variant(tmp_path, "  resolution: 2.0", "  resolution: fine")
    with pytest.raises(DefinitionError, match=r"analysis_grid\.resolution.*number"):
        load_definition(path)


def test_missing_required_key(tmp_path):
    path = write_variant(tmp_path, "period: {start: 2010, end: 2014}", "")
    with pytest.raises(DefinitionError, match="period: required key 'period' is missing"):
        load_definition(path)


def test_nested_list_error_points_at_item(tmp_path):
    path = write_variant(tmp_path, "    variable: ocs", "    varible: ocs")
    with pytest.raises(DefinitionError) as error:
        load_definition(path)
    assert "observations.1.varible" in str(error.value)
    assert "did you mean 'variable'?" in str(error.value)
    assert f":{line_of(path, 'varible: ocs')}:" in str(error.value)


def test_unknown_score_component(tmp_path):
    path = write_variant(tmp_path, "stock_bias: 0.15,", "stockbias: 0.15,")
    with pytest.raises(DefinitionError, match="did you mean 'stock_bias'"):
        load_definition(path)


def test_covariate_needs_a_source(tmp_path):
    path = write_variant(tmp_path, "    shared: {path: obs/covariates/clay.nc, variable: clay}\n", "")
    with pytest.raises(DefinitionError, match="covariates.clay"):
        load_definition(path)


def test_invalid_yaml_reports_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ncovariates: [unclosed\n")
    with pytest.raises(DefinitionError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_definition(path)


def test_missing_file():
    with pytest.raises(DefinitionError, match="not found"):
        load_definition("/nonexistent/definition.yaml")


def test_duplicated_product_names(tmp_path):
    path = write_variant(tmp_path, "  - name: SoilGrids-like", "  - name: HWSD-like")
    with pytest.raises(DefinitionError, match="duplicated observation product names: HWSD-like"):
        load_definition(path)


def test_data_root_override(tmp_path):
    _, root = load_definition(benchmark_path("demo"), data_root=tmp_path)
    assert root == tmp_path.resolve()


def test_json_schema_is_documented():
    schema = json_schema()
    json.dumps(schema)
    assert set(schema["required"]) >= {"name", "covariates", "observations", "models", "period"}
    documented = DOCS.read_text()
    for key in Definition.model_fields:
        assert f"`{key}`" in documented, key
