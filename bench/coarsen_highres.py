"""Benchmark: coarsen a 0.05 degree global SOC product (7200 x 3600) to 1 degree.

Writes the product (kg m-2, land only, NaN over ocean) to a temporary folder,
then measures, each in a fresh process: (a) a baseline that imports socbench
and reads one small file; (b) socbench reading, checking and conservatively
regridding the product to 1 degree. Prints wall time, peak resident memory and
their ratios to the baseline, and the global-stock error of the regridding.

Usage: python bench/coarsen_highres.py [--resolution 0.05] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import netCDF4
import numpy as np

CHILD = r"""
import json, resource, sys, time
start = time.time()
import numpy as np
from socbench.inputs import FieldRequest, read_field
from socbench.regrid import analysis_grid, regrid_conservative
path, mode = sys.argv[1], sys.argv[2]
request = FieldRequest((path,), "soc", "kg m-2", non_negative=True)
out = {}
if mode == "coarsen":
    field = read_field(request, 2000, 2000)
    grid = analysis_grid(1.0, -90, 90)
    regridded = regrid_conservative(field, "soc", grid)
    stock = float(np.nansum(np.nan_to_num(regridded.values.values) * regridded.coverage.values * grid["cell_area"].values))
    out["stock_pg"] = stock / 1e12
out["seconds"] = time.time() - start
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def write_product(path: Path, resolution: float) -> float:
    """Write the product tile by tile; return its exact stock (Pg)."""
    nlat, nlon = round(180 / resolution), round(360 / resolution)
    lat = -90 + resolution * (np.arange(nlat) + 0.5)
    lon = -180 + resolution * (np.arange(nlon) + 0.5)
    rng = np.random.default_rng(0)
    band = 6_371_000.0**2 * np.radians(resolution) * np.diff(np.sin(np.radians(np.append(lat - resolution / 2, 90.0))))
    stock = 0.0
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("lat", nlat)
        nc.createDimension("lon", nlon)
        nc.createVariable("lat", "f8", ("lat",))[:] = lat
        nc.createVariable("lon", "f8", ("lon",))[:] = lon
        nc["lat"].units, nc["lon"].units = "degrees_north", "degrees_east"
        soc = nc.createVariable("soc", "f4", ("lat", "lon"), fill_value=np.float32(-9999.0), chunksizes=(min(360, nlat), min(720, nlon)))
        soc.units = "kg m-2"
        for i in range(0, nlat, 360):
            rows = slice(i, min(i + 360, nlat))
            la = lat[rows][:, None]
            values = (10 + 5 * np.cos(np.radians(la) * 3) * np.sin(np.radians(lon)[None, :] * 2)
                      + rng.gamma(2.0, 1.0, (la.size, nlon))).astype(np.float32)
            ocean = np.sin(np.radians(lon)[None, :] * 5 + np.radians(la) * 7) > 0.3
            values[ocean] = np.nan
            soc[rows, :] = values
            stock += float(np.nansum(values.astype(float) * band[rows][:, None]))
    return stock / 1e12


def measure(path: Path, mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=float, default=0.05)
    parser.add_argument("--keep", help="write the product here instead of a temporary folder")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="socbench-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "highres_soc.nc"
    exact = write_product(path, args.resolution)
    small = folder / "small_soc.nc"
    write_product(small, 2.0)
    baseline = measure(small, "baseline")
    run = measure(path, "coarsen")
    size_mb = path.stat().st_size / 2**20
    print(f"product: {path.name}, {args.resolution} deg, {size_mb:.0f} MB on disk")
    print(f"baseline (import + start): {baseline['seconds']:.1f} s, peak {baseline['peak_mb']:.0f} MB")
    print(f"coarsen to 1 deg:          {run['seconds']:.1f} s, peak {run['peak_mb']:.0f} MB")
    print(f"ratios to baseline:        time x{run['seconds'] / baseline['seconds']:.2f}, "
          f"peak memory x{run['peak_mb'] / baseline['peak_mb']:.2f}")
    print(f"global stock: exact {exact:.3f} Pg, regridded {run['stock_pg']:.3f} Pg, "
          f"error {100 * (run['stock_pg'] / exact - 1):+.4f} %")


if __name__ == "__main__":
    main()
