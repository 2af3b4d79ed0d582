"""One rule for a score change against a baseline: the CI gate, the changes table and the scorecard agree."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from socbench import report
from socbench.changes import TOLERANCE, change_status
from socbench.check import compare
from socbench.report.baseline import Baseline, score_changes
from socbench.report.cells import change_row
from socbench.results import METRICS

try:
    from fake_result import make_fake_result
except ImportError:  # tests collected as a package
    from tests.fake_result import make_fake_result

MODEL = "CESM2"
#: Changes new - baseline: clearly regressed, at the boundary, within it, improved.
DELTAS = [-0.5, -0.03, -0.0201, -TOLERANCE, -0.0199, -0.005, 0.0, 0.005, 0.0199, TOLERANCE, 0.0201, 0.3]
CLASS_OF_STATUS = {"regressed": "delta-down", "improved": "delta-up", "pass": "delta-same"}


def _planted(result):
    """The model's finite score cells, and a baseline whose score is ``new - delta`` for each."""
    scores = result.scores
    mine = scores[(scores["model"] == MODEL) & scores["metric"].isin(METRICS) & np.isfinite(scores["value"])]
    baseline = scores.copy()
    planted = {}
    for i, (index, row) in enumerate(mine.iterrows()):
        delta = DELTAS[i % len(DELTAS)]
        baseline.loc[index, "value"] = row["value"] - delta
        planted[(row["region"], row["metric"])] = (baseline.loc[index, "value"], row["value"])
    return baseline, planted


def _scorecard_classes(tmp_path: Path, result, baseline, planted) -> dict:
    """The comparison page's class of each change, by the page's own script and tolerance."""
    out = report.write_report(result, tmp_path / "scorecard", baseline=Baseline("previous", baseline)).parent
    page = (out / "compare.html").read_text(encoding="utf-8")
    config = json.loads(re.search(r'<script type="application/json" id="page-config">(.*?)</script>', page, re.S)[1])
    script = (out / "assets" / "scorecard.js").read_text(encoding="utf-8")
    change_class = re.search(r"function changeClass\(change, tolerance\) \{.*?\n  \}", script, re.S)[0]
    pairs = [[before, after] for before, after in planted.values()]
    program = (f"{change_class}\nconsole.log(JSON.stringify({json.dumps(pairs)}.map("
               f"function (p) {{ return changeClass(p[1] - p[0], {json.dumps(config['compare']['tolerance'])}); }})));")
    output = subprocess.run([shutil.which("node"), "-e", program], capture_output=True, text=True, check=True).stdout
    return dict(zip(planted, json.loads(output)))


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the scorecard's script")
def test_gate_changes_table_and_scorecard_agree_on_every_regressed_cell(tmp_path):
    result = make_fake_result(seed=0)
    baseline, planted = _planted(result)

    gate = compare(result.scores, baseline, MODEL, TOLERANCE, [MODEL])
    gate = {(r.region, r.metric): CLASS_OF_STATUS[r.status] for r in gate.itertuples() if (r.region, r.metric) in planted}
    changes = score_changes(result.scores, Baseline("previous", baseline), list(METRICS))
    table = {(r.region, r.metric): change_row(r)["delta_class"] for r in changes.itertuples() if r.model == MODEL and (r.region, r.metric) in planted}
    scorecard = _scorecard_classes(tmp_path, result, baseline, planted)

    assert gate == table == scorecard
    regressed = {cell for cell, value in gate.items() if value == "delta-down"}
    clearly = {cell for cell, (before, after) in planted.items() if after - before <= -0.0201}
    within = {cell for cell, (before, after) in planted.items() if abs(after - before) <= 0.0199}
    assert clearly and clearly <= regressed and not (within & regressed)


def test_change_status_is_on_the_change_shown():
    assert change_status(-TOLERANCE - 1e-9) == "regressed"
    assert change_status(-TOLERANCE) == "pass" and change_status(TOLERANCE) == "pass"
    assert change_status(TOLERANCE + 1e-9) == "improved"
    assert change_status(float("nan")) == "" and change_status(None) == ""
    assert change_status(-0.1, tolerance=0.2) == "pass"
