"""The plain-text summary printed on the terminal after a run."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from socbench.results import FAILURE_COLUMNS, RunResult

from .tables import display_regions, metrics, products_in_no_region, region_statuses
from .values import fmt, text

_SUMMARY_COLUMNS = 6  # regions per block of the terminal summary


def summary_table(result: RunResult) -> str:
    """Plain-text summary for the terminal.

    Overall scores of models (and the observational ceiling) by region, the
    component scores of the global region, regions without observations,
    unused products and the failed datasets.

    Parameters
    ----------
    result : RunResult
        The run to summarise.

    Returns
    -------
    str
        Lines no wider than about 100 characters for up to ~6 regions.
    """
    regions = display_regions(result)
    rows = _summary_rows(result)
    lines = [f"socbench {result.name}: status {result.status}", ""]
    if rows and regions:
        lines += ["Overall score by region (0-1, higher is better)"]
        for start in range(0, len(regions), _SUMMARY_COLUMNS):
            lines += _text_table(regions[start : start + _SUMMARY_COLUMNS], rows, lambda region: (region, "overall"))
        lines += ["", f"Component scores, {_shorten(regions[0], 40)}"]
        lines += _text_table(metrics(result), rows, lambda metric: (regions[0], metric))
    else:
        lines += ["No scores."]
    lines += ["", *_notice_lines(result), *_failure_lines(result.failures)]
    return "\n".join(_printable(line) for line in lines)


def _summary_rows(result: RunResult) -> list[tuple[str, dict[tuple[str, str], float]]]:
    """(label, {(region, metric): value}) for each model, then each ceiling product."""
    rows = []
    for table, key, prefix in ((result.scores, "model", ""), (result.ceiling, "product", "ceiling: ")):
        for name, group in table.groupby(key, sort=False):
            rows.append((f"{prefix}{name}", {(r.region, r.metric): r.value for r in group.itertuples(index=False)}))
    return rows


def _text_table(columns: list[str], rows: list[tuple[str, dict]], key: Callable[[str], tuple[str, str]]) -> list[str]:
    headers = [_shorten(column, 12) for column in columns]
    label_width = min(max([len(label) for label, _ in rows] + [5]), 30)
    widths = [max(len(h), 5) for h in headers]
    lines = [" " * label_width + "".join(f"  {h:>{w}}" for h, w in zip(headers, widths))]
    for label, values in rows:
        cells = "".join(f"  {fmt(values.get(key(c)), missing='-'):>{w}}" for c, w in zip(columns, widths))
        lines.append(f"{_shorten(label, label_width):<{label_width}}{cells}")
    return lines


def _notice_lines(result: RunResult) -> list[str]:
    lines = [f"Region {region} has no observation product: not assessable."
             for region, status in region_statuses(result).items() if status == "no observations"]
    lines += [f"Warning: observation product {name} is used in no region." for name in products_in_no_region(result)]
    return lines + ([""] if lines else [])


def _failure_lines(failures: pd.DataFrame) -> list[str]:
    if failures.empty:
        return ["No failed datasets."]
    lines = [f"Failed datasets ({len(failures)}):"]
    for row in failures.reindex(columns=FAILURE_COLUMNS).itertuples(index=False):
        reason = " ".join(text(row.reason).split())
        lines.append(f"  {_shorten(text(row.dataset), 40)} [{text(row.kind)}]: {reason}")
    return lines


def _printable(line: str) -> str:
    # Untrusted names must not smuggle terminal escape sequences into a CI log.
    return "".join(c if c.isprintable() else "?" for c in line)


def _shorten(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "~"
