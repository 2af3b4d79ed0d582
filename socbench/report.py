"""Report stage: render a :class:`~socbench.results.RunResult` as files.

Rendering is kept apart from computing: this module only reads the tidy
tables of a run result and writes the HTML scorecard, one page per model,
a CMEC metric bundle (``scores.json``), tidy CSVs and ``provenance.json``.
The whole directory is built under a temporary name and swapped in with
renames, so readers never see a half-written scorecard.

Model names, failure reasons and provenance values come from input files and
are untrusted: the templates autoescape everything, and only figures made by
:mod:`socbench.plots` are marked safe.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from socbench import __version__, plots
from socbench.outputs import claim_output, mark_output
from socbench.resources import resource_dir
from socbench.results import (
    CEILING_COLUMNS,
    EMULATOR_COLUMNS,
    FAILURE_COLUMNS,
    METRICS,
    REGION_COLUMNS,
    RESPONSE_COLUMNS,
    SCORE_COLUMNS,
    RunResult,
)

__all__ = ["write_report", "summary_table", "safe_filename", "page_names"]

GLOBAL_REGION = "global"
#: Column order of ``importances.csv``.
IMPORTANCE_CSV_COLUMNS = ["dataset", "region", "covariate", "share", "share_low", "share_high", "kind"]

METRIC_TITLES = {
    "overall": "Overall score",
    "importance": "Driver importance",
    "response": "Response shape",
    "stock_bias": "Stock bias",
    "spatial_distribution": "Spatial distribution",
    "importance_kendall_tau": "Importance rank correlation (Kendall τ)",
}
METRIC_DESCRIPTIONS = {
    "overall": "Weighted mean of the component scores (weights from the benchmark definition).",
    "importance": (
        "Do the same drivers matter? Total-variation distance between the model's and the observed "
        "importance shares, beyond the distance between observation products themselves."
    ),
    "response": (
        "Does SOC respond to each driver with the right shape? Relative L2 distance between response "
        "curves, weighted by observed importance, beyond the distance between observation products."
    ),
    "stock_bias": (
        "ILAMB-comparable bias score exp(-max(|m-o|-u, 0)/|o|), with u the spread between "
        "observation products."
    ),
    "spatial_distribution": (
        "ILAMB-comparable spatial distribution score 4(1+R)/((σ+1/σ)²·2), area-weighted, with R the "
        "spatial correlation and σ the ratio of spatial standard deviations."
    ),
    "importance_kendall_tau": (
        "Weighted Kendall rank correlation of model and observed importance shares (-1..1), "
        "reported beside the importance score, not part of it."
    ),
}

# viridis sampled at 11 fixed stops: perceptually uniform and colour-blind safe.
_SCORE_PALETTE = (
    "#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c",
    "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725",
)
_MISSING_TEXT = "–"
_MAX_FILENAME = 96
_SUMMARY_COLUMNS = 6  # regions per block of the terminal summary
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------


def write_report(result: RunResult, out_dir: str | os.PathLike[str]) -> Path:
    """Write the scorecard, model pages and machine-readable tables.

    The directory is built as a hidden sibling ``.{name}.tmp-<random>`` and
    renamed into place; an existing ``out_dir`` is replaced only once the new
    one is complete. On any error the temporary directory is removed and an
    existing ``out_dir`` is left untouched.

    Parameters
    ----------
    result : RunResult
        The run to report.
    out_dir : str or path-like
        Output directory (created, or replaced as a whole).

    Returns
    -------
    Path
        Path of ``index.html`` inside ``out_dir``.

    Raises
    ------
    socbench.outputs.OutputError
        When ``out_dir`` is a non-empty directory that socbench did not write
        (see :mod:`socbench.outputs`), or another process is writing it.
    """
    target = Path(os.path.abspath(out_dir))
    with claim_output(target), _staging_directory(target) as staging:
        mark_output(staging)
        _write_pages(result, staging)
        _write_tables(result, staging)
        _write_json(staging / "scores.json", _cmec_bundle(result))
        _write_json(staging / "provenance.json", _jsonable(result.provenance))
    return target / "index.html"


def summary_table(result: RunResult) -> str:
    """Plain-text summary for the terminal.

    Overall scores of models (and the observational ceiling) by region, the
    component scores of the global region, and the failed datasets.

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
        lines += _text_table(list(METRICS), rows, lambda metric: (regions[0], metric))
    else:
        lines += ["No scores."]
    lines += ["", *_failure_lines(result.failures)]
    return "\n".join(_printable(line) for line in lines)


def safe_filename(name: str) -> str:
    """Map an untrusted name to a safe file-name stem.

    The result uses only ``[A-Za-z0-9._-]``, is never empty, never starts
    with ``.`` or ``-``, contains no ``..`` and is at most 96 characters.

    Parameters
    ----------
    name : str
        Any string, e.g. a model name read from a file attribute.

    Returns
    -------
    str
        A file-name stem (add the extension yourself).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = text[: _MAX_FILENAME - 1].strip(".-")  # room for the "_" prefix below
    if not text.strip("_"):
        return "model"
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def page_names(models: Iterable[str]) -> dict[str, str]:
    """File names (``<safe stem>.html``) of the model pages, one per model.

    Distinct models always get distinct files, also on case-insensitive file
    systems: colliding stems get ``-2``, ``-3``, ... suffixes in input order.

    Parameters
    ----------
    models : iterable of str
        Model names (duplicates are ignored).

    Returns
    -------
    dict of str to str
        Model name to file name.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for model in dict.fromkeys(models):
        stem = safe_filename(model)
        candidate, counter = stem, 1
        while candidate.lower() in taken:
            counter += 1
            candidate = f"{stem}-{counter}"
        taken.add(candidate.lower())
        names[model] = f"{candidate}.html"
    return names


def display_regions(result: RunResult) -> list[str]:
    """Regions in display order: ``"global"`` first, then as in ``result.regions``.

    Regions that have scores but no row in ``result.regions`` come last;
    regions merged into others or absent (no scores at all) are left out of
    the score tables (the regions table still lists them with their status).
    """
    scored = set(result.scores["region"]) | set(result.ceiling["region"])
    listed = [r for r in result.region_names if r in scored or result.scores.empty]
    listed += list(result.scores["region"]) + list(result.ceiling["region"])
    ordered = _unique(listed)
    if GLOBAL_REGION in ordered:
        ordered.remove(GLOBAL_REGION)
        ordered.insert(0, GLOBAL_REGION)
    return ordered


def score_colours(value: float | None) -> tuple[str, str]:
    """Background and text colour of a score cell.

    Parameters
    ----------
    value : float or None
        Score in [0, 1] (clipped); NaN/None gives the "missing" grey.

    Returns
    -------
    (background, text) : tuple of str
        CSS hex colours; the text colour is whichever of black or white
        contrasts more with the background (WCAG relative luminance).
    """
    if not _is_number(value):
        return "#d9d9d9", "#333333"
    position = min(max(float(value), 0.0), 1.0) * (len(_SCORE_PALETTE) - 1)
    lower = int(math.floor(position))
    upper = min(lower + 1, len(_SCORE_PALETTE) - 1)
    rgb = _mix(_hex_to_rgb(_SCORE_PALETTE[lower]), _hex_to_rgb(_SCORE_PALETTE[upper]), position - lower)
    background = "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
    return background, _contrasting_text(rgb)


# ----------------------------------------------------------------------------
# Atomic output directory
# ----------------------------------------------------------------------------


@contextmanager
def _staging_directory(target: Path) -> Iterator[Path]:
    """Yield a hidden sibling directory; on success swap it in as ``target``."""
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"report output {target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a report is meant to be read
        yield staging
        _swap_in(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap_in(staging: Path, target: Path) -> None:
    if not os.path.lexists(target):
        staging.rename(target)
        return
    retired = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    if retired.is_symlink():
        retired.unlink()
    else:
        shutil.rmtree(retired, ignore_errors=True)


# ----------------------------------------------------------------------------
# HTML pages
# ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(resource_dir("templates"))),
        autoescape=select_autoescape(("html", "htm", "xml"), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write_pages(result: RunResult, directory: Path) -> None:
    pages = page_names(result.models)
    models_dir = directory / "models"
    models_dir.mkdir()
    for model, file_name in pages.items():
        html = _render("model.html", _model_context(result, model, file_name))
        (models_dir / file_name).write_text(html, encoding="utf-8")
    (directory / "index.html").write_text(_render("index.html", _index_context(result, pages)), encoding="utf-8")


def _render(template: str, context: dict[str, Any]) -> str:
    return _environment().get_template(template).render(version=__version__, **context)


def _index_context(result: RunResult, pages: dict[str, str]) -> dict[str, Any]:
    regions = display_regions(result)
    return {
        "title": f"socbench scorecard: {result.name}",
        "name": result.name,
        "status": result.status,
        "failures": _records(result.failures, FAILURE_COLUMNS),
        "score_tables": [
            _score_table(result, metric, regions, {m: f"models/{f}" for m, f in pages.items()})
            for metric in METRICS
        ],
        "legend": [(METRIC_TITLES[m], METRIC_DESCRIPTIONS[m]) for m in METRICS],
        "palette": _SCORE_PALETTE,
        "emulators": _emulator_table(result.emulators, regions),
        "regions": _region_rows(result.regions),
        "provenance": _provenance_rows(result.provenance),
    }


def _model_context(result: RunResult, model: str, file_name: str) -> dict[str, Any]:
    regions = display_regions(result)
    stem = file_name.removesuffix(".html")
    importances = result.importances[result.importances["dataset"] == model]
    responses = result.responses[result.responses["dataset"] == model]
    plotted = [r for r in regions if (responses["region"] == r).any()]
    covariates = _covariates(result, importances, responses)
    return {
        "title": f"socbench: {model}",
        "name": result.name,
        "model": model,
        "scores": _model_score_table(result, model, regions),
        "emulators": _emulator_table(result.emulators[result.emulators["dataset"] == model], regions),
        "importance_svg": _importance_figure(result, importances, regions, covariates, stem),
        "response_figures": [
            {"region": region, "svg": Markup(svg)}
            for region, svg in zip(plotted, plots.response_curves_svgs(
                responses, result.envelope_response, plotted, covariates, salt=f"{stem}-response"))
        ],
        "regions_without_curves": [r for r in regions if r not in plotted],
        "difference_map": _difference_map(result.difference_maps.get(model)),
    }


def _covariates(result: RunResult, importances: pd.DataFrame, responses: pd.DataFrame) -> list[str]:
    found = list(importances["covariate"]) + list(responses["covariate"])
    return _unique(list(result.covariates) + found)


def _importance_figure(
    result: RunResult, importances: pd.DataFrame, regions: list[str], covariates: list[str], stem: str
) -> Markup | None:
    shown = [r for r in regions if (importances["region"] == r).any()]
    if not shown or not covariates:
        return None
    return Markup(plots.importance_bars_svg(
        importances, result.envelope_importance, shown, covariates, salt=f"{stem}-importance"))


def _difference_map(difference: xr.DataArray | None) -> dict[str, Any] | None:
    if difference is None:
        return None
    values = difference.transpose("lat", "lon").to_numpy().astype(float)
    weights = np.broadcast_to(np.cos(np.deg2rad(difference["lat"].to_numpy().astype(float)))[:, None], values.shape)
    finite = np.isfinite(values)
    total = weights[finite].sum()
    png = plots.difference_map_png(difference)
    return {
        "src": "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        "mean": _fmt((values[finite] * weights[finite]).sum() / total if total > 0 else None),
        "mean_abs": _fmt((np.abs(values[finite]) * weights[finite]).sum() / total if total > 0 else None),
        "n_cells": int(finite.sum()),
    }


def _score_table(result: RunResult, metric: str, regions: list[str], links: dict[str, str]) -> dict[str, Any]:
    scores = _score_lookup(result.scores, "model")
    ceiling = _score_lookup(result.ceiling, "product")
    return {
        "metric": metric,
        "title": METRIC_TITLES.get(metric, metric),
        "description": METRIC_DESCRIPTIONS.get(metric, ""),
        "regions": regions,
        "rows": [
            {"label": model, "href": links.get(model),
             "cells": [_cell(model, region, metric, scores.get((model, region, metric))) for region in regions]}
            for model in result.models
        ],
        "ceiling": [
            {"label": f"ceiling: {product}",
             "cells": [_cell(f"ceiling {product}", region, metric, ceiling.get((product, region, metric)))
                       for region in regions]}
            for product in _unique(result.ceiling["product"])
        ],
    }


def _model_score_table(result: RunResult, model: str, regions: list[str]) -> dict[str, Any]:
    scores = _score_lookup(result.scores, "model")
    metrics = list(METRICS) + [m for m in _unique(result.scores["metric"]) if m not in METRICS]
    return {
        "regions": regions,
        "rows": [
            {"label": METRIC_TITLES.get(metric, metric),
             "cells": [_cell(model, region, metric, scores.get((model, region, metric)),
                             coloured=metric in METRICS) for region in regions]}
            for metric in metrics
        ],
    }


def _cell(row: str, region: str, metric: str, value: float | None, coloured: bool = True) -> dict[str, Any]:
    text = _fmt(value)
    background, foreground = score_colours(value) if coloured else ("", "")
    return {
        "text": text,
        "missing": text == _MISSING_TEXT,
        "style": f"background-color:{background};color:{foreground}" if background else "",
        "title": f"{row}, {region}, {metric}: {text if text != _MISSING_TEXT else 'not available'}",
    }


def _emulator_table(emulators: pd.DataFrame, regions: list[str]) -> dict[str, Any]:
    table = emulators.reindex(columns=EMULATOR_COLUMNS)
    shown = [r for r in regions if (table["region"] == r).any()]
    rows = []
    for (dataset, kind), group in table.groupby(["dataset", "kind"], sort=False, dropna=False):
        by_region = {row.region: row for row in group.itertuples(index=False)}
        rows.append({
            "dataset": dataset, "kind": kind,
            "cells": [_emulator_cell(dataset, region, by_region.get(region)) for region in shown],
        })
    return {"regions": shown, "rows": rows}


def _emulator_cell(dataset: str, region: str, row) -> dict[str, Any]:
    if row is None:
        return {"r2": _MISSING_TEXT, "n": "", "unreliable": False, "title": f"{dataset}, {region}: no emulator"}
    unreliable = not _truthy(row.reliable)
    r2 = _fmt(row.cv_r2)
    n_cells = _fmt_int(row.n_cells)
    flag = " (unreliable: explanations down-weighted or excluded)" if unreliable else ""
    return {"r2": r2, "n": n_cells, "unreliable": unreliable,
            "title": f"{dataset}, {region}: CV R² {r2}, {n_cells} cells{flag}"}


def _region_rows(regions: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {"region": row.region, "n_cells": _fmt_int(row.n_cells), "area": _fmt_int(row.area_km2),
         "status": _text(row.status), "products": _text(row.products).replace(",", ", ")}
        for row in regions.reindex(columns=REGION_COLUMNS).itertuples(index=False)
    ]


def _provenance_rows(provenance: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for key, value in provenance.items():
        value = _jsonable(value)
        nested = isinstance(value, (dict, list))
        rows.append({"key": str(key), "value": json.dumps(value, indent=2) if nested else _text(value),
                     "nested": nested})
    return rows


# ----------------------------------------------------------------------------
# Machine-readable outputs
# ----------------------------------------------------------------------------


def _write_tables(result: RunResult, directory: Path) -> None:
    tables = {
        "scores.csv": (result.scores, SCORE_COLUMNS),
        "ceiling.csv": (result.ceiling, CEILING_COLUMNS),
        "importances.csv": (result.importances, IMPORTANCE_CSV_COLUMNS),
        "responses.csv": (result.responses, RESPONSE_COLUMNS),
        "emulators.csv": (result.emulators, EMULATOR_COLUMNS),
        "regions.csv": (result.regions, REGION_COLUMNS),
        "failures.csv": (result.failures, FAILURE_COLUMNS),
    }
    for file_name, (table, columns) in tables.items():
        # float_format=None writes the shortest repr, which round-trips exactly.
        table.reindex(columns=columns).to_csv(directory / file_name, index=False, float_format=None)


def _cmec_bundle(result: RunResult) -> dict[str, Any]:
    """The run's scores as a CMEC metric bundle (model → region → metric)."""
    regions = display_regions(result)
    region_info = {row.region: row for row in result.regions.reindex(columns=REGION_COLUMNS).itertuples(index=False)}
    metrics = list(METRICS) + [m for m in _unique(result.scores["metric"]) if m not in METRICS]
    results: dict[str, dict[str, dict[str, float | None]]] = {}
    for row in result.scores.itertuples(index=False):
        value = float(row.value) if _is_number(row.value) else None
        results.setdefault(str(row.model), {}).setdefault(str(row.region), {})[str(row.metric)] = value
    return _jsonable({
        "SCHEMA": {"name": "CMEC", "version": "v1", "package": "socbench"},
        "DIMENSIONS": {
            "json_structure": ["model", "region", "metric"],
            "model": {model: {} for model in result.models},
            "region": {
                region: {
                    "n_cells": _int_or_none(getattr(region_info.get(region), "n_cells", None)),
                    "status": _text(getattr(region_info.get(region), "status", None)) or "unknown",
                }
                for region in regions
            },
            "metric": {m: {"description": METRIC_DESCRIPTIONS.get(m, m)} for m in metrics},
        },
        "RESULTS": results,
        "PROVENANCE": result.provenance,
    })


def _write_json(path: Path, payload: Any) -> None:
    text = json.dumps(_jsonable(payload), indent=2, allow_nan=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def _jsonable(value: Any) -> Any:
    """Plain JSON types: NaN/inf become None, numpy scalars Python numbers."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------------------
# Terminal summary
# ----------------------------------------------------------------------------


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
        cells = "".join(f"  {_fmt(values.get(key(c)), missing='-'):>{w}}" for c, w in zip(columns, widths))
        lines.append(f"{_shorten(label, label_width):<{label_width}}{cells}")
    return lines


def _failure_lines(failures: pd.DataFrame) -> list[str]:
    if failures.empty:
        return ["No failed datasets."]
    lines = [f"Failed datasets ({len(failures)}):"]
    for row in failures.reindex(columns=FAILURE_COLUMNS).itertuples(index=False):
        reason = " ".join(_text(row.reason).split())
        lines.append(f"  {_shorten(_text(row.dataset), 40)} [{_text(row.kind)}]: {reason}")
    return lines


def _printable(text: str) -> str:
    # Untrusted names must not smuggle terminal escape sequences into a CI log.
    return "".join(c if c.isprintable() else "?" for c in text)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


# ----------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------


def _score_lookup(table: pd.DataFrame, key: str) -> dict[tuple[str, str, str], float]:
    """``{(model or product, region, metric): value}``."""
    rows = table[[key, "region", "metric", "value"]].itertuples(index=False, name=None)
    return {(name, region, metric): value for name, region, metric, value in rows}


def _records(table: pd.DataFrame, columns: list[str]) -> list[dict[str, str]]:
    rows = table.reindex(columns=columns).itertuples(index=False, name=None)
    return [{column: _text(value) for column, value in zip(columns, row)} for row in rows]


def _unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(v for v in values if not (isinstance(v, float) and math.isnan(v))))


def _is_number(value: Any) -> bool:
    try:
        return value is not None and not isinstance(value, (bool, str)) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value) if value is not None and not (isinstance(value, float) and math.isnan(value)) else False


def _fmt(value: Any, missing: str = _MISSING_TEXT) -> str:
    return f"{float(value):.2f}" if _is_number(value) else missing


def _fmt_int(value: Any) -> str:
    return f"{round(float(value)):,}" if _is_number(value) else _MISSING_TEXT


def _int_or_none(value: Any) -> int | None:
    return int(round(float(value))) if _is_number(value) else None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _hex_to_rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _mix(a: tuple[float, ...], b: tuple[float, ...], weight: float) -> tuple[float, ...]:
    return tuple(x + (y - x) * weight for x, y in zip(a, b))


def _contrasting_text(rgb: tuple[float, ...]) -> str:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
    contrast_with_black = (luminance + 0.05) / 0.05
    contrast_with_white = 1.05 / (luminance + 0.05)
    return "#000000" if contrast_with_black >= contrast_with_white else "#ffffff"
