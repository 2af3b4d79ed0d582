"""The plain-text summary printed on the terminal after a run."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from socbench.results import FAILURE_COLUMNS, METRICS, RunResult

from .cells import WITHHELD_TEXT
from .tables import (
    assessment_lookup,
    display_regions,
    null_label,
    products_in_no_region,
    reference_withheld,
    region_statuses,
)
from .values import fmt, text

_SUMMARY_COLUMNS = 6  # regions per block of the terminal summary
_METRIC_COLUMNS = 5  # overall and the emulator components, then the field components
_SKIPPED_SHOWN = 5  # (dataset, region) pairs listed; the rest are counted
_FLAG_REGIONS_SHOWN = 2


def summary_table(result: RunResult) -> str:
    """Plain-text summary for the terminal.

    Overall scores of models (and the observational ceiling and the null
    reference) by region, the component scores of the global region
    (``n/a`` where withheld, ``-`` where not computed), regions without
    observations, unused and flagged products, datasets not scored for
    coverage and the failed datasets.

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
    if not result.scores.empty and regions:
        lines += ["Overall score by region (0-1, higher is better)"]
        for start in range(0, len(regions), _SUMMARY_COLUMNS):
            lines += _text_table(regions[start : start + _SUMMARY_COLUMNS], rows, lambda region: (region, "overall"))
        lines += ["", f"Component scores, {_shorten(regions[0], 40)}"]
        shown = list(METRICS)
        for start in range(0, len(shown), _METRIC_COLUMNS):
            lines += _text_table(shown[start : start + _METRIC_COLUMNS], rows, lambda metric: (regions[0], metric))
    else:
        lines += ["No scores."]
    lines += ["", *_notice_lines(result), *_skipped_lines(result), *_failure_lines(result.failures)]
    return "\n".join(_printable(line) for line in lines)


def _summary_rows(result: RunResult) -> list[tuple[str, dict[tuple[str, str], float | str]]]:
    """(label, {(region, metric): value}) for each model, each ceiling product and the null reference.

    A withheld score (for the null reference also one it is not defined on) is
    :data:`WITHHELD_TEXT` instead of NaN.
    """
    rows = []
    sources = ((result.scores, "model", lambda n: n), (result.ceiling, "product", lambda n: f"ceiling: {n}"),
               (result.nulls, "reference", null_label))
    for table, key, label in sources:
        names = list(dict.fromkeys(table[key]))
        withheld = assessment_lookup(result) if key == "model" else reference_withheld(result, names, key == "reference")
        for name, group in table.groupby(key, sort=False):
            values = {(r.region, r.metric): WITHHELD_TEXT if (name, r.region, r.metric) in withheld else r.value
                      for r in group.itertuples(index=False)}
            rows.append((label(text(name)), values))
    return rows


def _text_table(columns: list[str], rows: list[tuple[str, dict]], key: Callable[[str], tuple[str, str]]) -> list[str]:
    headers = [_shorten(column, 12) for column in columns]
    label_width = min(max([len(label) for label, _ in rows] + [5]), 30)
    widths = [max(len(h), 5) for h in headers]
    lines = [" " * label_width + "".join(f"  {h:>{w}}" for h, w in zip(headers, widths))]
    for label, values in rows:
        cells = "".join(f"  {_cell_text(values.get(key(c))):>{w}}" for c, w in zip(columns, widths))
        lines.append(f"{_shorten(label, label_width):<{label_width}}{cells}")
    return lines


def _cell_text(value: float | str | None) -> str:
    return value if isinstance(value, str) else fmt(value, missing="-")


def _notice_lines(result: RunResult) -> list[str]:
    lines = [f"Region {region} has no observation product: not assessable."
             for region, status in region_statuses(result).items() if status == "no observations"]
    lines += [f"Warning: observation product {name} is used in no region." for name in products_in_no_region(result)]
    lines += _flag_lines(result)
    return lines + ([""] if lines else [])


def _flag_lines(result: RunResult) -> list[str]:
    """One warning per flagged (product, flag), naming the first regions."""
    lines = []
    for (product, flag), group in result.product_flags.groupby(["product", "flag"], sort=False):
        regions = [_shorten(text(r), 24) for r in group["region"]]
        named = ", ".join(regions[:_FLAG_REGIONS_SHOWN]) + (", ..." if len(regions) > _FLAG_REGIONS_SHOWN else "")
        lines.append(f"Warning: product {_shorten(text(product), 30)} flagged {text(flag)} in {len(regions)} "
                     f"region(s): {named} (product_flags.csv)")
    return lines


def _skipped_lines(result: RunResult) -> list[str]:
    """How many (dataset, region) pairs were not scored for coverage, with the first few."""
    skipped = result.skipped
    if skipped.empty:
        return []
    lines = [f"Not scored for coverage ({len(skipped)}; all in skipped.csv):"]
    for row in skipped.head(_SKIPPED_SHOWN).itertuples(index=False):
        lines.append(f"  {_shorten(text(row.dataset), 24)} [{text(row.kind)}] in {_shorten(text(row.region), 24)}: "
                     f"{_shorten(' '.join(text(row.reason).split()), 80)}")
    if len(skipped) > _SKIPPED_SHOWN:
        lines.append(f"  ... and {len(skipped) - _SKIPPED_SHOWN} more")
    return lines + [""]


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
