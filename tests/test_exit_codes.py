"""Exit codes CI can trust, and nothing silent (issue 8 items 1, 3, 5, 7, 9 and the lower items).

``run``: 0 every model scored, 1 partial (listed with reasons), 2 could not run.
``check``: 0 no regression and every given model scored, 1 regression or an
unscored model, 2 could not run.

A tiny world (4 degrees, one region, light learner) keeps each run to a few
seconds; models are chosen per test with ``models.include``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import pytest
from conftest import clone_model, write_definition
from helpers import alias_bomb, member_dir

from socbench import synth
from socbench.cli import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_REGRESSION, main
from socbench.config import load_definition
from socbench.outputs import MARKER, claim_output
from socbench.resources import benchmark_path

ROOT = Path(__file__).resolve().parents[1]


def csoil_file(world: Path, model: str) -> Path:
    return next(world.glob(f"CMIP6/*/*/{model}/historical/r1i1p1f1/Emon/cSoil/*/*/*.nc"))




@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """One faithful model, a ZERO copy (cSoil all zeros) and a NORTH copy (cSoil only north of 0 N)."""
    world = tmp_path_factory.mktemp("tiny-world")
    synth.make_world(world, seed=2, resolution=4.0, n_models=1, n_products=3)
    clone_model(world, "SYN-FAITHFUL", "ZERO", csoil_factor=0.0)
    clone_model(world, "SYN-FAITHFUL", "NORTH")
    with netCDF4.Dataset(csoil_file(world, "NORTH"), "a") as nc:
        south = nc["lat"][:] < 0
        values = nc["cSoil"][:]
        values[..., south, :] = 0.0
        nc["cSoil"][:] = values
    return world


def definition_file(world: Path, directory: Path, include: list[str]) -> Path:
    definition, _ = load_definition(benchmark_path("demo"))
    data = definition.model_dump()
    data["analysis_grid"]["resolution"] = 4.0
    data["regions"]["scheme"] = "global_only"
    data["learner"].update(bootstraps=0, params={"max_iter": 30, "max_depth": 3}, max_explain_cells=200, grid_points=6)
    data["observations"] = data["observations"][:3]
    data["models"]["include"] = include
    return write_definition(type(definition).model_validate(data), world, directory / f"{'-'.join(include)}.yaml")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> str:
    """One task cache for this module: the observation side is fitted once."""
    return str(tmp_path_factory.mktemp("module-cache"))


def run_cli(definition: Path, out: Path, cache: str, *extra: str) -> int:
    return main(["run", str(definition), "--out", str(out), "--workers", "1", "--quiet", "--cache", cache, *extra])


# ------------------------------------------------------------------ run


def test_run_exit_0_when_every_model_is_scored_and_again_into_its_own_output(world, tmp_path, cache, capsys):
    definition = definition_file(world, tmp_path, ["SYN-FAITHFUL"])
    out = tmp_path / "card"
    assert run_cli(definition, out, cache) == EXIT_OK
    assert (out / MARKER).is_file() and (out / "index.html").is_file()
    assert json.loads((out / "provenance.json").read_text())["regridder"] == "builtin"
    (out / "stale.txt").write_text("from the previous run")
    assert run_cli(definition, out, cache) == EXIT_OK  # socbench's own output is replaced
    assert not (out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SYN-FAITHFUL.yaml", "card"]


def test_model_without_score_rows_is_a_listed_failure_and_exit_1(world, tmp_path, cache, capsys):
    definition = definition_file(world, tmp_path, ["SYN-FAITHFUL", "ZERO"])
    out = tmp_path / "card"
    assert run_cli(definition, out, cache) == EXIT_PARTIAL
    failures = pd.read_csv(out / "failures.csv")
    row = failures[failures.dataset == "ZERO"].iloc[0]
    assert row.kind == "model"
    assert row.reason.startswith("not scored in any region: global: no valid cell")
    assert set(pd.read_csv(out / "scores.csv").model) == {"SYN-FAITHFUL"}
    printed = capsys.readouterr().out
    assert "status partial" in printed and "ZERO" in printed


def test_model_below_coverage_min_is_not_scored_with_the_reason(world, tmp_path, cache):
    from socbench.pipeline import run

    definition, root = load_definition(definition_file(world, tmp_path, ["SYN-FAITHFUL", "NORTH"]))
    result = run(definition, root)
    assert result.status == "partial"
    skipped = result.skipped[result.skipped.dataset == "NORTH"]
    assert list(skipped.region) == ["global"]
    share = int(skipped.reason.iloc[0].split("covers ")[1].split("%")[0])
    assert 40 < share < 80  # the northern land, about two thirds of it
    assert skipped.reason.iloc[0].endswith("of global, below scores.coverage_min 0.8")
    reason = result.failures.set_index("dataset").loc["NORTH", "reason"]
    assert f"covers {share}% of global" in reason
    assert "NORTH" not in set(result.scores.model)


def test_run_exit_2_when_nothing_can_run(tmp_path, capsys):
    code = main(["run", str(benchmark_path("demo")), "--data-root", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"])
    assert code == EXIT_FAILED
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# ------------------------------------------------------------------ check


@pytest.fixture(scope="module")
def bundle(world, tmp_path_factory, cache) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("bundle")
    definition = definition_file(world, directory, ["SYN-FAITHFUL"])
    out = directory / "tiny"
    code = main(["reference", "build", str(definition), "--out", str(out), "--workers", "1", "--quiet", "--cache", cache])
    assert code == EXIT_OK
    assert (out / MARKER).is_file()
    return definition, out


def check_cli(bundle, out: Path, *models: str, extra=()) -> int:
    definition, reference = bundle
    arguments = ["check", str(definition), "--reference", str(reference), "--out", str(out), "--quiet", "--no-cache"]
    for model in models:
        arguments += ["--model", model]
    return main(arguments + ["--baseline", "SYN-FAITHFUL", *extra])


def test_check_exit_0_when_no_regression(world, bundle, tmp_path, capsys):
    code = check_cli(bundle, tmp_path / "ok", f"SYN-FAITHFUL={member_dir(world, 'SYN-FAITHFUL')}")
    assert code == EXIT_OK
    assert "passed" in capsys.readouterr().out


def test_check_exit_1_for_an_unscored_model_with_the_reason_everywhere(world, bundle, tmp_path, capsys):
    out = tmp_path / "zero"
    code = check_cli(bundle, out, f"NEW={member_dir(world, 'ZERO')}")
    assert code == EXIT_REGRESSION
    printed = capsys.readouterr().out
    assert "FAILED" in printed and "not scored: NEW: not scored in any region: global: no valid cell" in printed
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert int(suite.get("tests")) > 0 and int(suite.get("failures")) > 0
    unscored = [c for c in suite.findall("testcase") if c.get("classname") == "socbench.NEW" and c.get("name") == "scored"]
    assert "no valid cell" in unscored[0].find("failure").get("message")
    assert "no valid cell" in (out / "summary.md").read_text()


def test_check_exit_2_when_it_cannot_run(world, bundle, tmp_path, capsys):
    code = check_cli((bundle[0], tmp_path / "no-bundle"), tmp_path / "o", f"X={member_dir(world, 'SYN-FAITHFUL')}")
    assert code == EXIT_FAILED
    assert "not found" in capsys.readouterr().err


@pytest.mark.parametrize("tolerance", ["nan", "inf", "-0.01", "abc"])
def test_tolerance_must_be_finite_and_non_negative(tolerance, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["check", "x.yaml", "--reference", "r", "--model", "A=b", "--tolerance", tolerance])
    assert exit_.value.code == EXIT_FAILED
    assert "argument --tolerance: expected a finite number >= 0" in capsys.readouterr().err


def test_check_function_refuses_a_nan_tolerance(bundle):
    from socbench.check import check
    from socbench.errors import SocbenchError

    definition, _ = load_definition(bundle[0])
    with pytest.raises(SocbenchError, match="tolerance: expected a finite number"):
        check(definition, bundle[1], {"A": "b"}, tolerance=float("nan"))


# ------------------------------------------------- --out (issue 8 item 3)


@pytest.fixture
def no_computing(monkeypatch):
    """Fail the test if a run starts: refusals must come before any computation."""
    import socbench.pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(socbench.pipeline, "run", refuse)


def test_out_with_user_files_is_refused_before_computing(tmp_path, no_computing, capsys):
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "thesis.tex").write_text("three years of work")
    code = main(["run", str(benchmark_path("demo")), "--out", str(out), "--quiet"])
    assert code == EXIT_FAILED
    assert (out / "thesis.tex").read_text() == "three years of work"
    error = capsys.readouterr().err.strip()
    assert "not empty and was not written by socbench" in error and len(error.splitlines()) == 1


def test_out_dot_holding_the_definition_is_refused(tmp_path, no_computing, monkeypatch, capsys):
    definition = tmp_path / "mine.yaml"
    definition.write_text(benchmark_path("demo").read_text())
    (tmp_path / MARKER).write_text("")  # even a directory socbench wrote once
    monkeypatch.chdir(tmp_path)
    assert main(["run", "mine.yaml", "--out", ".", "--quiet"]) == EXIT_FAILED
    assert definition.is_file()
    assert "holds mine.yaml, which replacing it would delete" in capsys.readouterr().err


def test_reference_build_refuses_a_foreign_directory(tmp_path, no_computing, capsys):
    out = tmp_path / "data"
    out.mkdir()
    (out / "obs.nc").write_bytes(b"precious")
    assert main(["reference", "build", str(benchmark_path("demo")), "--out", str(out), "--quiet"]) == EXIT_FAILED
    assert (out / "obs.nc").read_bytes() == b"precious"


def test_out_whose_parent_is_a_file_is_refused_before_computing(tmp_path, no_computing, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", str(benchmark_path("demo")), "--out", str(blocker / "card"), "--quiet"]) == EXIT_FAILED
    assert "is a file, not a directory" in capsys.readouterr().err


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    out = tmp_path / "card"
    leftovers = [tmp_path / ".card.tmp-k9x_2abc", tmp_path / ".card.old-0badf00d"]
    for directory in leftovers:
        directory.mkdir()
        (directory / "index.html").write_text("half written")
    unrelated = tmp_path / ".cards.tmp-k9x_2abc"
    unrelated.mkdir()
    with claim_output(out):
        assert not any(d.exists() for d in leftovers)
    assert unrelated.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cards.tmp-k9x_2abc"]  # the lock file is gone


def test_second_writer_exits_2_while_the_first_holds_the_directory(tmp_path, no_computing, capsys):
    out = tmp_path / "card"
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from socbench.outputs import claim_output
            with claim_output({str(out)!r}):
                print("held", flush=True)
                sys.stdin.readline()
        """)],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["run", str(benchmark_path("demo")), "--out", str(out), "--quiet"])
        assert code == EXIT_FAILED
        assert f"being written by another socbench (process {holder.pid}" in capsys.readouterr().err
    finally:
        holder.communicate("\n", timeout=30)
    with claim_output(out):  # released when the first writer is done
        pass


# ------------------------------------------- crashes and the cache (item 5)


def test_unexpected_error_is_exit_2_with_one_line_and_traceback_only_with_debug(monkeypatch, tmp_path, capsys):
    import socbench.pipeline

    def crash(*args, **kwargs):
        raise ValueError("Unit expression cannot have a\nscaling factor")

    monkeypatch.setattr(socbench.pipeline, "run", crash)
    arguments = ["run", str(benchmark_path("demo")), "--out", str(tmp_path / "o"), "--quiet"]
    assert main(arguments) == EXIT_FAILED
    error = capsys.readouterr().err
    assert error.strip() == (
        "socbench: error: unexpected ValueError: Unit expression cannot have a scaling factor; "
        "run with --debug for the traceback"
    )
    assert main(["--debug", *arguments]) == EXIT_FAILED
    error = capsys.readouterr().err
    assert "Traceback (most recent call last)" in error and error.strip().endswith("scaling factor")


def test_unusable_cache_directory_warns_and_the_run_goes_on(world, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    home.write_text("a file where the home directory should be")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SOCBENCH_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    definition = definition_file(world, tmp_path, ["SYN-FAITHFUL"])
    code = main(["run", str(definition), "--out", str(tmp_path / "card"), "--workers", "1", "--quiet"])
    assert code == EXIT_OK
    error = capsys.readouterr().err
    assert f"socbench: warning: task cache {home}/.cache/socbench is not usable" in error
    assert "running without the cache" in error


def test_cache_write_failure_disables_the_cache_with_one_warning(tmp_path):
    from socbench.cache import TaskCache
    from socbench.explain import run_emulation

    from helpers import make_task

    blocker = tmp_path / "cache"
    blocker.write_text("")
    messages = []
    cache = TaskCache(blocker, warn=messages.append)
    task = make_task(n=200)
    result = run_emulation(task)
    cache.store(task, result)
    cache.store(task, result)
    assert len(messages) == 1 and "cannot write" in messages[0] and not cache.writable


# ------------------------------------------------------------ lower items


def test_progress_lines_carry_no_terminal_control_characters(capsys):
    from socbench.cli import _progress

    _progress(False)("reading model EVIL\x1b[2J\x1b]0;pwned\x07\u202egnp.exe\nnext")
    line = capsys.readouterr().err
    assert line.count("\n") == 1
    assert not any(ch in line for ch in "\x1b\x07\u202e")
    assert "EVIL?[2J?]0;pwned??gnp.exe next" in line


@pytest.mark.slow
def test_alias_bomb_fails_validate_within_a_second(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    started = time.perf_counter()
    assert main(["validate", str(path)]) == EXIT_FAILED
    assert time.perf_counter() - started < 1.0


def test_alias_bomb_fails_validate_with_one_line(tmp_path, capsys):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert len(path.read_bytes()) < 700
    assert main(["validate", str(path)]) == EXIT_FAILED
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "expands to more than" in error


def test_tests_use_a_private_cache(private_task_cache):
    from socbench.cache import default_cache_dir

    assert default_cache_dir() == private_task_cache
    assert Path.home() / ".cache" not in default_cache_dir().parents


def test_unscored_models_names_the_regions_and_reasons():
    from socbench.assemble import unscored_models

    scores = pd.DataFrame({"model": ["A"], "region": ["global"], "metric": ["overall"], "value": [0.5]})
    skipped = [{"dataset": "B", "kind": "model", "region": r, "reason": "too few"} for r in ("global", "t1", "t2", "t3")]
    rows = unscored_models(["A", "B", "C"], scores, skipped)
    assert [r["dataset"] for r in rows] == ["B", "C"]
    assert rows[0]["reason"] == "not scored in any region: global: too few; t1: too few; t2: too few; and 1 more region(s)"
    assert rows[1]["reason"] == "not scored in any region (no score was computed)"
    assert np.all([r["kind"] == "model" for r in rows])


def test_model_without_overall_in_any_region_is_a_failure():
    """Weights only on importance, importance withheld everywhere: rows exist, but no overall (issue 17 item 9)."""
    from socbench.assemble import unscored_models

    scores = pd.DataFrame({
        "model": ["A", "A", "B", "B"],
        "region": ["global", "Tundra", "global", "Tundra"],
        "metric": ["overall", "total_stock", "overall", "overall"],
        "value": [np.nan, 0.7, np.nan, 0.4],
    })
    rows = unscored_models(["A", "B"], scores, [])
    assert [r["dataset"] for r in rows] == ["A"]
    assert rows[0]["reason"].startswith("no overall score in any region: every component with a weight")


def test_model_regions_not_scored_are_printed(capsys):
    from fake_result import make_fake_result

    from socbench.cli import _print_skipped

    result = make_fake_result(with_failure=True)
    failed = result.failures["dataset"].iloc[0]
    result.skipped = pd.DataFrame([
        {"dataset": "CESM2", "kind": "model", "region": "Tundra", "reason": "covers 59% of Tundra, below scores.coverage_min 0.8"},
        {"dataset": "HWSD-like", "kind": "observation", "region": "Tundra", "reason": "12 valid cells"},
        {"dataset": failed, "kind": "model", "region": "global", "reason": "no valid cell"},
    ])
    _print_skipped(result)
    printed = capsys.readouterr().out
    assert "Model regions not scored (1):" in printed
    assert "CESM2 / Tundra: covers 59% of Tundra, below scores.coverage_min 0.8" in printed
    assert "HWSD-like" not in printed and failed not in printed


@pytest.mark.parametrize("same", [True, False])
def test_baseline_from_another_definition_is_warned_about(tmp_path, monkeypatch, same):
    """`run --baseline` of a run of another definition (e.g. another grid) warns (issue 17 item 10)."""
    import warnings

    from socbench import cli
    from socbench.errors import SocbenchWarning
    from socbench.reference import SECTIONS

    definition, _ = load_definition(benchmark_path("demo"))
    data = definition.model_dump()
    data["analysis_grid"]["resolution"] = 10.0
    other = type(definition).model_validate(data)
    run_with = definition if same else other
    baseline = tmp_path / "previous"
    baseline.mkdir()
    pd.DataFrame({"model": ["M"], "region": ["global"], "metric": ["overall"], "value": [0.5]}).to_csv(
        baseline / "scores.csv", index=False)
    (baseline / "provenance.json").write_text(json.dumps({
        "definition_name": "demo", "definition_sha256": run_with.section_hash(),
        "definition_scoring_sha256": run_with.section_hash(*SECTIONS)}))
    monkeypatch.setattr(cli, "_run_and_report", lambda *args, **kwargs: EXIT_OK)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["run", str(benchmark_path("demo")), "--baseline", str(baseline), "--out", str(tmp_path / "o")]) == EXIT_OK
    messages = [str(w.message) for w in caught if issubclass(w.category, SocbenchWarning)]
    if same:
        assert messages == []
    else:
        assert len(messages) == 1 and "baseline previous was run with another benchmark definition" in messages[0]
