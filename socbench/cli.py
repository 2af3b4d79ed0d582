"""Command-line interface: ``socbench <command>``.

Only argument parsing, progress display and exit codes live here; the science
is in the pipeline modules.

Exit codes of ``run``/``demo``/``reference build``: 0 every dataset scored;
1 a run finished but some datasets failed or a model was not scored in any
region (partial, listed with the reasons); 2 nothing could be run (bad
definition, input or output directory, or any unexpected error: one line,
the traceback only with ``--debug``). Of ``check``: 0 no regression and every
given model scored; 1 a regression beyond the tolerance, or a given model
not scored; 2 could not run (bad input, corrupt or mismatched bundle). 130:
interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
import traceback
import unicodedata
from pathlib import Path

from . import __version__
from .changes import TOLERANCE
from .errors import SocbenchError

EXIT_OK, EXIT_PARTIAL, EXIT_FAILED = 0, 1, 2
EXIT_REGRESSION = 1  # socbench check: a score dropped beyond the tolerance


def printable(text: str) -> str:
    """``text`` without terminal control characters (escape sequences, bidi overrides).

    Messages carry names read from input files, which could otherwise move
    the cursor, recolour or rewrite the terminal.
    """
    return "".join(
        "?" if unicodedata.category(char) in ("Cc", "Cf") and char != "\n" else char for char in str(text)
    )


def _progress(quiet: bool):
    start = time.time()

    def report(message: str) -> None:
        if not quiet:
            text = printable(message).replace("\n", " ")
            print(f"[{time.time() - start:6.1f}s] {text}", file=sys.stderr, flush=True)

    return report


def _finite_non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


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
    if args.world == "real-like":
        from .synth_reallike import make_reallike_world

        if args.models is not None or args.products is not None:
            raise SocbenchError("--models and --products do not apply to --world real-like (its models and "
                                "products are fixed; docs/synthetic-world.md)")
        manifest = make_reallike_world(args.outdir, seed=args.seed, resolution=args.resolution)
    else:
        from .synth import make_world

        manifest = make_world(args.outdir, seed=args.seed, resolution=args.resolution,
                              n_models=4 if args.models is None else args.models,
                              n_products=4 if args.products is None else args.products)
    print(f"synthetic world written to {args.outdir} ({len(manifest.get('models', {}))} models, "
          f"{len(manifest.get('products', {}))} observation products); truth in {Path(args.outdir) / 'truth.json'}")
    return EXIT_OK


def _workers(args):
    """Local worker count, or the executor of a dask.distributed scheduler."""
    if not getattr(args, "scheduler", None):
        return args.workers
    try:
        from distributed import Client
    except ImportError:
        raise SocbenchError("--scheduler needs dask.distributed: pip install socbench[distributed]") from None
    return Client(args.scheduler).get_executor()


def _cache(args):
    from .cache import open_cache

    if getattr(args, "no_cache", False):
        return None
    return open_cache(getattr(args, "cache", None), warn=lambda text: print(
        f"socbench: warning: {printable(text)}", file=sys.stderr, flush=True))


def _exit_code(result) -> int:
    """0 every dataset scored, 1 partial (failures listed), 2 nothing scored."""
    if result.status == "failed":
        return EXIT_FAILED
    return EXIT_PARTIAL if result.status == "partial" else EXIT_OK


def _run_and_report(definition, root, out: Path, workers: int, quiet: bool, cache=None, baseline=None) -> int:
    from .pipeline import run
    from .report import summary_table, write_report

    progress = _progress(quiet)
    result = run(definition, root, workers=workers, progress=progress, cache=cache)
    progress("writing report")
    index = write_report(result, out, baseline=baseline)
    print(summary_table(result))
    _print_skipped(result)
    print(f"\nScorecard: {index}")
    return _exit_code(result)


def _print_skipped(result) -> None:
    """Model regions not scored, with reasons (models scored nowhere are among the failures)."""
    skipped = result.skipped
    shown = skipped[(skipped["kind"] == "model") & ~skipped["dataset"].isin(result.failures["dataset"])]
    if shown.empty:
        return
    print(f"\nModel regions not scored ({len(shown)}):")
    for row in shown.head(20).itertuples():
        print(printable(f"  {row.dataset} / {row.region}: {row.reason}"))
    if len(shown) > 20:
        print(f"  ... and {len(shown) - 20} more")


def _cmd_run(args) -> int:
    from .config import load_definition
    from .outputs import claim_output
    from .errors import SocbenchWarning
    from .report import load_baseline
    from .report.baseline import definition_mismatch

    definition, root = load_definition(args.definition, data_root=args.data_root)
    baseline = load_baseline(args.baseline) if args.baseline else None  # bad input fails before any computing
    mismatch = definition_mismatch(baseline, definition) if baseline is not None else None
    if mismatch:
        warnings.warn(mismatch, SocbenchWarning, stacklevel=1)
    with claim_output(args.out, protect=[args.definition, root]) as out:
        return _run_and_report(definition, root, out, _workers(args), args.quiet, _cache(args), baseline)


def _cmd_reference_build(args) -> int:
    from .config import load_definition
    from .outputs import claim_output
    from .pipeline import run
    from .reference import save_reference

    definition, root = load_definition(args.definition, data_root=args.data_root)
    with claim_output(args.out, protect=[args.definition, root]):
        progress = _progress(args.quiet)
        result = run(definition, root, workers=_workers(args), progress=progress, cache=_cache(args))
        out = save_reference(result.reference, result, args.out)
    size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"reference bundle written to {out} ({size:.2f} MB; {len(result.models)} baseline models)")
    for row in result.failures.itertuples():
        print(printable(f"  not scored: {row.dataset} ({row.kind}): {row.reason}"))
    return _exit_code(result)


def _cmd_reference_registry(args) -> int:
    from .reference import registry_lines

    print(registry_lines(args.bundle, args.name), end="")
    return EXIT_OK


def _parse_models(pairs: list[str]) -> dict[str, str]:
    models = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name or not path:
            raise SocbenchError(f"--model {pair!r}: expected NAME=PATH_OR_GLOB")
        if name in models:
            raise SocbenchError(f"--model: duplicated model name {name!r}")
        models[name] = path
    return models


def _bundle_path(name: str) -> Path:
    from .reference import bundle_location

    return bundle_location(name)


def _cmd_check(args) -> int:
    from .config import load_definition
    from .outputs import claim_output

    definition, _ = load_definition(args.definition)
    models = _parse_models(args.model)
    with claim_output(args.out, protect=[args.definition, args.reference, *models.values()]) as out:
        return _check_and_report(args, definition, models, out)


def _check_and_report(args, definition, models: dict[str, str], out: Path) -> int:
    from .check import check, junit_xml, markdown_summary
    from .report import write_report

    progress = _progress(args.quiet)
    outcome = check(
        definition,
        _bundle_path(args.reference),
        models,
        baseline=args.baseline,
        baseline_scores=args.baseline_scores,
        tolerance=args.tolerance,
        workers=_workers(args),
        progress=progress,
        cache=_cache(args),
    )
    index = write_report(outcome.result, out, baseline=args.baseline_scores)
    summary = markdown_summary(outcome)
    for path, text in ((Path(args.markdown) if args.markdown else out / "summary.md", summary),
                       (Path(args.junit) if args.junit else out / "junit.xml", junit_xml(outcome))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(summary)
    regressions = outcome.regressions
    unscored = outcome.result.failures
    print(printable(f"socbench check: {'passed' if outcome.passed else 'FAILED'} against {outcome.baseline} "
                    f"(tolerance {outcome.tolerance:g}): {len(regressions)} regressed cell(s), "
                    f"{len(unscored)} model(s) not scored"))
    for row in unscored.itertuples():
        print(printable(f"  not scored: {row.dataset}: {row.reason}"))
    for row in regressions.head(20).itertuples():
        print(printable(f"  {row.model} / {row.region} / {row.metric}: {row.baseline:.3f} -> {row.new:.3f} ({row.status})"))
    print(f"Scorecard: {index}")
    return EXIT_OK if outcome.passed else EXIT_REGRESSION


def _cmd_demo(args) -> int:
    from .config import load_definition
    from .outputs import claim_output
    from .resources import benchmark_path
    from .synth import make_world

    out = Path(os.path.abspath(args.out))
    world = Path(args.world) if args.world else out.parent / f".{out.name}-world"
    with claim_output(out, protect=[world]):
        progress = _progress(args.quiet)
        if not (world / "truth.json").is_file():
            progress(f"generating the synthetic world in {world}")
            make_world(world, seed=0, resolution=2.0)
        definition, root = load_definition(benchmark_path("demo"), data_root=world)
        return _run_and_report(definition, root, out, _workers(args), args.quiet, _cache(args))


def _definition_command(commands, name: str, help_text: str, out_help: str) -> argparse.ArgumentParser:
    """A subcommand that runs a benchmark definition into ``--out``."""
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("definition", help="benchmark YAML file")
    parser.add_argument("--out", required=True, help=out_help)
    parser.add_argument("--data-root", help="override the definition's data_root")
    return parser


def _add_run_options(parser, workers_default: int) -> None:
    """Options shared by the commands that run a definition."""
    parser.add_argument("--workers", type=_positive_int, default=workers_default, help="worker processes")
    parser.add_argument("--scheduler", help="dask.distributed scheduler address (tasks then run on its workers)")
    parser.add_argument("--quiet", action="store_true", help="no progress messages")
    _add_cache_options(parser)


def _add_cache_options(parser) -> None:
    parser.add_argument("--cache", help="task cache directory (default: $SOCBENCH_CACHE or ~/.cache/socbench)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the task cache")


# ------------------------------------------------------------------ socbench data


def _data_entries(args):
    from .data import benchmark_files, load_registry

    registry = load_registry(args.registry)
    return benchmark_files(args.benchmark, registry) if args.benchmark else registry.select(None)


def _cmd_data_fetch(args) -> int:
    from .data import data_dir, fetch

    directory = data_dir(args.dir)
    entries = _data_entries(args)
    print(f"fetching {len(entries)} file(s) into {directory}", file=sys.stderr)
    fetch(entries, directory, force=args.force)
    print(f"data ready in {directory} (use it as --data-root)")
    return EXIT_OK


def _cmd_data_list(args) -> int:
    from .data import data_dir, listing

    directory = data_dir(args.dir)
    print(f"data directory: {directory}")
    for row in listing(_data_entries(args), directory):
        print(f"{row['path']}  [{row['status']}, {row['size']}]\n  source:   {row['url']} ({row['hash']})\n"
              f"  licence:  {row['licence']}\n  citation: {row['citation']}")
    return EXIT_OK


def _add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="download and list the observation data of the shipped benchmarks")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    for name, handler, text in (("fetch", _cmd_data_fetch, "download (resuming) and verify a benchmark's files"),
                                ("list", _cmd_data_list, "show each file: status, size, source, licence, citation")):
        command = data_commands.add_parser(name, help=text)
        command.add_argument("benchmark", nargs="?", help="shipped benchmark name or definition file (default: every file)")
        command.add_argument("--dir", help="data directory (default: $SOCBENCH_DATA or the OS cache, .../socbench/data)")
        command.add_argument("--registry", help="registry file (default: the shipped benchmarks/registry.txt)")
        if name == "fetch":
            command.add_argument("--force", action="store_true", help="download again files present with a wrong hash")
        command.set_defaults(handler=handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socbench",
        description="Score Earth System Model soil organic carbon against observations: right stock, right reasons.",
    )
    parser.add_argument("--version", action="version", version=f"socbench {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks (before the command: socbench --debug run ...)")
    commands = parser.add_subparsers(dest="command", required=True)

    workers_default = min(2, os.cpu_count() or 1)

    demo = commands.add_parser("demo", help="generate the synthetic world and score its models")
    demo.add_argument("--out", default="socbench-demo", help="scorecard directory (default: socbench-demo)")
    demo.add_argument("--world", help="where to write/reuse the synthetic world (default: beside --out)")
    _add_run_options(demo, workers_default)
    demo.set_defaults(handler=_cmd_demo)

    run = _definition_command(commands, "run", "run a benchmark definition", "scorecard directory")
    run.add_argument("--baseline", metavar="DIR_OR_SCORES_CSV",
                     help="an earlier scorecard directory or its scores.csv: show the change of every score")
    _add_run_options(run, workers_default)
    run.set_defaults(handler=_cmd_run)

    reference = commands.add_parser("reference", help="reference bundles for `socbench check`")
    reference_commands = reference.add_subparsers(dest="reference_command", required=True)
    build = _definition_command(reference_commands, "build", "run a definition and store its observational envelope",
                                "bundle directory, e.g. reference/NAME")
    _add_run_options(build, workers_default)
    build.set_defaults(handler=_cmd_reference_build)
    registry = reference_commands.add_parser(
        "registry", help="print a bundle's registry lines (`<name>/<file> sha256:<hash>`) for a mirror")
    registry.add_argument("bundle", help="bundle directory")
    registry.add_argument("--name", help="the bundle's name in the registry (default: the directory's name)")
    registry.set_defaults(handler=_cmd_reference_registry)

    check = commands.add_parser("check", help="CI gate: score a new model version against a reference bundle")
    check.add_argument("definition", help="benchmark YAML file the bundle was built with")
    check.add_argument("--reference", required=True, help="bundle directory, or the name of a shipped bundle (demo)")
    check.add_argument("--model", action="append", required=True, metavar="NAME=PATH_OR_GLOB",
                       help="new model version: name and a directory (searched recursively) or glob; repeatable")
    check.add_argument("--baseline", help="model of the baseline to compare with (default: the same name)")
    check.add_argument("--baseline-scores", help="a previous scores.csv to use as baseline instead of the bundle's")
    check.add_argument("--tolerance", type=_finite_non_negative, default=TOLERANCE,
                       help=f"allowed score drop, a finite number >= 0 (default {TOLERANCE:g})")
    check.add_argument("--bootstraps", action="store_true",
                       help="accepted for compatibility: the new model is always bootstrapped as the definition says "
                            "(its refits are part of its scores)")
    check.add_argument("--out", default="socbench-check", help="scorecard directory (default: socbench-check)")
    check.add_argument("--markdown", help="Markdown summary path (default: OUT/summary.md)")
    check.add_argument("--junit", help="JUnit XML path (default: OUT/junit.xml)")
    _add_run_options(check, workers_default)
    check.set_defaults(handler=_cmd_check)

    validate = commands.add_parser("validate", help="check a benchmark definition")
    validate.add_argument("definition")
    validate.set_defaults(handler=_cmd_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of benchmark definitions")
    schema.set_defaults(handler=_cmd_schema)

    synth = commands.add_parser("synth", help="write the synthetic CMIP-style world with a planted truth")
    synth.add_argument("outdir")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--resolution", type=float, default=2.0, help="base resolution in degrees")
    synth.add_argument("--models", type=int, help="number of models (default 4; default world only)")
    synth.add_argument("--products", type=int, help="number of products (default 4; default world only)")
    synth.add_argument("--world", choices=("default", "real-like"), default="default",
                       help="default: the demo world; real-like: the conditions of real data (issue 14), "
                            "with fixed models and products")
    synth.set_defaults(handler=_cmd_synth)
    _add_data_commands(commands)
    return parser


def _one_line_warnings(debug: bool) -> None:
    """Show socbench's own warnings as one line each (``socbench: warning: ...``), without the source line."""
    from .errors import SocbenchWarning

    default = warnings.formatwarning

    def formatted(message, category, filename, lineno, line=None):
        if issubclass(category, SocbenchWarning) and not debug:
            return printable(f"socbench: warning: {' '.join(str(message).split())}") + "\n"
        return default(message, category, filename, lineno, line)

    warnings.formatwarning = formatted


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _one_line_warnings(args.debug)
    try:
        return args.handler(args)
    except SocbenchError as exc:
        if args.debug:
            traceback.print_exc()
        print(printable(f"socbench: error: {exc}"), file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("socbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # exit 1 means "partial"/"regression" to CI: a crash must not look like one
        if args.debug:
            traceback.print_exc()
        where = "" if args.debug else "; run with --debug for the traceback"
        message = " ".join(str(exc).split()) or "no message"
        print(printable(f"socbench: error: unexpected {type(exc).__name__}: {message}{where}"), file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
