"""The benchmark definition: validation messages name file, line, key path, nearest key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import alias_bomb

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


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  resolution: 2.0", "  resolution: fine", r"analysis_grid\.resolution.*number"),
        ("period: {start: 2010, end: 2014}", "", "period: required key 'period' is missing"),
        ("total_stock: 0.1,", "totalstock: 0.1,", "did you mean 'total_stock'"),
        ("    shared: {path: obs/covariates/clay.nc, variable: clay}\n", "", "covariates.clay"),
    ],
    ids=["wrong-type", "missing-key", "unknown-component", "covariate-without-source"],
)
def test_bad_key_is_named(tmp_path, old, new, message):
    path = write_variant(tmp_path, old, new)
    with pytest.raises(DefinitionError, match=message):
        load_definition(path)


def test_nested_list_error_points_at_item(tmp_path):
    path = write_variant(tmp_path, "    variable: ocs", "    varible: ocs")
    with pytest.raises(DefinitionError) as error:
        load_definition(path)
    assert "observations.1.varible" in str(error.value)
    assert "did you mean 'variable'?" in str(error.value)
    assert f":{line_of(path, 'varible: ocs')}:" in str(error.value)


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


# ------------------------------------------------ numbers (issue 8 item 7)


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("importance: 0.3,", "importance: .nan,", "scores.weights.importance"),
        ("importance: 0.3,", "importance: .inf,", "scores.weights.importance"),
        ("delta_min: {importance: 0.05,", "delta_min: {importance: .nan,", "scores.delta_min.importance"),
        ("min_r2: 0.2", "min_r2: .nan", "learner.min_r2"),
        ("coverage_min: 0.8", "coverage_min: .nan", "scores.coverage_min"),
    ],
)
def test_non_finite_numbers_are_refused(tmp_path, old, new, key):
    path = write_variant(tmp_path, old, new)
    with pytest.raises(DefinitionError, match=rf"{key}: .*finite number"):
        load_definition(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # issue 15 item 7: a distance_max below what the metric can reach made scores jump to 0
        ("distance_max: {importance: 1.0,", "distance_max: {importance: 0.2,",
         r"scores\.distance_max: every distance_max must be >= 1"),
        ("  coverage_min: 0.8", "  coverage_min: 0.8\n  discrimination_factor: 1.0", r"scores\.discrimination_factor"),
    ],
)
def test_settings_that_would_make_the_score_map_jump_are_refused(tmp_path, old, new, message):
    with pytest.raises(DefinitionError, match=message):
        load_definition(write_variant(tmp_path, old, new))


def test_negative_delta_min_is_refused(tmp_path):
    path = write_variant(tmp_path, "response: 0.05,", "response: -0.1,")
    with pytest.raises(DefinitionError, match=r"scores\.delta_min: delta_min metric 'response' must be a finite number >= 0"):
        load_definition(path)


# ------------------------------------------- fail early (issue 11 item 4)


@pytest.mark.parametrize(
    ("old", "new", "section", "expected"),
    [
        ("delta_min: {importance: 0.05, response: 0.05, sensitivity: 0.1, explained_variance: 0.05}",
         "delta_min: {importance: 0.07}", "delta_min",
         {"importance": 0.07, "response": 0.05, "sensitivity": 0.1, "explained_variance": 0.05}),
        # the old name stock_bias is accepted for total_stock
        ("weights: {importance: 0.3, response: 0.2, sensitivity: 0.1, explained_variance: 0.1, total_stock: 0.1,",
         "weights: {importance: 0.5, stock_bias: 0.3,", "weights",
         {"importance": 0.5, "total_stock": 0.3, "response": 0.2}),
    ],
)
def test_partial_score_maps_are_completed_from_the_defaults(tmp_path, old, new, section, expected):
    definition, _ = load_definition(write_variant(tmp_path, old, new))
    completed = getattr(definition.scores, section)
    assert {key: completed[key] for key in expected} == expected


def test_unknown_delta_min_metric_lists_the_known_ones(tmp_path):
    path = write_variant(tmp_path, "delta_min: {importance: 0.05,", "delta_min: {importanse: 0.05,")
    with pytest.raises(DefinitionError, match="did you mean 'importance'.*known: importance, response, sensitivity, explained_variance"):
        load_definition(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  explainer: shap", "  explainer: shapp",
         r"learner\.explainer: unknown explainer 'shapp' \(known: permutation, shap\)"),
        ("  estimator: gradient_boosting", "  estimator: xgboost",
         r"learner\.estimator: unknown learner 'xgboost' \(known: gam, gradient_boosting\)"),
        ("  response: ale", "  response: pdp", r"learner\.response: unknown response method 'pdp' \(known: ale\)"),
        ("  scheme: whittaker", "  scheme: koppen",
         r"regions\.scheme: unknown region scheme 'koppen' \(known: file, global_only, mask, whittaker\)"),
        ("  lat_max: 90", "  lat_max: 90\n  regridder: auto",
         r"analysis_grid\.regridder: unknown regridder 'auto' \(known: builtin, xesmf\)"),
    ],
)
def test_unknown_registered_names_fail_at_load(tmp_path, old, new, message):
    path = write_variant(tmp_path, old, new)
    with pytest.raises(DefinitionError, match=message):
        load_definition(path)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{learning_rate: -1}", r"learner\.params: not valid for 'gradient_boosting'.*learning_rate"),
        ("{max_iters: 100}", r"learner\.params: not valid for 'gradient_boosting'.*max_iters"),
    ],
)
def test_learner_params_are_checked_by_building_the_learner(tmp_path, params, message):
    path = write_variant(tmp_path, "params: {max_iter: 100, learning_rate: 0.15, max_depth: 4}", f"params: {params}")
    with pytest.raises(DefinitionError, match=message):
        load_definition(path)


def test_default_regridder_is_builtin():
    definition, _ = load_definition(benchmark_path("demo"))
    assert definition.analysis_grid.regridder == "builtin"
    assert "xesmf" in Definition.model_json_schema()["$defs"]["GridSpec"]["properties"]["regridder"]["description"]


# -------------------------------------- hostile files (issue 8 item 8)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (alias_bomb().encode(), r"bomb\.yaml:\d+: expands to more than 100000 values"),
        (b"a: " + b"[" * 100_000 + b"]" * 100_000, r"bomb\.yaml:1: nested deeper than 64 levels"),
        (b"".join(b"  " * i + b"k%d:\n" % i for i in range(100)) + b"  " * 100 + b"x\n",
         r"bomb\.yaml:65: nested deeper than 64 levels"),
        (bytes(range(256)) * 8, r"bomb\.yaml: a binary file"),
        ("name: d\xe9mo\n".encode("latin-1"), r"bomb\.yaml:1: not UTF-8 text"),
        (b"name: a\n---\nname: b\n", r"bomb\.yaml:\d+: not valid YAML"),
        (b"x" * (2 << 20), r"bomb\.yaml: \d+ bytes is too large"),
    ],
    ids=["alias-bomb", "deep-flow", "deep-block", "binary", "latin-1", "two-documents", "huge"],
)
def test_hostile_files_fail_with_one_line(tmp_path, content, message):
    path = tmp_path / "bomb.yaml"
    path.write_bytes(content)
    with pytest.raises(DefinitionError, match=message) as error:
        load_definition(path)
    assert "\n" not in str(error.value)


@pytest.mark.slow
def test_alias_bomb_fails_fast(tmp_path):
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    started = time.perf_counter()
    with pytest.raises(DefinitionError, match="expands to more than"):
        load_definition(path)
    assert time.perf_counter() - started < 5.0  # unguarded, the alias bomb alone takes > 40 s


def test_aliases_within_limits_still_work(tmp_path):
    text = benchmark_path("demo").read_text()
    text = text.replace("  cv: {block_size: 10, folds: 5}", "  cv: &cv {block_size: 10, folds: 5}")
    path = tmp_path / "aliases.yaml"
    path.write_text(text)
    definition, _ = load_definition(path)
    assert definition.learner.cv.folds == 5
