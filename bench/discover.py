"""Benchmark model discovery in a large CMIP6 DRS tree of empty files.

Builds 40 models x 3 members x 3 variables x 16 time chunks (5,760 files),
then measures, in one run (ratios are what matter on a noisy machine):

1. a bare ``os.walk`` of the tree that only lists the files: the baseline;
2. ``find_drs_files`` (walk, parse every path and file name into facets);
3. ``discover_models`` with ``member="mean"`` (facets, latest versions, members).

Usage: python bench/discover.py [--models 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from socbench.discover import discover_models, find_drs_files

WANTED = {"cSoil": "Emon", "tas": "Amon", "pr": "Amon"}
MEMBERS = ("r1i1p1f1", "r2i1p1f1", "r3i1p1f1")
CHUNKS = [(year, year + 9) for year in range(1850, 2010, 10)]


def make_tree(root: Path, n_models: int) -> int:
    """Write the empty files of the tree; return their number."""
    count = 0
    for k in range(n_models):
        for member in MEMBERS:
            for variable, table in WANTED.items():
                directory = root / "CMIP6/CMIP/INST" / f"M{k}" / "historical" / member / table / variable / "gn/v20190101"
                directory.mkdir(parents=True)
                stem = f"{variable}_{table}_M{k}_historical_{member}_gn"
                for first, last in CHUNKS:
                    (directory / f"{stem}_{first}01-{last}12.nc").touch()
                    count += 1
    return count


def best_of(repeat: int, function) -> float:
    """Shortest of ``repeat`` timings: the least disturbed by other processes."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="socbench-discover-"))
    try:
        n_files = make_tree(scratch, args.models)
        walk = best_of(args.repeat, lambda: sum(len(files) for _, _, files in os.walk(scratch)))
        find = best_of(args.repeat, lambda: find_drs_files(scratch))
        discover = best_of(
            args.repeat, lambda: discover_models(scratch, "cmip6", "historical", WANTED, "cSoil", member="mean")
        )
        print(f"tree: {n_files} files, {args.models} models")
        print(f"os.walk listing only:        {walk:6.3f} s  (baseline)")
        print(f"find_drs_files:              {find:6.3f} s  x{find / walk:.1f} the baseline")
        print(f"discover_models (mean):      {discover:6.3f} s  x{discover / walk:.1f} the baseline")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
