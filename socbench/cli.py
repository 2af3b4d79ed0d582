"""Command-line interface: ``socbench <command>``.

Only argument parsing, progress display and exit codes live here; the science
is in the pipeline modules.

Exit codes: 0 success; 1 a run finished but some datasets failed (partial);
2 nothing could be run (bad definition or input); 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from . import __version__
from .errors import SocbenchError

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2


def _progress(quiet: bool):
    start = time.time()

    def report(message: str) -> None:
        if not quiet:
            print(f"[{time.time() - start:6.1f}s] {message}", file=sys.stderr, flush=True)

    return report


def _cmd_schema(args) -> int:
    from .config import json_schema

    print(json.dumps(json_schema(), indent=2))
    return EXIT_OK


def _cmd_validate(args) -> int:
    from .config import load_definition

    definition, root = load_definition(args.definition)
    print(f"{args.definition}: valid benchmark definition {definition.name!r} (data root {root})")
    return EXIT_OK


def _cmd_synth(args) -> int:
    from .synth import make_world

    manifest = make_world(args.outdir, seed=args.seed, resolution=args.resolution, n_models=args.models, n_products=args.products)
    print(f"synthetic world written to {args.outdir} ({len(manifest.get('models', {}))} models, "
          f"{len(manifest.get('products', {}))} observation products); truth in {Path(args.outdir) / 'truth.json'}")
    return EXIT_OK


def _run_and_report(definition, root, out: Path, workers: int, quiet: bool) -> int:
    from .pipeline import run
    from .report import summary_table, write_report

    progress = _progress(quiet)
    result = run(definition, root, workers=workers, progress=progress)
    progress("writing report")
    index = write_report(result, out)
    print(summary_table(result))
    print(f"\nScorecard: {index}")
    if result.status == "failed":
        return EXIT_FAILED
    return EXIT_PARTIAL if result.status == "partial" else EXIT_OK


def _cmd_run(args) -> int:
    from .config import load_definition

    definition, root = load_definition(args.definition, data_root=args.data_root)
    return _run_and_report(definition, root, Path(args.out), args.workers, args.quiet)


def _cmd_demo(args) -> int:
    from .config import load_definition
    from .resources import benchmark_path
    from .synth import make_world

    out = Path(args.out)
    world = Path(args.world) if args.world else out.parent / f".{out.name}-world"
    progress = _progress(args.quiet)
    if not (world / "truth.json").is_file():
        progress(f"generating the synthetic world in {world}")
        make_world(world, seed=0, resolution=2.0)
    definition, root = load_definition(benchmark_path("demo"), data_root=world)
    return _run_and_report(definition, root, out, args.workers, args.quiet)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socbench",
        description="Score Earth System Model soil organic carbon against observations: right stock, right reasons.",
    )
    parser.add_argument("--version", action="version", version=f"socbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    workers_default = min(2, os.cpu_count() or 1)

    demo = commands.add_parser("demo", help="generate the synthetic world and score its models")
    demo.add_argument("--out", default="socbench-demo", help="scorecard directory (default: socbench-demo)")
    demo.add_argument("--world", help="where to write/reuse the synthetic world (default: beside --out)")
    demo.add_argument("--workers", type=int, default=workers_default, help="worker processes")
    demo.add_argument("--quiet", action="store_true", help="no progress messages")
    demo.set_defaults(handler=_cmd_demo)

    run = commands.add_parser("run", help="run a benchmark definition")
    run.add_argument("definition", help="benchmark YAML file")
    run.add_argument("--out", required=True, help="scorecard directory")
    run.add_argument("--data-root", help="override the definition's data_root")
    run.add_argument("--workers", type=int, default=workers_default, help="worker processes")
    run.add_argument("--quiet", action="store_true", help="no progress messages")
    run.set_defaults(handler=_cmd_run)

    validate = commands.add_parser("validate", help="check a benchmark definition")
    validate.add_argument("definition")
    validate.set_defaults(handler=_cmd_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of benchmark definitions")
    schema.set_defaults(handler=_cmd_schema)

    synth = commands.add_parser("synth", help="write the synthetic CMIP-style world with a planted truth")
    synth.add_argument("outdir")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--resolution", type=float, default=2.0, help="base resolution in degrees")
    synth.add_argument("--models", type=int, default=4)
    synth.add_argument("--products", type=int, default=4)
    synth.set_defaults(handler=_cmd_synth)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SocbenchError as exc:
        print(f"socbench: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("socbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
