"""The CI gate: score a new model version against a reference bundle and a baseline.

``socbench check`` needs no raw observation files: the observational envelope
comes from a bundle (:mod:`socbench.reference`). The new version's scores are
compared, region by region and component by component, with a baseline (a
model of the bundle, or a previous ``scores.csv``); a drop larger than the
tolerance is a regression.
"""

from __future__ import annotations

import glob
import math
import re
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd

from .changes import TOLERANCE, change_status
from .config import Definition
from .errors import InputDataError, SocbenchError
from .discover import FX_VARIABLES, ModelFiles, wanted_tables
from .execute import worker_pool
from .inputs import one_line
from .names import check_new_model_names
from .pipeline import Reference, score_models
from .prepare import prepare_model
from .progress import Progress, silent
from .provenance import provenance
from .reference import load_reference
from .results import METRICS, RunResult

COMPARISON_COLUMNS = ["model", "region", "metric", "baseline", "new", "delta", "status"]
FAILING = ("regressed", "missing")


@dataclass
class CheckResult:
    """Outcome of a check.

    Attributes
    ----------
    result : RunResult
        Scores of the new model version(s) against the bundle's envelope.
    comparison : DataFrame
        ``model, region, metric, baseline, new, delta, status``; status is
        ``pass``, ``improved``, ``regressed`` or ``missing`` (scored in the
        baseline, not now).
    baseline : str
        What the scores were compared with.
    tolerance : float
    models : list of str
        The new model versions that were given; each must be scored.
    """

    result: RunResult
    comparison: pd.DataFrame
    baseline: str
    tolerance: float
    models: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> pd.DataFrame:
        return self.comparison[self.comparison["status"].isin(FAILING)]

    @property
    def unscored(self) -> list[str]:
        """Given models without a single score row."""
        scored = set(self.result.scores["model"])
        return [name for name in self.models if name not in scored]

    @property
    def passed(self) -> bool:
        """No regression, no failure, and every given model has scores."""
        return self.regressions.empty and self.result.failures.empty and not self.unscored


def model_files_from_path(name: str, pattern: str, tables: dict[str, str] | None = None) -> ModelFiles:
    """A model's files from a directory (searched recursively) or a glob.

    Files are assigned to variables by their CMIP file name
    (``<variable>_<table>_...nc``). With ``tables`` (variable -> CMIP table, as
    the definition asks), only files of that table are used for the variable:
    a member directory may hold ``Amon/tas`` and ``day/tas``. When several
    version directories hold a variable, the latest (highest sorting directory
    name) is used.

    Raises
    ------
    InputDataError
        No netCDF file; a variable in several directories of the latest version;
        a wanted variable present only in other tables.
    """
    path = Path(pattern)
    candidates = sorted(path.rglob("*.nc")) if path.is_dir() else sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    if not candidates:
        raise InputDataError(f"model {name!r}: no netCDF file found", path=pattern)
    tables = tables or {}
    by_variable: dict[str, dict[Path, list[Path]]] = {}
    other_tables: dict[str, set[str]] = {}
    for file in candidates:
        variable, table = (file.name.split("_") + [""])[:2]
        if variable in tables and table != tables[variable]:
            other_tables.setdefault(variable, set()).add(table)
            continue
        by_variable.setdefault(variable, {}).setdefault(file.parent, []).append(file)
    for variable, found in sorted(other_tables.items()):
        if variable not in by_variable:
            raise InputDataError(
                f"model {name!r}: variable {variable!r} is only in table(s) {', '.join(sorted(found))}; the "
                f"definition reads it from table {tables[variable]!r} ({variable}_{tables[variable]}_*.nc)",
                path=pattern,
            )
    files = {}
    for variable, dirs in by_variable.items():
        latest = max(d.name for d in dirs)
        chosen = [d for d in dirs if d.name == latest]
        if len(chosen) > 1:
            raise InputDataError(
                f"model {name!r}: variable {variable!r} is in several directories "
                f"({', '.join(str(d) for d in chosen[:3])}); point --model at one member's directory",
                path=pattern,
            )
        files[variable] = dirs[chosen[0]]
    return ModelFiles(name=name, member="given", files=files)


def definition_tables(definition: Definition) -> dict[str, str]:
    """Variable -> table of every model variable the definition reads, ``prefer`` alternatives included."""
    tables = wanted_tables(definition)
    tables.update({name: definition.target.table for name in definition.target.prefer})
    tables.update({fx: "fx" for fx in FX_VARIABLES})
    return tables


def compare(
    new: pd.DataFrame, baseline: pd.DataFrame, baseline_model: str, tolerance: float, models: list[str] | None = None
) -> pd.DataFrame:
    """Compare every new model's scores with one baseline model's, per region and metric.

    ``models`` are the models that were given (default: those in ``new``); a
    given model without scores gets a ``missing`` row for every baseline cell.
    """
    base = baseline[(baseline["model"] == baseline_model) & baseline["metric"].isin(METRICS)]
    base = base.set_index(["region", "metric"])["value"]
    rows = []
    for model in dict.fromkeys(new["model"]) if models is None else models:
        mine = new[(new["model"] == model) & new["metric"].isin(METRICS)].set_index(["region", "metric"])["value"]
        for (region, metric), before in base.items():
            after = mine.get((region, metric), np.nan)
            rows.append(
                {"model": model, "region": region, "metric": metric, "baseline": before, "new": after,
                 "delta": after - before, "status": _status(before, after, tolerance)}
            )
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    order = {"regressed": 0, "missing": 1, "improved": 2, "pass": 3}
    return table.sort_values(["status", "delta"], key=lambda c: c.map(order) if c.name == "status" else c, kind="stable")


def _status(before: float, after: float, tolerance: float) -> str:
    if not np.isfinite(before):
        return "pass"
    if not np.isfinite(after):
        return "missing"
    return change_status(after - before, tolerance)


def check(
    definition: Definition,
    bundle: str | Path,
    models: dict[str, str],
    baseline: str | None = None,
    baseline_scores: str | Path | None = None,
    tolerance: float = TOLERANCE,
    workers: int = 1,
    progress: Progress = silent,
    cache=None,
    bootstraps: int | None = None,
) -> CheckResult:
    """Score new model versions against a bundle and compare with a baseline.

    Parameters
    ----------
    models : dict
        New model name -> directory or glob of its files.
    baseline : str, optional
        A model scored in the bundle (or in ``baseline_scores``). Default: the
        new model's own name, when the baseline has it (the previous version).
    baseline_scores : path, optional
        A previous ``scores.csv`` to compare with instead of the bundle's.
    bootstraps : int or None
        Bootstrap replicates of the new model (default None: as in the
        definition, which the bundle's baseline scores used; a model's refits
        are part of its estimate, so another number changes its scores).

    Raises
    ------
    SocbenchError
        Bad input, a corrupt or mismatched bundle, or an unknown baseline.
    """
    if not math.isfinite(tolerance) or tolerance < 0:
        raise SocbenchError(f"tolerance: expected a finite number >= 0, got {tolerance!r}")
    with worker_pool(workers) as pool:
        return _check(definition, bundle, models, baseline, baseline_scores, tolerance, pool, progress, cache, bootstraps)


def _check(
    definition, bundle, models, baseline, baseline_scores, tolerance, workers, progress, cache, bootstraps
) -> CheckResult:
    reference, bundle_scores, ceiling = load_reference(bundle, definition)
    check_new_model_names(models, [p.name for p in reference.products], bundle)
    previous, source = bundle_scores, f"reference bundle {bundle}"
    if baseline_scores is not None:
        previous, source = read_baseline_scores(baseline_scores), str(baseline_scores)
    known = list(dict.fromkeys(previous["model"]))
    if baseline is None:
        same = [name for name in models if name in known]
        if len(models) != 1 or not same:
            raise SocbenchError(f"give --baseline: one of the baseline's models ({', '.join(known)})")
        baseline = same[0]
    if baseline not in known:
        raise SocbenchError(f"baseline model {baseline!r} not in the baseline scores (known: {', '.join(known)})")
    require_comparable(previous, baseline, source)
    files, failures = [], []
    for name, pattern in models.items():
        try:
            files.append(model_files_from_path(name, pattern, definition_tables(definition)))
        except SocbenchError as exc:
            failures.append({"dataset": name, "kind": "model", "reason": str(exc)})
    result = score_against(reference, files, workers, progress, cache, bootstraps, failures)
    comparison = compare(result.scores, previous, baseline, tolerance, list(models))
    result.provenance["check"] = _check_provenance(bundle, models, baseline, baseline_scores, tolerance)
    return CheckResult(result=result, comparison=comparison, baseline=baseline, tolerance=tolerance, models=list(models))


def score_against(
    reference: Reference,
    models: list[ModelFiles],
    workers: int | Executor = 1,
    progress: Progress = silent,
    cache=None,
    bootstraps: int | None = None,
    failures: list[dict] | None = None,
) -> RunResult:
    """Read models and score them against a stored envelope (:func:`socbench.reference.load_reference`).

    A model that cannot be read is a failure of the result, with the reason,
    appended to ``failures``; the others are scored.
    """
    started = time.time()
    failures = list(failures or [])
    prepared = []
    for model in models:
        progress(f"reading model {model.name}")
        try:
            prepared.append(prepare_model(reference.context, model))
        except SocbenchError as exc:
            failures.append({"dataset": model.name, "kind": "model", "reason": str(exc)})
    result = score_models(
        reference, prepared, workers=workers, progress=progress, cache=cache, failures=failures, bootstraps=bootstraps
    )
    context = reference.context
    result.provenance = provenance(context.definition, context, prepared, workers, time.time() - started)
    return result


def _check_provenance(bundle, models: dict[str, str], baseline: str, baseline_scores, tolerance: float) -> dict:
    """What a check compared, beside the provenance of a run."""
    return {
        "reference_bundle": str(Path(bundle).resolve()),
        "models": {name: str(pattern) for name, pattern in models.items()},
        "baseline": baseline,
        "baseline_scores": str(baseline_scores) if baseline_scores is not None else None,
        "tolerance": tolerance,
    }


def read_baseline_scores(path) -> pd.DataFrame:
    """A previous ``scores.csv`` (``model, region, metric, value``).

    Raises
    ------
    SocbenchError
        Unreadable, or without those columns.
    """
    try:
        scores = pd.read_csv(path)
    except Exception as exc:  # pandas raises many types for bad CSV files
        raise SocbenchError(f"{path}: cannot read baseline scores ({one_line(exc)})") from None
    missing = [c for c in ("model", "region", "metric", "value") if c not in scores.columns]
    if missing:
        raise SocbenchError(f"{path}: baseline scores lack the column(s) {', '.join(missing)}; expected a socbench "
                            "scores.csv (model, region, metric, value)")
    scores["value"] = pd.to_numeric(scores["value"], errors="coerce")
    return scores


def require_comparable(scores: pd.DataFrame, baseline: str, source: str) -> None:
    """Refuse a baseline without a single finite score: every comparison would "pass" against nothing.

    Raises
    ------
    SocbenchError
    """
    rows = scores[(scores["model"] == baseline) & scores["metric"].isin(METRICS)]
    if not np.isfinite(rows["value"].astype(float)).any():
        raise SocbenchError(
            f"{source}: baseline model {baseline!r} has no finite score ({len(rows)} cells, all empty or NaN), so "
            "nothing can be compared; give the scores.csv of a run that scored it, or another --baseline"
        )


def _fmt(value: float) -> str:
    return "–" if not np.isfinite(value) else f"{value:.3f}"


def _markdown_text(value: object) -> str:
    """Untrusted text (a name, a failure reason) as literal Markdown: no HTML, links, emphasis or table breaks."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", text)


def markdown_summary(outcome: CheckResult) -> str:
    """A Markdown report for a pull-request comment or a CI step summary, regressions first."""
    regressions = outcome.regressions
    verdict = "passed" if outcome.passed else "FAILED"
    lines = [
        f"## socbench check {verdict}",
        "",
        f"Compared with **{outcome.baseline}**, tolerance {outcome.tolerance:g} "
        f"(a score lower by more than that is a regression).",
        "",
    ]
    failures = outcome.result.failures
    if len(failures):
        lines += ["### Could not be scored", ""]
        lines += [f"- **{_markdown_text(row.dataset)}**: {_markdown_text(row.reason)}" for row in failures.itertuples()]
        lines.append("")
    if len(regressions):
        regions = ", ".join(dict.fromkeys(regressions["region"]))
        lines += [f"### Regressions ({len(regressions)}) in: {regions}", ""]
        lines += _markdown_table(regressions)
    else:
        lines += ["No regression beyond the tolerance.", ""]
    lines += ["<details><summary>All comparisons</summary>", ""]
    lines += _markdown_table(outcome.comparison)
    lines += ["</details>", ""]
    return "\n".join(lines)


def _markdown_table(table: pd.DataFrame) -> list[str]:
    lines = ["| model | region | component | baseline | new | change | status |", "|---|---|---|---:|---:|---:|---|"]
    for row in table.itertuples():
        change = "–" if not np.isfinite(row.delta) else f"{row.delta:+.3f}"
        cells = [*map(_markdown_text, (row.model, row.region, row.metric)), _fmt(row.baseline), _fmt(row.new), change,
                 row.status]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def junit_xml(outcome: CheckResult) -> str:
    """JUnit XML: one test case per model x region x component, and one per model that was not scored.

    Regressions and unscored models are failures, so that the CI system shows
    the check as failed with the reason.
    """
    table = outcome.comparison
    failed = table["status"].isin(FAILING)
    errors = outcome.result.failures
    cases = []
    for row, is_failure in zip(table.itertuples(), failed):
        name = quoteattr(f"{row.region} / {row.metric}")
        classname = quoteattr(f"socbench.{row.model}")
        body = ""
        if is_failure:
            message = f"{row.metric} in {row.region}: {_fmt(row.new)} vs baseline {_fmt(row.baseline)} ({row.status})"
            body = f"<failure message={quoteattr(message)} type=\"{row.status}\">{escape(message)}</failure>"
        cases.append(f"    <testcase classname={classname} name={name}>{body}</testcase>")
    for row in errors.itertuples():
        message = f"not scored: {row.reason}"
        cases.append(
            f"    <testcase classname={quoteattr('socbench.' + str(row.dataset))} name=\"scored\">"
            f"<failure message={quoteattr(message)} type=\"unscored\">{escape(message)}</failure></testcase>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuites>\n  <testsuite name="socbench check" tests="{len(cases)}" '
        f'failures="{int(failed.sum()) + len(errors)}" errors="0">\n' + "\n".join(cases) + "\n  </testsuite>\n</testsuites>\n"
    )
