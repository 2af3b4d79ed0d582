"""The command line: exit codes, outputs and messages."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import write_definition

from socbench.cli import EXIT_FAILED, EXIT_OK, main
from socbench.resources import benchmark_path


def test_run_writes_a_complete_scorecard(tmp_path, small_world, small_definition, capsys):
    definition = write_definition(small_definition, small_world, tmp_path / "small.yaml")
    out = tmp_path / "card"
    assert main(["run", str(definition), "--out", str(out), "--workers", "1", "--quiet"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "SYN-FAITHFUL" in printed and str(out / "index.html") in printed
    for name in ("index.html", "scores.json", "scores.csv", "importances.csv", "responses.csv", "provenance.json"):
        assert (out / name).is_file(), name
    scores = pd.read_csv(out / "scores.csv")
    assert list(scores.columns) == ["model", "region", "metric", "value"]
    assert {"overall", "importance", "response", "explained_variance", "total_stock", "ilamb_bias", "spatial_distribution"} <= set(scores.metric)
    assert "global" in set(scores.region)
    assert set(scores.model) == {"SYN-FAITHFUL", "SYN-TEMPNPP", "SYN-DOUBLE", "SYN-UNRELATED"}
    overall = scores[(scores.metric == "overall") & (scores.region == "global")].set_index("model")["value"]
    assert overall["SYN-FAITHFUL"] > overall["SYN-UNRELATED"]  # the planted truth, not just a table
    importances = pd.read_csv(out / "importances.csv")
    assert list(importances.columns[:6]) == ["dataset", "region", "covariate", "share", "share_low", "share_high"]
    bundle = json.loads((out / "scores.json").read_text())
    dimensions = bundle["DIMENSIONS"]
    assert dimensions["json_structure"][:4] == ["source_id", "experiment_id", "member_id", "grid_label"]
    assert set(dimensions["source_id"]) == set(scores.model)
    assert list(dimensions["experiment_id"]) == ["historical"] and list(dimensions["member_id"]) == ["r1i1p1f1"]
    assert list(dimensions["grid_label"]) == ["gn"] and "model" not in dimensions
    assert json.loads((out / "output.json").read_text())["index"] == "index.html"
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["definition_sha256"] and provenance["seeds"]["learner"] == small_definition.learner.seed
    assert any(path.endswith("clay.nc") for path in provenance["input_files"])


def test_validate_ok_and_bad(tmp_path, capsys):
    assert main(["validate", str(benchmark_path("demo"))]) == EXIT_OK
    bad = tmp_path / "bad.yaml"
    bad.write_text(benchmark_path("demo").read_text().replace("  seed: ", "  sead: "))
    assert main(["validate", str(bad)]) == EXIT_FAILED
    error = capsys.readouterr().err
    assert "learner.sead" in error and "did you mean 'seed'" in error
    assert "Traceback" not in error


def test_schema_prints_json(capsys):
    assert main(["schema"]) == EXIT_OK
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Definition"


def test_run_with_missing_data_is_one_clear_line(tmp_path, capsys):
    code = main(["run", str(benchmark_path("demo")), "--data-root", str(tmp_path), "--out", str(tmp_path / "o"), "--quiet"])
    assert code == EXIT_FAILED
    error = capsys.readouterr().err.strip()
    assert error.startswith("socbench: error:") and "climate_tas.nc" in error and "no file matches" in error
    assert "Traceback" not in error
    assert not (tmp_path / "o").exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert "socbench" in capsys.readouterr().out


def test_socbench_warnings_are_one_line(capsys):
    import warnings

    from socbench.cli import _one_line_warnings
    from socbench.errors import SocbenchWarning

    saved = warnings.formatwarning
    try:
        _one_line_warnings(debug=False)
        text = warnings.formatwarning(SocbenchWarning("obs/a.nc: variable 'soc': units 'Kg/m2'\n read as 'kg m-2'"),
                                      SocbenchWarning, "x.py", 1)
    finally:
        warnings.formatwarning = saved
    assert text == "socbench: warning: obs/a.nc: variable 'soc': units 'Kg/m2' read as 'kg m-2'\n"
