"""How far apart replicates of one model score on the real-like world, over learner seeds.

RL-FAITHFUL, -R2 and -R3 share one process and climate; by default the
replicates are its ensemble members (its grid too, noise of their own), and
with ``--own-grid`` each is on a grid of its own, so that regridding changes
its data as well. For every learner seed the world is scored with the shipped
``benchmarks/real-like.yaml`` (``--bootstraps`` overrides its refits), and the
script prints, over the (region, driver component) cells where all three are
scored, the largest spread (max - min), its 90th percentile, the number of
cells above 0.15 and the three largest cells.

Usage: python bench/replicate_spread.py [--seeds 20240101 7 11] [--bootstraps 20] [--own-grid]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from socbench.cache import TaskCache
from socbench.config import load_definition
from socbench.pipeline import run
from socbench.resources import benchmark_path
from socbench.synth_reallike import make_reallike_world

REPLICATES = ["RL-FAITHFUL", "RL-FAITHFUL-R2", "RL-FAITHFUL-R3"]
DRIVER_COMPONENTS = ["importance", "response", "sensitivity"]


def spreads(scores):
    """Spread of the replicates' scores per (region, component), where all three are scored."""
    rows = scores[scores.model.isin(REPLICATES) & scores.metric.isin(DRIVER_COMPONENTS)].dropna(subset=["value"])
    grouped = rows.groupby(["region", "metric"]).value
    return (grouped.max() - grouped.min())[grouped.count() == len(REPLICATES)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[20240101, 7, 11], help="learner seeds")
    parser.add_argument("--bootstraps", type=int, default=None, help="override learner.bootstraps")
    parser.add_argument("--own-grid", action="store_true", help="replicates on grids of their own")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    definition, _ = load_definition(benchmark_path("real-like"))
    with tempfile.TemporaryDirectory(prefix="socbench-replicates-") as tmp:
        world = Path(tmp) / "world"
        make_reallike_world(world, seed=0, resolution=2.0, replicates_share_grid=not args.own_grid)
        cache = TaskCache(Path(tmp) / "cache")
        kind = "own grids" if args.own_grid else "ensemble members (shared grid)"
        print(f"real-like world, replicates: {kind}")
        for seed in args.seeds:
            update = {"seed": seed}
            if args.bootstraps is not None:
                update["bootstraps"] = args.bootstraps
            learner = definition.learner.model_copy(update=update)
            started = time.perf_counter()
            result = run(definition.model_copy(update={"learner": learner}), world, workers=args.workers, cache=cache)
            spread = spreads(result.scores)
            top = ", ".join(f"{r} {m} {v:.3f}" for (r, m), v in spread.sort_values().tail(3)[::-1].items())
            print(f"seed {seed:>9} bootstraps {learner.bootstraps:>3}: cells {len(spread)}, max {spread.max():.3f}, "
                  f"p90 {spread.quantile(0.9):.3f}, above 0.15: {int((spread > 0.15).sum())} "
                  f"({time.perf_counter() - started:.0f} s; largest: {top})")


if __name__ == "__main__":
    main()
