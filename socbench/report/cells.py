"""Score cells: value, colours, withheld reason and change since the baseline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from socbench.results import COMPONENTS

from socbench.changes import change_status
from .tables import metric_title, reason_text
from .values import MISSING_TEXT, fmt, fmt_delta, int_or_none, is_number, relative_colours, rounded, score_colours

WITHHELD_TEXT = "n/a"
#: Marker after a score set to 0, below the null reference's, or an overall capped at the null's (the
#: model's emulator is unreliable there).
CAPPED_MARK = "≤null"


@dataclass
class CellContext:
    """What a cell needs besides its own value: lookups shared by a whole table."""

    scores: dict[tuple[str, str, str], float]
    withheld: dict[tuple[str, str, str], str] = field(default_factory=dict)
    changes: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)
    columns: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    skipped: dict[tuple[str, str], str] = field(default_factory=dict)
    #: ``{(name, region, metric): reason code}`` of scores set to 0, below the null reference's.
    capped: dict[tuple[str, str, str], str] = field(default_factory=dict)
    #: ``{(name, region, metric): sentence}`` shown in a scored cell's tooltip (e.g. the largest sensitivity ratio).
    notes: dict[tuple[str, str, str], str] = field(default_factory=dict)


def score_cell(context: CellContext, name: str, region: str, metric: str, *, href: str | None = None,
               tip_id: str | None = None, coloured: bool = True) -> dict[str, Any]:
    """View data of one score cell.

    Returns
    -------
    dict
        ``text``, ``sort`` (a number, or None), ``state`` (``scored``,
        ``withheld`` or ``missing``), ``capped`` (a scored cell capped at the
        null reference's score: shown with :data:`CAPPED_MARK`), ``style``
        (absolute and relative colours as CSS variables), ``label`` (for hover
        and screen readers), ``reason`` (the tooltip), ``href``, ``tip_id``,
        ``delta``, ``delta_class`` and ``rests_on`` (for an overall score
        resting on fewer than all components: ``"4/7"``).
    """
    value = context.scores.get((name, region, metric))
    reason_code = context.withheld.get((name, region, metric))
    label = f"{name}, {region}, {metric_title(metric)}"
    rests_on = ""
    capped = context.capped.get((name, region, metric)) if reason_code is None else None
    if reason_code is not None:
        state, shown, reason = "withheld", WITHHELD_TEXT, f"Not assessable: {reason_text(reason_code)}"
    elif is_number(value):
        state, shown, reason = "scored", fmt(value), ""
        if metric == "overall":
            rests_on, reason = _overall_basis(context, name, region)
        if capped is not None:
            reason = f"Capped: {reason_text(capped, sentence=False)}."
        note = context.notes.get((name, region, metric))
        if note:
            reason = f"{reason} {note}".strip()
    elif (name, region) in context.skipped:
        state, shown, reason = "missing", MISSING_TEXT, f"Not scored for coverage: {context.skipped[(name, region)]}."
    else:
        state, shown, reason = "missing", MISSING_TEXT, "Not available."
    baseline, delta = context.changes.get((name, region, metric), (None, None))
    cell = {
        "text": shown,
        "sort": rounded(value, 6) if state == "scored" else None,
        "state": state,
        "capped": CAPPED_MARK if capped is not None and state == "scored" else "",
        "style": _style(value, context.columns.get((region, metric), [])) if coloured and state == "scored" else "",
        "label": f"{label}: {shown if state == 'scored' else reason}" + (f" ({reason})" if state == "scored" and reason else ""),
        "reason": reason,
        "href": href,
        "tip_id": tip_id if reason else None,
        "rests_on": rests_on,
        "delta": fmt_delta(delta),
        "delta_class": _delta_class(delta),
        "delta_label": (f"was {fmt(baseline)} in the baseline, change {fmt_delta(delta)}"
                        if is_number(delta) else ""),
    }
    return cell


def _overall_basis(context: CellContext, name: str, region: str) -> tuple[str, str]:
    """``("4/7", "Rests on 4 of the 7 components; ...")`` when overall leaves components out, else ``("", "")``.

    The count is the ``overall_components`` diagnostic (the components judged
    in the region, the same for every model there); the sentence names the
    components left out and why, and those judged but not computed for this
    model, which count 0.
    """
    count = int_or_none(context.scores.get((name, region, "overall_components")))
    if count is None:
        return "", ""
    left_out, zeros = [], []
    for component in COMPONENTS:
        code = context.withheld.get((name, region, component))
        if code is not None:
            left_out.append(f"{metric_title(component)} (withheld: {reason_text(code, sentence=False)})")
        elif not is_number(context.scores.get((name, region, component))):
            zeros.append(metric_title(component))
    detail = f"; left out: {', '.join(left_out)}" if left_out else ""
    detail += f"; counted as 0 (not computed for this model): {', '.join(zeros)}" if zeros else ""
    if count >= len(COMPONENTS) and not detail:
        return "", ""
    marker = f"{count}/{len(COMPONENTS)}" if count < len(COMPONENTS) else ""
    return marker, f"Rests on {count} of the {len(COMPONENTS)} components{detail}."


def _style(value: float, column: list[float]) -> str:
    absolute = score_colours(value)
    relative = relative_colours(value, column)
    return f"--abg:{absolute[0]};--afg:{absolute[1]};--rbg:{relative[0]};--rfg:{relative[1]}"


def change_row(row) -> dict[str, str]:
    """View data of one row of a changes table (``model, region, metric, baseline, new, delta``)."""
    return {"model": row.model, "region": row.region, "metric": metric_title(row.metric),
            "baseline": fmt(row.baseline), "new": fmt(row.new), "delta": fmt_delta(row.delta),
            "delta_class": _delta_class(row.delta)}


_DELTA_CLASSES = {"regressed": "delta-down", "improved": "delta-up", "pass": "delta-same", "": ""}


def _delta_class(delta: float | None) -> str:
    return _DELTA_CLASSES[change_status(delta if is_number(delta) else None)]


def column_values(scores: dict[tuple[str, str, str], float], names: list[str],
                  withheld: dict[tuple[str, str, str], str]) -> dict[tuple[str, str], list[float]]:
    """The assessed scores of each (region, metric) column, for relative colours."""
    columns: dict[tuple[str, str], list[float]] = {}
    for (name, region, metric), value in scores.items():
        if name in names and (name, region, metric) not in withheld and is_number(value):
            columns.setdefault((region, metric), []).append(float(value))
    return columns
