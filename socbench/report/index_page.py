"""View data of the scorecard (``index.html``): one models x regions table per score."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from socbench.results import (
    EMULATOR_COLUMNS,
    FAILURE_COLUMNS,
    METRICS,
    PRODUCT_FLAG_COLUMNS,
    REGION_COLUMNS,
    SKIPPED_COLUMNS,
    STOCK_COLUMNS,
    RunResult,
)

from .baseline import Baseline
from .cells import CellContext, change_row, column_values, score_cell
from .names import region_anchors
from .drivers import largest_sensitivity_notes
from .tables import (
    assessment_lookup,
    capped_lookup,
    display_regions,
    flag_text,
    input_notes,
    metric_meaning,
    metric_title,
    nonfinite_counts,
    null_label,
    products_in_no_region,
    ranked_models,
    reference_withheld,
    region_statuses,
    score_lookup,
    skipped_lookup,
)
from .values import MISSING_TEXT, SCORE_PALETTE, RELATIVE_PALETTE, fmt, fmt_int, is_number, jsonable, text, truthy, unique


def index_context(result: RunResult, pages: dict[str, str], changes: pd.DataFrame | None,
                  baseline: Baseline | None) -> dict[str, Any]:
    """Everything ``index.html`` shows."""
    regions = display_regions(result)
    statuses = region_statuses(result)
    models = ranked_models(result)
    context = _cell_context(result, models, changes)
    anchors = region_anchors(regions)
    links = {m: f"models/{f}" for m, f in pages.items()}
    return {
        "title": f"socbench scorecard: {result.name}",
        "failures": _records(result.failures, FAILURE_COLUMNS),
        "skipped": _records(result.skipped, SKIPPED_COLUMNS),
        "warnings": _warnings(result),
        "product_flags": _product_flag_rows(result),
        "nonfinite": [{"dataset": name, "cells": fmt_int(count)} for name, count in nonfinite_counts(result).items()],
        "input_notes": input_notes(result),
        "regions": [{"name": r, "status": statuses.get(r, "ok"), "flagged": statuses.get(r, "ok") != "ok"}
                    for r in regions],
        "metrics": [{"key": m, "title": metric_title(m), "meaning": metric_meaning(m)} for m in list(METRICS)],
        "tables": [_score_table(result, metric, models, regions, context, links, anchors) for metric in list(METRICS)],
        "palette": SCORE_PALETTE,
        "relative_palette": RELATIVE_PALETTE,
        "changes": _change_rows(changes, pages) if changes is not None else None,
        "baseline": baseline.label if baseline is not None else None,
        "emulators": emulator_table(result.emulators, regions),
        "region_rows": _region_rows(result, statuses),
        "stocks": _stock_rows(result),
        "provenance": _provenance_rows(result.provenance),
    }


def _cell_context(result: RunResult, models: list[str], changes: pd.DataFrame | None) -> CellContext:
    from .baseline import change_lookup

    scores = score_lookup(result.scores, "model")
    withheld = assessment_lookup(result)
    return CellContext(scores=scores, withheld=withheld,
                       changes=change_lookup(changes) if changes is not None else {},
                       columns=column_values(scores, models, withheld), skipped=skipped_lookup(result),
                       capped=capped_lookup(result), notes=largest_sensitivity_notes(result))


def _score_table(result: RunResult, metric: str, models: list[str], regions: list[str], context: CellContext,
                 links: dict[str, str], anchors: dict[str, str]) -> dict[str, Any]:
    rows = []
    for rank, model in enumerate(models, start=1):
        cells = [
            score_cell(context, model, region, metric, href=f"{links[model]}#{anchors[region]}",
                       tip_id=f"tip-{metric}-{rank}-{i}")
            for i, region in enumerate(regions)
        ]
        rows.append({"model": model, "href": links[model], "rank": rank, "cells": cells})
    return {
        "metric": metric,
        "title": metric_title(metric),
        "meaning": metric_meaning(metric),
        "regions": regions,
        "rows": rows,
        "references": _reference_rows(result, metric, regions),
    }


def _reference_rows(result: RunResult, metric: str, regions: list[str]) -> list[dict[str, Any]]:
    """Ceiling rows (each product scored, leave-one-product-out, against the consensus of the others) and null rows."""
    rows = []
    sources = ((result.ceiling, "product", "ceiling"), (result.nulls, "reference", "null"))
    for table, key, kind in sources:
        lookup = score_lookup(table, key)
        names = unique(table[key])
        context = CellContext(scores=lookup, skipped=skipped_lookup(result),
                              withheld=reference_withheld(result, names, null=kind == "null"))
        for name in names:
            label = f"ceiling: {name}" if kind == "ceiling" else null_label(text(name))
            rows.append({"label": label, "kind": kind,
                         "cells": [score_cell(context, name, region, metric, coloured=True) for region in regions]})
    return rows


def _change_rows(changes: pd.DataFrame, pages: dict[str, str]) -> list[dict[str, Any]]:
    return [{**change_row(row), "href": f"models/{pages[row.model]}" if row.model in pages else None}
            for row in changes.itertuples(index=False)]


def _warnings(result: RunResult) -> list[str]:
    warnings = [f"Observation product {name!r} is used in no region: it was read but no region's envelope "
                "contains it (check its coverage and the regions' coverage_min)."
                for name in products_in_no_region(result)]
    statuses = region_statuses(result)
    warnings += [f"Region {region!r} has no observation product: its scores are not assessable."
                 for region, status in statuses.items() if status == "no observations"]
    return warnings


def _product_flag_rows(result: RunResult) -> list[dict[str, str]]:
    """Flagged observation products, by region then product."""
    flags = result.product_flags.reindex(columns=PRODUCT_FLAG_COLUMNS)
    order = {region: i for i, region in enumerate(display_regions(result))}
    rows = sorted(flags.itertuples(index=False), key=lambda r: (order.get(r.region, len(order)), text(r.product)))
    return [{"region": text(r.region), "product": text(r.product), "flag": text(r.flag),
             "meaning": flag_text(r.flag), "detail": text(r.detail)} for r in rows]


def emulator_table(emulators: pd.DataFrame, regions: list[str]) -> dict[str, Any]:
    """Emulator fit (CV R², cells) per dataset and region."""
    table = emulators.reindex(columns=EMULATOR_COLUMNS)
    shown = [r for r in regions if (table["region"] == r).any()]
    rows = []
    for (dataset, kind), group in table.groupby(["dataset", "kind"], sort=False, dropna=False):
        by_region = {row.region: row for row in group.itertuples(index=False)}
        rows.append({"dataset": dataset, "kind": kind,
                     "cells": [_emulator_cell(dataset, region, by_region.get(region)) for region in shown]})
    return {"regions": shown, "rows": rows}


#: What an unreliable emulator means, by the kind of dataset it emulates.
_UNRELIABLE = {
    "model": "its driver scores are set to 0, below the null reference's",
    "observation": "left out of the envelope",
}


def _emulator_cell(dataset: str, region: str, row) -> dict[str, Any]:
    if row is None:
        return {"r2": MISSING_TEXT, "n": "", "block": "", "unreliable": False, "title": f"{dataset}, {region}: no emulator"}
    unreliable = not truthy(row.reliable)
    r2, n_cells = fmt(row.cv_r2), fmt_int(row.n_cells)
    block = fmt_int(row.cv_block_size) if is_number(row.cv_block_size) else ""
    flag = f" (unreliable: {_UNRELIABLE[row.kind]})" if unreliable else ""
    blocks = f", CV blocks of {block}°" if block else ""
    return {"r2": r2, "n": n_cells, "block": block, "unreliable": unreliable,
            "title": f"{dataset}, {region}: CV R² {r2}, {n_cells} cells{blocks}{flag}"}


def _region_rows(result: RunResult, statuses: dict[str, str]) -> list[dict[str, str]]:
    return [
        {"region": row.region, "n_cells": fmt_int(row.n_cells), "area": fmt_int(row.area_km2),
         "status": statuses.get(row.region, text(row.status)), "products": text(row.products).replace(",", ", ")}
        for row in result.regions.reindex(columns=REGION_COLUMNS).itertuples(index=False)
    ]


def _stock_rows(result: RunResult) -> list[dict[str, str]]:
    stocks = result.stocks.reindex(columns=STOCK_COLUMNS)
    return [{"dataset": text(r.dataset), "kind": text(r.kind), "region": text(r.region),
             "stock": fmt(r.stock_pg, digits=1), "area": fmt_int(r.area_km2)} for r in stocks.itertuples(index=False)]


def _provenance_rows(provenance: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, value in provenance.items():
        value = jsonable(value)
        nested = isinstance(value, (dict, list))
        rows.append({"key": str(key), "value": json.dumps(value, indent=2) if nested else text(value),
                     "nested": nested})
    return rows


def _records(table: pd.DataFrame, columns: list[str]) -> list[dict[str, str]]:
    rows = table.reindex(columns=columns).itertuples(index=False, name=None)
    return [{column: text(value) for column, value in zip(columns, row)} for row in rows]
