"""Scale checks (slow; run with `tox -- -m slow` or `pytest -m slow`).

They run the benchmark scripts in bench/ and check what is not a timing
(peak memory, stock error, that every figure is printed). Timings are only
reported, as ratios to a baseline measured in the same run: wall-clock limits
fail on a busy machine for reasons that have nothing to do with the code.
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


def ratios(output: str) -> list[float]:
    return [float(ratio) for ratio in re.findall(r"x([\d.]+)", output)]


def test_gate_benchmark_reports_its_ratios(tmp_path):
    output = subprocess.run(
        [sys.executable, str(BENCH / "gate.py")], capture_output=True, text=True, check=True
    ).stdout
    print(output)
    assert "(baseline)" in output and len(ratios(output)) == 2 and all(r > 0 for r in ratios(output))


def test_discover_benchmark_reports_its_ratios():
    output = subprocess.run(
        [sys.executable, str(BENCH / "discover.py"), "--repeat", "1"], capture_output=True, text=True, check=True
    ).stdout
    print(output)
    assert "tree: 5760 files, 40 models" in output
    assert len(ratios(output)) == 2 and all(r > 0 for r in ratios(output))


def test_reading_a_compressed_005_degree_12_step_input_stays_under_2_gb(tmp_path):
    """Issue 17 item 15: 0.05 deg x 12 steps, zlib-compressed (a few MB on disk, 1.2 GB decoded)."""
    result = subprocess.run(
        [sys.executable, str(BENCH / "memory_compressed.py"), "--keep", str(tmp_path), "--limit-mb", "2048"],
        capture_output=True, text=True,
    )
    print(result.stdout, result.stderr)
    peaks = [float(p) for p in re.findall(r"peak (\d+) MB", result.stdout)]
    assert len(peaks) == 3 and result.returncode == 0 and max(peaks) < 2048
