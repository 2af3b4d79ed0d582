"""Benchmark the CI gate and the task cache on the demo benchmark.

Measures, on one machine in one run (ratios are what matter on a noisy machine):

1. a full `socbench run` of the demo (cold cache): the baseline;
2. `socbench check` of one model against the shipped (or a freshly built) bundle;
3. a second `socbench run` after one model's cSoil changed (warm cache).

Usage: python bench/gate.py [--world DIR] [--workers 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import netCDF4

from socbench.resources import benchmark_path, resource_dir
from socbench.synth import make_world


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", help="existing demo world (default: generate one)")
    parser.add_argument("--workers", default="2")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="socbench-gate-"))
    world = Path(args.world) if args.world else scratch / "world"
    if not (world / "truth.json").exists():
        make_world(world, seed=0, resolution=2.0)
    socbench = [sys.executable, "-m", "socbench.cli"]
    demo = str(benchmark_path("demo"))
    cache = scratch / "cache"
    common = ["--data-root", str(world), "--workers", args.workers, "--quiet", "--cache", str(cache)]

    full = timed(socbench + ["run", demo, "--out", str(scratch / "run1"), *common])
    bundle = resource_dir("reference") / "demo"
    if not (bundle / "manifest.json").exists():
        bundle = scratch / "bundle"
        timed(socbench + ["reference", "build", demo, "--out", str(bundle), *common])
    member = next(world.glob("CMIP6/*/*/SYN-FAITHFUL/historical/r1i1p1f1"))
    check = timed(socbench + ["check", demo, "--reference", str(bundle), "--model", f"SYN-FAITHFUL={member}",
                              "--out", str(scratch / "check"), "--workers", args.workers, "--quiet", "--no-cache"])

    csoil = next(world.glob("CMIP6/*/*/SYN-UNRELATED/*/r1i1p1f1/Emon/cSoil/*/*/*.nc"))
    backup = scratch / "csoil.bak"
    shutil.copy(csoil, backup)
    try:
        with netCDF4.Dataset(csoil, "a") as nc:
            nc["cSoil"][:] = nc["cSoil"][:] * 1.1
        rerun = timed(socbench + ["run", demo, "--out", str(scratch / "run2"), *common])
    finally:
        shutil.copy(backup, csoil)

    print(f"full run (cold cache):               {full:6.1f} s  (baseline)")
    print(f"check of one model (no cache):       {check:6.1f} s  x{full / check:.1f} faster than the full run")
    print(f"second run, one model changed:       {rerun:6.1f} s  x{full / rerun:.1f} faster than the first")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
