"""The CI gate: reference bundles, socbench check, exit codes, Markdown and JUnit."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import write_definition
from helpers import member_dir

from socbench.check import check, junit_xml, markdown_summary
from socbench.cli import EXIT_FAILED, EXIT_OK, EXIT_REGRESSION, main
from socbench.errors import BundleError
from socbench.pipeline import run
from socbench.reference import load_reference, save_reference


@pytest.fixture(scope="module")
def definition_file(small_definition, small_world, tmp_path_factory) -> Path:
    return write_definition(small_definition, small_world, tmp_path_factory.mktemp("definition") / "small.yaml")


@pytest.fixture(scope="module")
def bundle(small_definition, small_world, tmp_path_factory) -> Path:
    result = run(small_definition, small_world, workers=2)
    return save_reference(result.reference, result, tmp_path_factory.mktemp("bundle") / "small")


def test_bundle_round_trip(bundle, small_definition):
    reference, baseline, ceiling = load_reference(bundle, small_definition)
    assert {"SYN-FAITHFUL", "SYN-TEMPNPP"} <= set(baseline.model)
    assert len(reference.products) == 4 and reference.emulations
    assert "global" in reference.context.regions
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert set(manifest["files"]) == {"reference.nc", "regions.csv", "baseline_scores.csv", "ceiling.csv"}


def test_faithful_model_passes_against_itself(bundle, small_definition, small_world, tmp_path):
    outcome = check(small_definition, bundle, {"SYN-FAITHFUL": str(member_dir(small_world, "SYN-FAITHFUL"))})
    assert outcome.passed, outcome.comparison
    both = outcome.comparison.dropna(subset=["baseline", "new"], how="all")
    np.testing.assert_allclose(both["new"].to_numpy(), both["baseline"].to_numpy(), atol=1e-9)  # NaN == NaN: withheld in both
    assert set(outcome.comparison["status"]) == {"pass"}
    # ... and it is the faithful model's own row that it reproduces: the baseline tells the models apart
    _, baseline, _ = load_reference(bundle, small_definition)
    overall = baseline[(baseline["metric"] == "overall") & (baseline["region"] == "global")].set_index("model")["value"]
    new = outcome.result.scores
    now = new[(new["metric"] == "overall") & (new["region"] == "global")]["value"].item()
    assert now == pytest.approx(overall["SYN-FAITHFUL"], abs=1e-9) and overall["SYN-FAITHFUL"] > overall["SYN-UNRELATED"] + 0.1


def test_cli_gate_exit_codes_markdown_and_junit(bundle, definition_file, small_world, tmp_path):
    faithful = member_dir(small_world, "SYN-FAITHFUL")
    tempnpp = member_dir(small_world, "SYN-TEMPNPP")
    out = tmp_path / "ok"
    code = main(["check", str(definition_file), "--reference", str(bundle), "--model", f"SYN-FAITHFUL={faithful}",
                 "--out", str(out), "--quiet", "--no-cache"])
    assert code == EXIT_OK
    assert (out / "index.html").is_file() and "passed" in (out / "summary.md").read_text()
    dimensions = json.loads((out / "scores.json").read_text())["DIMENSIONS"]  # the model's CMIP facets, named
    assert [list(dimensions[f]) for f in ("source_id", "experiment_id", "member_id", "grid_label")] == [
        ["SYN-FAITHFUL"], ["historical"], ["r1i1p1f1"], ["gn"]]

    out = tmp_path / "bad"
    code = main(["check", str(definition_file), "--reference", str(bundle), "--model", f"NEW={tempnpp}",
                 "--baseline", "SYN-FAITHFUL", "--out", str(out), "--quiet", "--no-cache"])
    assert code == EXIT_REGRESSION
    markdown = (out / "summary.md").read_text()
    assert markdown.startswith("## socbench check FAILED")
    first_table = markdown.split("### Regressions", 1)[1].split("<details>", 1)[0]
    assert "global" in first_table and "importance" in first_table
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    failures = [c for c in cases if c.find("failure") is not None]
    assert int(suite.get("failures")) == len(failures) > 0
    assert int(suite.get("tests")) == len(cases)
    regressed_regions = {c.get("name").split(" / ")[0] for c in failures}
    for region in regressed_regions:
        assert region in markdown


def test_truncated_bundle_is_exit_2(bundle, definition_file, small_world, tmp_path, capsys):
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in bundle.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    data = (broken / "reference.nc").read_bytes()
    (broken / "reference.nc").write_bytes(data[: len(data) // 2])
    code = main(["check", str(definition_file), "--reference", str(broken), "--model",
                 f"X={member_dir(small_world, 'SYN-FAITHFUL')}", "--baseline", "SYN-FAITHFUL", "--quiet",
                 "--out", str(tmp_path / "o")])
    assert code == EXIT_FAILED
    error = capsys.readouterr().err
    assert "reference.nc" in error and "checksum" in error and "Traceback" not in error


def test_bundle_of_another_format_is_refused_with_how_to_rebuild_it(bundle, small_definition, tmp_path):
    import json

    old = tmp_path / "old"
    old.mkdir()
    for file in bundle.iterdir():
        (old / file.name).write_bytes(file.read_bytes())
    manifest = json.loads((old / "manifest.json").read_text())
    from socbench.reference import FORMAT

    manifest["format"] = FORMAT - 1
    (old / "manifest.json").write_text(json.dumps(manifest))
    expected = f"bundle format {FORMAT - 1}, this socbench reads format {FORMAT}.*socbench reference build"
    with pytest.raises(BundleError, match=expected):
        load_reference(old, small_definition)


def test_bundle_built_with_another_definition_is_refused(bundle, small_definition):
    data = small_definition.model_dump()
    data["learner"]["seed"] = 1
    other = type(small_definition).model_validate(data)
    with pytest.raises(BundleError, match="sections that differ: learner"):
        load_reference(bundle, other)


def test_junit_and_markdown_are_consistent(bundle, small_definition, small_world):
    outcome = check(small_definition, bundle, {"NEW": str(member_dir(small_world, "SYN-UNRELATED"))},
                    baseline="SYN-FAITHFUL")
    suite = ET.fromstring(junit_xml(outcome)).find("testsuite")
    assert int(suite.get("failures")) == len(outcome.regressions) > 0
    assert f"Regressions ({len(outcome.regressions)})" in markdown_summary(outcome)


def test_bundle_refuses_reordered_covariates(bundle, small_definition):
    data = small_definition.model_dump()
    data["covariates"] = dict(reversed(list(data["covariates"].items())))
    with pytest.raises(BundleError, match="covariates"):
        load_reference(bundle, type(small_definition).model_validate(data))


def test_check_bootstraps_the_new_model_as_the_definition_says(bundle, small_definition, small_world):
    """A model's refits are part of its estimate (bagging): check must use the definition's number,
    as the bundle's baseline did, or an unchanged model would show spurious changes."""
    model = {"SYN-TEMPNPP": str(member_dir(small_world, "SYN-TEMPNPP"))}
    default = check(small_definition, bundle, model)
    assert default.passed
    importances = default.result.importances
    assert (importances.share_high > importances.share_low).any()
    none = check(small_definition, bundle, model, bootstraps=0)
    assert not np.array_equal(default.result.scores["value"].values, none.result.scores["value"].values)



def test_given_model_without_scores_is_missing_everywhere_and_fails():
    import pandas as pd

    from socbench.check import CheckResult, compare
    from fake_result import make_fake_result

    baseline = pd.DataFrame({"model": "OLD", "region": ["global", "tundra"], "metric": "overall", "value": [0.8, 0.6]})
    no_scores = baseline.iloc[:0]
    assert compare(no_scores, baseline, "OLD", 0.02).empty  # before: an unscored model compared as nothing
    table = compare(no_scores, baseline, "OLD", 0.02, models=["NEW"])
    assert list(table.status) == ["missing", "missing"] and set(table.model) == {"NEW"}
    result = make_fake_result(with_failure=False)
    result.scores = result.scores.iloc[:0]
    outcome = CheckResult(result=result, comparison=table.iloc[:0], baseline="OLD", tolerance=0.02, models=["NEW"])
    assert outcome.unscored == ["NEW"] and not outcome.passed


def test_markdown_summary_neutralises_untrusted_reasons():
    import pandas as pd

    from socbench.check import CheckResult, markdown_summary
    from fake_result import make_fake_result

    result = make_fake_result(with_failure=False)
    result.failures = pd.DataFrame(
        [{"dataset": "M<img src=x onerror=alert(1)>", "kind": "model", "reason": "bad [link](http://evil) | *x*"}]
    )
    outcome = CheckResult(result=result, comparison=pd.DataFrame(columns=["model", "region", "metric", "baseline",
                          "new", "delta", "status"]), baseline="OLD", tolerance=0.02)
    text = markdown_summary(outcome)
    assert "<img" not in text and "[link](http" not in text
    assert "&lt;img" in text and "\\[link\\]" in text and "\\|" in text and "\\*x\\*" in text


def test_reference_registry_lists_every_file_with_its_sha256(bundle, tmp_path, capsys):
    import hashlib

    assert main(["reference", "registry", str(bundle), "--name", "mine"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    files = ["manifest.json", "reference.nc", "regions.csv", "baseline_scores.csv", "ceiling.csv"]
    assert [line.split()[0] for line in lines] == [f"mine/{name}" for name in files]
    for line, name in zip(lines, files):
        assert line.split()[1] == "sha256:" + hashlib.sha256((bundle / name).read_bytes()).hexdigest()
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    with (broken / "ceiling.csv").open("a") as handle:
        handle.write("x\n")
    assert main(["reference", "registry", str(broken)]) == EXIT_FAILED
    error = capsys.readouterr().err.strip()
    assert "ceiling.csv" in error and "checksum" in error and "Traceback" not in error
# ------------------------------------------------------------------ issue 17


def test_new_model_named_like_a_product_is_refused(bundle, definition_file, small_definition, small_world, tmp_path,
                                                   capsys):
    from socbench.errors import SocbenchError

    faithful = str(member_dir(small_world, "SYN-FAITHFUL"))
    with pytest.raises(SocbenchError, match=r"--model HWSD-like=\.\.\.: model name 'HWSD-like' is the name of an "
                                            r"observation product.*choose another name"):
        check(small_definition, bundle, {"HWSD-like": faithful}, baseline="SYN-FAITHFUL")
    code = main(["check", str(definition_file), "--reference", str(bundle), "--model", f"null={faithful}",
                 "--baseline", "SYN-FAITHFUL", "--quiet", "--no-cache", "--out", str(tmp_path / "o")])
    assert code == EXIT_FAILED
    assert "model name 'null' is a reserved name" in capsys.readouterr().err


def _member_with_daily_tas(world: Path, target: Path, day_version: str) -> Path:
    """A copy of SYN-FAITHFUL's member directory that also holds day/tas (30 K warmer) in ``day_version``."""
    import shutil

    import netCDF4

    member = shutil.copytree(member_dir(world, "SYN-FAITHFUL"), target)
    amon = next(member.glob("Amon/tas/*/*/*.nc"))
    grid, version = amon.parent.parent.name, amon.parent.name
    day_dir = member / "day" / "tas" / grid / (day_version or version)
    day_dir.mkdir(parents=True)
    daily = day_dir / amon.name.replace("_Amon_", "_day_")
    shutil.copy(amon, daily)
    with netCDF4.Dataset(daily, "a") as nc:
        nc["tas"][:] = nc["tas"][:] + 30.0
    return member


@pytest.mark.parametrize("day_version", ["", "v29990101"])
def test_the_definitions_table_decides_which_file_is_read(small_definition, small_world, tmp_path, day_version):
    from socbench.check import definition_tables, model_files_from_path

    member = _member_with_daily_tas(small_world, tmp_path / "member", day_version)
    files = model_files_from_path("X", str(member), definition_tables(small_definition)).files
    assert [p.parent.parent.parent.parent.name for p in files["tas"]] == ["Amon"]
    assert all("_Amon_" in p.name for p in files["tas"])


def test_a_variable_only_in_another_table_is_named(small_definition, small_world, tmp_path):
    import shutil

    from socbench.check import definition_tables, model_files_from_path
    from socbench.errors import InputDataError

    member = _member_with_daily_tas(small_world, tmp_path / "member", "")
    shutil.rmtree(member / "Amon" / "tas")
    with pytest.raises(InputDataError, match=r"model 'X': variable 'tas' is only in table\(s\) day; the definition "
                                             r"reads it from table 'Amon'"):
        model_files_from_path("X", str(member), definition_tables(small_definition))


def test_baseline_without_a_finite_score_is_an_error(bundle, definition_file, small_world, tmp_path, capsys):
    import pandas as pd

    scores = pd.read_csv(bundle / "baseline_scores.csv")
    scores["value"] = np.nan
    empty = tmp_path / "scores.csv"
    scores.to_csv(empty, index=False)
    code = main(["check", str(definition_file), "--reference", str(bundle), "--model",
                 f"SYN-FAITHFUL={member_dir(small_world, 'SYN-FAITHFUL')}", "--baseline-scores", str(empty),
                 "--quiet", "--no-cache", "--out", str(tmp_path / "o")])
    assert code == EXIT_FAILED
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "scores.csv: baseline model 'SYN-FAITHFUL' has no finite score" in error and "nothing can be compared" in error


def test_check_writes_the_provenance_of_a_run(bundle, definition_file, small_definition, small_world, tmp_path):
    faithful = str(member_dir(small_world, "SYN-FAITHFUL"))
    out = tmp_path / "o"
    main(["check", str(definition_file), "--reference", str(bundle), "--model", f"SYN-FAITHFUL={faithful}",
          "--quiet", "--no-cache", "--out", str(out)])
    provenance = json.loads((out / "provenance.json").read_text())
    from socbench.config import load_definition

    assert provenance["definition_sha256"] == load_definition(definition_file)[0].section_hash()
    assert {"socbench_version", "dependencies", "input_files", "seeds", "time_coverage"} <= set(provenance)
    assert any("SYN-FAITHFUL" in path for path in provenance["input_files"])
    assert provenance["check"]["reference_bundle"] == str(bundle.resolve())
    assert provenance["check"]["models"] == {"SYN-FAITHFUL": faithful}


def test_bare_bundle_name_not_found_names_where_it_looked(definition_file, small_world, tmp_path, monkeypatch, capsys):
    (tmp_path / ".bundle2.tmp-abc123").mkdir()  # what a killed `reference build --out bundle2` leaves
    monkeypatch.chdir(tmp_path)
    code = main(["check", str(definition_file), "--reference", "bundle2", "--model",
                 f"X={member_dir(small_world, 'SYN-FAITHFUL')}", "--baseline", "SYN-FAITHFUL", "--quiet", "--no-cache",
                 "--out", str(tmp_path / "o")])
    assert code == EXIT_FAILED
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "site-packages" not in error
    assert f"reference bundle 'bundle2' not found: no directory {tmp_path / 'bundle2'}" in error
    assert "shipped: demo" in error and ".bundle2.tmp-abc123 is what an interrupted" in error


def test_full_disk_while_writing_a_bundle_is_one_clear_line(bundle, small_definition, tmp_path, monkeypatch):
    from types import SimpleNamespace

    import xarray as xr

    reference, scores, ceiling = load_reference(bundle, small_definition)

    def full_disk(*args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_disk)
    with pytest.raises(BundleError, match=r"cannot write the reference bundle .*new \(RuntimeError: NetCDF: HDF error; "
                                          r"\d+ MB free there\): is the disk full"):
        save_reference(reference, SimpleNamespace(scores=scores, ceiling=ceiling), tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == []


@pytest.mark.parametrize("day_version", ["", "v29990101"])
def test_check_reads_the_definitions_table_not_a_newer_daily_file(bundle, small_definition, small_world, tmp_path,
                                                                  day_version):
    """A member holding Amon/tas and a (newer or same-version) day/tas, 30 K warmer: scored as itself (item 7)."""
    member = _member_with_daily_tas(small_world, tmp_path / "member", day_version)
    outcome = check(small_definition, bundle, {"SYN-FAITHFUL": str(member)})
    assert outcome.passed, (outcome.result.failures, outcome.regressions)
    assert all("_day_" not in path for path in outcome.result.provenance["input_files"])
