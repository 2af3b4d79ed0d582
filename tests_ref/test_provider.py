"""The provider's parts: discovery, data requirements, one execution, its bundles, the bundle cache."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from climate_ref_core.datasets import DatasetCollection, ExecutionDatasetCollection, SourceDatasetType
from climate_ref_core.diagnostics import ExecutionDefinition
from climate_ref_core.providers import DiagnosticProvider
from climate_ref_core.pycmec.controlled_vocabulary import CV
from climate_ref_core.pycmec.metric import CMECMetric
from climate_ref_core.pycmec.output import CMECOutput
from conftest import BUNDLE, NO_NPP
from loguru import logger

import socbench.check
from socbench.discover import find_drs_files, latest_versions
from socbench.errors import SocbenchError
from socbench.ref import SocbenchProvider, bundles
from socbench.ref.diagnostic import SCORECARD_DIR, RequireModelVariables, SocDrivers, model_variables, thread_limit
from socbench.report.cmec import ENVELOPE, STRUCTURE, split_metric

CV_FILE = Path(importlib.util.find_spec("climate_ref_core").origin).parent / "pycmec" / "cv_cmip7_aft.yaml"
MODEL = "SYN-UNRELATED"  # its emulator is unreliable: driver scores withheld
GROUP = ("source_id", "experiment_id", "member_id", "grid_label")
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # discard port: nothing listens, so any download would fail


def catalogue(world: Path, source_id: str, member: str = "r1i1p1f1") -> pd.DataFrame:
    """The datasets of one model member, as the REF's catalogue holds them (latest versions)."""
    files = latest_versions(find_drs_files(world / "CMIP6", source_id=source_id, member_id=member))
    files = files.assign(instance_id=files["source_id"] + "." + files["variable_id"])
    return files.reset_index(drop=True)


def execution_definition(diagnostic, world: Path, source_id: str, out: Path) -> ExecutionDefinition:
    table = catalogue(world, source_id)
    selector = tuple((facet, str(table[facet].iloc[0])) for facet in GROUP)
    datasets = ExecutionDatasetCollection(
        {SourceDatasetType.CMIP6: DatasetCollection(table, "instance_id", selector=selector)}
    )
    return ExecutionDefinition(diagnostic=diagnostic, key=f"test_{source_id}", datasets=datasets,
                               output_directory=out / source_id, root_directory=out)


@pytest.fixture(scope="module")
def diagnostic(benchmark) -> SocDrivers:
    provider = SocbenchProvider("socbench", "test")
    provider.register(SocDrivers(benchmark))
    return provider.get("soc-drivers")


@pytest.fixture(scope="module")
def execution(diagnostic, world, definition_file, registry_file, mirror, tmp_path_factory):
    """One model executed as the REF would: bundle fetched first, then ``run`` with no reachable mirror."""
    threads = []

    def recording(*args, **kwargs):
        from threadpoolctl import threadpool_info

        threads.extend(pool["num_threads"] for pool in threadpool_info())
        return original(*args, **kwargs)

    original = socbench.check.score_against
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"SOCBENCH_REF_BENCHMARK": str(definition_file), "SOCBENCH_REF_BUNDLE": BUNDLE,
                            "SOCBENCH_REF_REGISTRY": str(registry_file), "REF_DATASET_CACHE_DIR": str(cache),
                            "SOCBENCH_REF_BUNDLE_URL": mirror.as_uri()}.items():
            patch.setenv(name, value)
        bundles.fetch_bundle()
        patch.setenv("SOCBENCH_REF_BUNDLE_URL", CLOSED_PORT_URL)
        patch.setattr(socbench.check, "score_against", recording)
        definition = execution_definition(diagnostic, world, MODEL, tmp_path_factory.mktemp("executions"))
        result = diagnostic.run(definition)
    return result, definition, threads


def _strict(load, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load(path)


def test_entry_point_finds_the_provider():
    (entry,) = [e for e in importlib.metadata.entry_points(group="climate-ref.providers") if e.name == "socbench"]
    provider = entry.load()
    assert isinstance(provider, DiagnosticProvider) and provider.slug == "socbench"
    assert [d.slug for d in provider.diagnostics()] == ["soc-drivers"]


def test_facets_are_the_ref_vocabulary(diagnostic):
    vocabulary = CV.load_from_file(CV_FILE)
    assert list(diagnostic.facets) == STRUCTURE and "model" not in diagnostic.facets
    for facet in diagnostic.facets:
        vocabulary.get_dimension_by_name(facet)


def test_data_requirements_follow_the_benchmark(diagnostic, benchmark):
    cmip6, cmip7 = (options[0] for options in diagnostic.data_requirements)
    assert (cmip6.source_type, cmip7.source_type) == (SourceDatasetType.CMIP6, SourceDatasetType.CMIP7)
    wanted = {(v, table) for v, (table, _) in model_variables(benchmark).items()}
    assert {(f.facets["variable_id"][0], f.facets["table_id"][0]) for f in cmip6.filters} == wanted
    assert {v for v, _ in wanted} == {"cSoil", "tas", "pr", "npp"}  # target + the demo's model covariates
    assert cmip6.group_by == GROUP and cmip7.group_by[2] == "variant_label"
    supplementary = [c.supplementary_facets["variable_id"] for c in cmip6.constraints if hasattr(c, "supplementary_facets")]
    assert supplementary == ["sftlf", "areacella"]


def test_execution_writes_bundles_that_load_and_pass_the_vocabulary(execution):
    result, definition, _ = execution
    assert result.successful
    metric = _strict(CMECMetric.load_from_json, definition.to_output_path(result.metric_bundle_filename))
    output = _strict(CMECOutput.load_from_json, definition.to_output_path(result.output_bundle_filename))
    messages = []
    sink = logger.add(messages.append, level="WARNING")
    try:
        CV.load_from_file(CV_FILE).validate_metrics(metric)
    finally:
        logger.remove(sink)
    assert not messages
    assert metric.DIMENSIONS.root["json_structure"] == STRUCTURE
    assert list(metric.DIMENSIONS.root["source_id"]) == [MODEL]
    assert output.index == f"{SCORECARD_DIR}/index.html"
    listed = [entry.filename for section in (output.html, output.data, output.plots) for entry in section.values()]
    assert all(definition.to_output_path(name).is_file() for name in listed)
    assert {f"{SCORECARD_DIR}/scores.csv", f"{SCORECARD_DIR}/assessments.csv"} <= set(listed)
    assert any(name.startswith(f"{SCORECARD_DIR}/models/") for name in output.html)


def _bundle_values(metric: CMECMetric) -> dict[tuple, float]:
    return {tuple(v.dimensions[d] for d in STRUCTURE[4:] if d != "kind") + (v.kind,): v.value
            for v in metric.iter_results()}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= 1e-9


def test_execution_scores_equal_socbench_run(execution, socbench_run):
    result, definition, _ = execution
    run_result, _ = socbench_run
    values = _bundle_values(CMECMetric.load_from_json(definition.to_output_path(result.metric_bundle_filename)))
    expected = {}
    for row in run_result.scores[run_result.scores["model"] == MODEL].itertuples():
        expected[(ENVELOPE, row.region, *split_metric(row.metric), "model")] = row.value
    for row in run_result.ceiling.itertuples():
        expected[(row.product, row.region, *split_metric(row.metric), "reference")] = row.value
    assert expected and values.keys() == expected.keys()
    different = [key for key, value in expected.items() if not _same(value, values[key])]
    assert not different, different[:5]


def test_withheld_scores_are_null_with_their_reason(execution):
    result, definition, _ = execution
    assessments = pd.read_csv(definition.to_output_path(f"{SCORECARD_DIR}/assessments.csv"))
    withheld = assessments[assessments["status"] == "withheld"]
    assert len(withheld), "the unrelated model should have withheld driver scores"
    metric = CMECMetric.load_from_json(definition.to_output_path(result.metric_bundle_filename))
    scores = {(v.dimensions["region"], v.dimensions["metric"]): v for v in metric.iter_results()
              if v.dimensions["statistic"] == "score" and v.kind == "model"}
    for row in withheld.itertuples():
        value = scores[(row.region, row.metric)]
        assert math.isnan(value.value)
        assert value.attributes["reason"] == row.reason and value.attributes["explanation"]
    # a scored value carries attributes only when it is capped (an unreliable model emulator: 0, with the reason)
    for value in scores.values():
        if not math.isnan(value.value) and value.attributes is not None:
            assert value.attributes["status"] == "capped" and value.attributes["reason"] == "model_emulator_unreliable"
            assert value.value == 0.0


def test_execution_caps_blas_threads(execution):
    _, _, threads = execution
    assert threads and max(threads) == 1


def test_thread_limit_is_checked(monkeypatch):
    monkeypatch.setenv("SOCBENCH_REF_THREADS", "0")
    with pytest.raises(SocbenchError, match="SOCBENCH_REF_THREADS"):
        thread_limit()


def test_execute_never_downloads(diagnostic, world, provider_env, monkeypatch, tmp_path):
    monkeypatch.setenv("SOCBENCH_REF_BUNDLE_URL", CLOSED_PORT_URL)
    definition = execution_definition(diagnostic, world, MODEL, tmp_path / "executions")
    with pytest.raises(SocbenchError, match="ref providers setup"):
        diagnostic.execute(definition)
    assert not (Path(provider_env["REF_DATASET_CACHE_DIR"]) / "socbench" / BUNDLE).exists()


def test_setup_checks_every_file_hash(provider_env, mirror, monkeypatch, tmp_path):
    tampered = tmp_path / "tampered"
    shutil.copytree(mirror, tampered)
    with (tampered / BUNDLE / "ceiling.csv").open("a") as handle:
        handle.write("HWSD-like,global,overall,1.0\n")
    monkeypatch.setenv("SOCBENCH_REF_BUNDLE_URL", tampered.as_uri())
    with pytest.raises(ValueError, match="hash"):
        bundles.fetch_bundle()
    provider = SocbenchProvider("socbench", "test")
    assert not provider.validate_setup(None)
    monkeypatch.setenv("SOCBENCH_REF_BUNDLE_URL", mirror.as_uri())
    provider.fetch_data(None)
    assert provider.validate_setup(None)


def test_unknown_bundle_is_one_clear_line(provider_env, monkeypatch):
    monkeypatch.setenv("SOCBENCH_REF_BUNDLE", "nonesuch")
    with pytest.raises(SocbenchError, match=r"'nonesuch' is not in the registry \(known: small\)"):
        bundles.fetch_bundle()


def test_model_missing_a_covariate_is_not_executed_and_says_why(diagnostic, world):
    requirement = diagnostic.data_requirements[0][0]
    (constraint,) = [c for c in requirement.constraints if isinstance(c, RequireModelVariables)]
    messages = []
    sink = logger.add(lambda message: messages.append(str(message)), level="WARNING")
    try:
        kept = constraint.apply(catalogue(world, NO_NPP), catalogue(world, NO_NPP))
        complete = constraint.apply(catalogue(world, MODEL), catalogue(world, MODEL))
    finally:
        logger.remove(sink)
    assert kept.empty and len(complete) == len(catalogue(world, MODEL))
    assert len(messages) == 1 and NO_NPP in messages[0] and "no npp (covariate npp)" in messages[0]


def test_without_configuration_the_shipped_demo_bundle_is_set_up(monkeypatch, tmp_path):
    from socbench.resources import resource_dir

    for name in ("SOCBENCH_REF_BENCHMARK", "SOCBENCH_REF_BUNDLE", "SOCBENCH_REF_REGISTRY", "SOCBENCH_REF_BUNDLE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REF_DATASET_CACHE_DIR", str(tmp_path))
    assert bundles.bundle_name() == "demo"
    cached = bundles.fetch_bundle()
    shipped = resource_dir("reference") / "demo"
    assert cached == tmp_path / "socbench" / "demo"
    assert sorted(p.name for p in cached.iterdir()) == sorted(p.name for p in shipped.iterdir() if p.name[0] != ".")
    assert (cached / "manifest.json").read_bytes() == (shipped / "manifest.json").read_bytes()
    assert bundles.cached_bundle() == cached
