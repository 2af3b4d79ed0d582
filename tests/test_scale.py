"""Scale checks (slow; run with `tox -- -m slow` or `pytest -m slow`).

They run the benchmark scripts in bench/ and check their printed figures
against the limits in the issues; timings themselves are reported, not
asserted, because this machine is noisy.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"

pytestmark = pytest.mark.slow


def test_coarsening_a_005_degree_product_stays_under_1_5_gb(tmp_path):
    output = subprocess.run(
        [sys.executable, str(BENCH / "coarsen_highres.py"), "--keep", str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout
    print(output)
    peak = float(re.search(r"coarsen to 1 deg: .*peak (\d+) MB", output).group(1))
    error = float(re.search(r"error ([+-][\d.]+) %", output).group(1))
    assert peak < 1536
    assert abs(error) < 0.5


def test_gate_is_fast_enough(tmp_path):
    output = subprocess.run(
        [sys.executable, str(BENCH / "gate.py")], capture_output=True, text=True, check=True
    ).stdout
    print(output)
    check_seconds = float(re.search(r"check of one model.*?([\d.]+) s", output).group(1))
    faster = float(re.search(r"check of one model.*x([\d.]+) faster", output).group(1))
    rerun = float(re.search(r"second run.*x([\d.]+) faster", output).group(1))
    assert check_seconds <= 20 and faster >= 5 and rerun >= 3
