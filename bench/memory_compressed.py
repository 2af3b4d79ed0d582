"""Benchmark: peak memory of reading a zlib-compressed 0.05 degree global input of 12 monthly steps.

A compressed file is a few MB on disk but 1.2 GB decoded (7200 x 3600 x 12
float32; 2.5 GB as float64), so the reader must choose its lazy path by the
decoded size, not the size on disk. This script writes the same field twice,
zlib-compressed and uncompressed, then in a fresh process per file reads it as
the pipeline does (``read_field``: mask, period mean, unit conversion, value
checks) and regrids it conservatively to 1 degree, and prints the peak resident
memory (``ru_maxrss``) against an import-only baseline.

Usage: python bench/memory_compressed.py [--resolution 0.05] [--keep DIR] [--limit-mb 2048]

Exits 1 when a peak exceeds ``--limit-mb`` (the test marked ``slow`` runs it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import cftime
import netCDF4
import numpy as np

CHILD = r"""
import json, resource, sys, time
start = time.time()
import numpy as np
from socbench.inputs import FieldRequest, read_field
from socbench.regrid import analysis_grid, regrid_conservative
path, mode = sys.argv[1], sys.argv[2]
out = {}
if mode == "read":
    field = read_field(FieldRequest((path,), "tas", "K"), 2010, 2010)
    grid = analysis_grid(1.0, -90, 90)
    regridded = regrid_conservative(field, "tas", grid)
    out["mean_k"] = float(np.nanmean(regridded.values.values))
out["seconds"] = time.time() - start
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_input(path: Path, resolution: float, compressed: bool) -> None:
    """A (12, lat, lon) monthly float32 ``tas`` for 2010, written step by step."""
    nlat, nlon = round(180 / resolution), round(360 / resolution)
    lat = -90 + resolution * (np.arange(nlat) + 0.5)
    lon = -180 + resolution * (np.arange(nlon) + 0.5)
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", 12)
        nc.createDimension("lat", nlat)
        nc.createDimension("lon", nlon)
        time = nc.createVariable("time", "f8", ("time",))
        time.units, time.calendar = "days since 2010-01-01", "standard"
        time[:] = cftime.date2num([cftime.datetime(2010, m, 15) for m in range(1, 13)], time.units, time.calendar)
        nc.createVariable("lat", "f8", ("lat",))[:] = lat
        nc.createVariable("lon", "f8", ("lon",))[:] = lon
        nc["lat"].units, nc["lon"].units = "degrees_north", "degrees_east"
        options = {"zlib": True, "complevel": 4} if compressed else {"contiguous": True}
        tas = nc.createVariable("tas", "f4", ("time", "lat", "lon"), **options)
        tas.units = "K"
        # smooth (whole-kelvin) values compress like real model output does after quantisation
        rows = np.round(250.0 + 40.0 * np.cos(np.radians(lat)))[:, None].astype(np.float32)
        for month in range(12):
            tas[month] = np.broadcast_to(rows + np.float32(month % 6), (nlat, nlon))


def measure(path: Path, mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=0.05)
    parser.add_argument("--keep", help="write the inputs here instead of a temporary folder")
    parser.add_argument("--limit-mb", type=float, default=2048.0, help="fail when a peak exceeds this (MB)")
    args = parser.parse_args(argv)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="socbench-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    baseline = measure(folder / "none.nc", "baseline")
    print(f"baseline (import + start): {baseline['seconds']:.1f} s, peak {baseline['peak_mb']:.0f} MB")
    peaks = []
    for compressed in (True, False):
        path = folder / f"tas_{'zlib' if compressed else 'plain'}.nc"
        if not path.is_file():
            write_input(path, args.resolution, compressed)
        run = measure(path, "read")
        peaks.append(run["peak_mb"])
        print(f"{'zlib-compressed' if compressed else 'uncompressed':16s} {path.stat().st_size / 2**20:8.1f} MB on disk: "
              f"read + regrid to 1 deg {run['seconds']:.1f} s, peak {run['peak_mb']:.0f} MB "
              f"(x{run['peak_mb'] / baseline['peak_mb']:.2f} the baseline), mean {run['mean_k']:.2f} K")
    print(f"decoded size: {round(180 / args.resolution) * round(360 / args.resolution) * 12 * 4 / 2**20:.0f} MB as float32")
    return 0 if max(peaks) <= args.limit_mb else 1


if __name__ == "__main__":
    sys.exit(main())
