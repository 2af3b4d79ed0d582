"""climate-ref end to end, as a user runs it: ingest, setup from a mirror, solve, list, compare with ``socbench run``."""

from __future__ import annotations

import functools
import http.server
import json
import math
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import BUNDLE, NO_NPP

from socbench.report.cmec import ENVELOPE, split_metric

REF = str(Path(sys.executable).with_name("ref"))
MEMBER = "r1i1p1f1"  # the member `socbench run` reads (models.member: first)


@pytest.fixture(scope="module")
def mirror_server(mirror):
    """The bundle mirror over HTTP on 127.0.0.1 (a centre's own data server)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def ref_home(tmp_path_factory, definition_file, registry_file, mirror_server) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("ref")
    (home / "ref.toml").write_text(
        'ignore_datasets_url = ""\n\n'
        f'[db]\ndatabase_url = "sqlite:///{home}/db/climate_ref.db"\n\n'
        '[executor]\nexecutor = "climate_ref.executor.SynchronousExecutor"\n\n'
        '[[diagnostic_providers]]\nprovider = "socbench.ref:provider"\n'
    )
    env = {
        **os.environ,
        "REF_CONFIGURATION": str(home),
        "REF_DATASET_CACHE_DIR": str(home / "cache"),
        "SOCBENCH_REF_BENCHMARK": str(definition_file),
        "SOCBENCH_REF_BUNDLE": BUNDLE,
        "SOCBENCH_REF_REGISTRY": str(registry_file),
        "SOCBENCH_REF_BUNDLE_URL": mirror_server,
        "MPLBACKEND": "Agg",
    }
    return home, env


def ref(home_env, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    home, env = home_env
    done = subprocess.run([REF, *args], cwd=home, env=env, capture_output=True, text=True, timeout=900)
    if ok:
        assert done.returncode == 0, f"ref {' '.join(args)}: {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def solved(ref_home, world):
    """ref config validate, providers list/setup, datasets ingest, solve: the outputs of each."""
    outputs = {
        "validate": ref(ref_home, "config", "validate"),
        "providers": ref(ref_home, "providers", "list"),
        "setup": ref(ref_home, "providers", "setup", "--provider", "socbench", "--skip-env"),
        "ingest": ref(ref_home, "datasets", "ingest", "--source-type", "cmip6", str(world / "CMIP6")),
        "solve": ref(ref_home, "solve", "--provider", "socbench"),
    }
    groups = json.loads(ref(ref_home, "executions", "list-groups", "--format", "json").stdout)
    return outputs, groups


def _selectors(group: dict) -> dict[str, str]:
    return dict(group["selectors"]["cmip6"])


def test_provider_is_listed_and_setup_fetches_the_bundle(solved, ref_home):
    outputs, _ = solved
    assert "socbench" in outputs["providers"].stdout
    home, _ = ref_home
    assert sorted(p.name for p in (home / "cache" / "socbench" / BUNDLE).iterdir()) == [
        "baseline_scores.csv", "ceiling.csv", "manifest.json", "reference.nc", "regions.csv"]


def test_every_complete_model_member_is_executed_successfully(solved, world):
    outputs, groups = solved
    members = {(p.parents[6].name, p.parents[4].name) for p in (world / "CMIP6").rglob("cSoil_*.nc")}
    executed = {(_selectors(g)["source_id"], _selectors(g)["member_id"]) for g in groups}
    assert executed == {m for m in members if m[0] != NO_NPP}
    assert all(g["successful"] and g["provider"] == "socbench" and g["diagnostic"] == "soc-drivers" for g in groups)
    assert "0 failed" in outputs["solve"].stderr + outputs["solve"].stdout


def test_model_missing_a_covariate_is_not_executed_and_the_reason_is_shown(solved):
    outputs, groups = solved
    assert NO_NPP not in {_selectors(g)["source_id"] for g in groups}
    printed = outputs["solve"].stderr + outputs["solve"].stdout
    assert f"{NO_NPP} historical {MEMBER} gn not executed: no npp (covariate npp)" in printed


def test_no_vocabulary_warning_while_ingesting_results(solved):
    outputs, _ = solved
    assert "controlled vocabulary" not in outputs["solve"].stderr + outputs["solve"].stdout


def _ref_values(ref_home, group_id: int) -> list[dict]:
    done = ref(ref_home, "executions", "values", str(group_id), "--format", "json", "--limit", "1000000")
    return json.loads(done.stdout)


def test_scores_in_the_ref_database_equal_socbench_run(solved, socbench_run, ref_home):
    _, groups = solved
    result, _ = socbench_run
    compared = 0
    for group in groups:
        facets = _selectors(group)
        if facets["member_id"] != MEMBER:
            continue  # socbench run reads each model's first member only
        model = facets["source_id"]
        expected = {(ENVELOPE, "model", r.region, *split_metric(r.metric)): r.value
                    for r in result.scores[result.scores["model"] == model].itertuples()}
        expected.update({(r.product, "reference", r.region, *split_metric(r.metric)): r.value
                         for r in result.ceiling.itertuples()})
        stored = {(v["reference_source_id"], v["kind"], v["region"], v["metric"], v["statistic"]): v["value"]
                  for v in _ref_values(ref_home, group["id"])}
        assert stored.keys() == expected.keys(), model
        for key, value in expected.items():
            if math.isnan(value):
                assert stored[key] is None, (model, key)
            else:
                assert stored[key] == pytest.approx(value, abs=1e-9, rel=0), (model, key)
        compared += 1
    assert compared == len(set(result.scores["model"]))


def test_withheld_scores_keep_their_reason_in_the_database(solved, socbench_run, ref_home):
    result, _ = socbench_run
    withheld = result.assessments[result.assessments["status"] == "withheld"]
    assert len(withheld)
    home, _ = ref_home
    with sqlite3.connect(home / "db" / "climate_ref.db") as db:
        rows = db.execute(
            "select source_id, region, metric, value, attributes from metric_value "
            "where statistic = 'score' and kind = 'model' and member_id = ?", (MEMBER,)).fetchall()
    stored = {(model, region, metric): (value, attributes) for model, region, metric, value, attributes in rows}
    for row in withheld.itertuples():
        value, attributes = stored[(row.model, row.region, row.metric)]
        assert value is None or math.isnan(value)
        assert json.loads(attributes)["reason"] == row.reason


def test_results_directory_holds_bundles_and_scorecard(solved, ref_home):
    _, groups = solved
    home, _ = ref_home
    details = ref(ref_home, "executions", "inspect", str(groups[0]["id"])).stdout
    assert "Successful: True" in details and "socbench/" in details
    for name in ("diagnostic.json", "output.json", "out.log"):
        assert list((home / "results" / "socbench" / "soc-drivers").rglob(name)), name
    pages = list((home / "results" / "socbench" / "soc-drivers").rglob("socbench/index.html"))
    assert len(pages) == len(groups)
