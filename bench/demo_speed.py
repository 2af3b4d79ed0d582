"""Compare the wall time of `socbench demo` between two checkouts of socbench.

Each round runs the old checkout, then the new one, so that the load of a shared
machine hits both alike; the ratio of the medians (new / old) is the figure to
read. Every run starts cold: a fresh, non-existent ``--out`` in its own
temporary directory (the synthetic world is generated beside it) and
``--no-cache``. Each checkout runs from its own root with ``PYTHONPATH`` set to
it, so neither needs to be installed.

With ``--models N --products M`` the world is a larger one, written once by
the new checkout's ``socbench synth`` and scored by each checkout with its own
``benchmarks/demo.yaml`` (``socbench run``), e.g. the 12-model world.

Usage: python bench/demo_speed.py OLD_CHECKOUT NEW_CHECKOUT [--rounds 2] [--models 12 --products 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GNU_TIME = Path("/usr/bin/time")
CLI_SNIPPET = "import sys; sys.argv=['socbench', *{args!r}]; from socbench.cli import main; sys.exit(main())"


def checkout_root(text: str) -> Path:
    """Return the checkout directory, or exit naming what is missing."""
    root = Path(text).resolve()
    if not (root / "socbench" / "cli.py").is_file():
        sys.exit(f"demo_speed.py: checkout {text!r} has no socbench/cli.py; give the root of a socbench checkout")
    return root


def peak_rss_mb(time_log: Path) -> float | None:
    """Peak resident memory (MB) of the largest single process, from ``/usr/bin/time -v``."""
    for line in time_log.read_text().splitlines():
        if "Maximum resident set size" in line:
            return int(line.rsplit(":", 1)[1]) / 1024
    return None


def socbench_command(root: Path, out: Path, world: Path | None) -> list[str]:
    """The command of one cold run: `socbench demo`, or `socbench run` of the checkout's demo definition on ``world``."""
    if world is None:
        args = ["demo", "--out", str(out), "--no-cache"]
    else:
        args = ["run", str(root / "benchmarks" / "demo.yaml"), "--data-root", str(world), "--out", str(out), "--no-cache"]
    return [sys.executable, "-c", CLI_SNIPPET.format(args=args)]


def make_world(root: Path, models: int, products: int) -> Path:
    """Write a synthetic world with the checkout at ``root`` (``socbench synth``)."""
    world = Path(tempfile.mkdtemp(prefix="socbench-speed-world-"))
    args = ["synth", str(world), "--models", str(models), "--products", str(products)]
    completed = subprocess.run([sys.executable, "-c", CLI_SNIPPET.format(args=args)], cwd=root,
                               env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.exit(f"demo_speed.py: `socbench synth` failed:\n{completed.stderr[-3000:]}")
    return world


def run_demo(root: Path, world: Path | None = None) -> tuple[float, float | None, int]:
    """Run one cold `socbench demo` (or a run on ``world``) from ``root``; return seconds, peak RSS (MB) and exit code."""
    scratch = Path(tempfile.mkdtemp(prefix="socbench-demo-speed-"))
    try:
        command = socbench_command(root, scratch / "out", world)
        time_log = scratch / "time.txt"
        if GNU_TIME.is_file():
            command = [str(GNU_TIME), "-v", "-o", str(time_log), *command]
        environment = {**os.environ, "PYTHONPATH": str(root)}
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if completed.returncode not in (0, 1):
            sys.exit(f"demo_speed.py: socbench in {root} exited {completed.returncode}:\n"
                     f"{completed.stderr[-3000:]}")
        rss = peak_rss_mb(time_log) if time_log.is_file() else None
        return seconds, rss, completed.returncode
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def describe(root: Path) -> str:
    """Short commit id of a checkout, or '?' when it is not a git work tree."""
    completed = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                               capture_output=True, text=True)
    return completed.stdout.strip() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="root of the baseline checkout")
    parser.add_argument("new", help="root of the checkout to compare")
    parser.add_argument("--rounds", type=int, default=2, help="old/new pairs to run (default: 2)")
    parser.add_argument("--models", type=int, help="score a world of this many models instead of the demo")
    parser.add_argument("--products", type=int, default=4, help="observation products of that world (default: 4)")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit(f"demo_speed.py: --rounds is {args.rounds}; give 1 or more")
    roots = {"old": checkout_root(args.old), "new": checkout_root(args.new)}
    print(f"old = {describe(roots['old'])} ({roots['old']}), new = {describe(roots['new'])} ({roots['new']})")
    world = make_world(roots["new"], args.models, args.products) if args.models else None
    if world is not None:
        print(f"world: {args.models} models, {args.products} products ({world})")
    print(f"{'round':>5}  {'version':<7}  {'seconds':>8}  {'peak RSS':>9}  exit")
    seconds = {"old": [], "new": []}
    memory = {"old": [], "new": []}
    for round_number in range(1, args.rounds + 1):
        for version in ("old", "new"):
            elapsed, rss, code = run_demo(roots[version], world)
            seconds[version].append(elapsed)
            if rss is not None:
                memory[version].append(rss)
            rss_text = f"{rss:6.0f} MB" if rss is not None else "      n/a"
            print(f"{round_number:>5}  {version:<7}  {elapsed:8.1f}  {rss_text}  {code}", flush=True)
    old, new = statistics.median(seconds["old"]), statistics.median(seconds["new"])
    print(f"median old {old:.1f} s, new {new:.1f} s; ratio new/old {new / old:.2f}")
    if memory["old"] and memory["new"]:
        old_rss, new_rss = max(memory["old"]), max(memory["new"])
        print(f"peak RSS old {old_rss:.0f} MB, new {new_rss:.0f} MB; ratio new/old {new_rss / old_rss:.2f}")
    if world is not None:
        shutil.rmtree(world, ignore_errors=True)


if __name__ == "__main__":
    main()
