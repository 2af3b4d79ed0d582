"""Report stage: render a :class:`~socbench.results.RunResult` as files.

Rendering is kept apart from computing, in three steps:

1. tidy tables (:mod:`.tables` reads the result contract, :mod:`.baseline`
   a previous run);
2. view data, one module per page kind (:mod:`.index_page`,
   :mod:`.model_page`, :mod:`.comparison_page`), chart specifications
   (:mod:`.charts`, Vega-Lite via altair) and chart data (:mod:`.pagedata`);
3. templates and assets (``templates/``), rendered by :mod:`.render`.

The output directory holds the scorecard (``index.html``), one page per
model, the comparison page, the JavaScript bundle of Vega, Vega-Lite and
vega-embed (written once, in ``assets/``), the chart data (``data/``), tidy
CSVs, the CMEC bundles ``scores.json`` and ``output.json`` (:mod:`.cmec`) and
``provenance.json``. Nothing is
loaded from outside the directory. It is built under a temporary name and
swapped in with renames, so readers never see a half-written scorecard.

Model names, failure reasons and provenance values come from input files and
are untrusted: templates autoescape everything, page data is ASCII JSON, and
the page script only ever sets text, never markup.
"""

from __future__ import annotations

import os
from pathlib import Path

from socbench.results import RunResult

from .baseline import Baseline, load_baseline
from .names import page_names, region_anchors, safe_filename
from .summary import summary_table
from .tables import display_regions
from .values import score_colours
from .write import write_scorecard
from ..outputs import claim_output, mark_output, staged_directory

__all__ = [
    "write_report", "summary_table", "safe_filename", "page_names", "region_anchors", "display_regions",
    "score_colours", "load_baseline", "Baseline",
]


def write_report(result: RunResult, out_dir: str | os.PathLike[str],
                 baseline: str | os.PathLike[str] | Baseline | RunResult | None = None) -> Path:
    """Write the scorecard, model pages, comparison page and machine-readable tables.

    Parameters
    ----------
    result : RunResult
        The run to report.
    out_dir : str or path-like
        Output directory (created, or replaced as a whole once the new one is
        complete; on any error an existing one is left untouched).
    baseline : path, Baseline or RunResult, optional
        An earlier run: its scorecard directory or its ``scores.csv``. Adds the
        change since the baseline to every score, and its versions of the
        models to the comparison page.

    Returns
    -------
    Path
        Path of ``index.html`` inside ``out_dir``.

    Raises
    ------
    socbench.errors.InputDataError
        The baseline cannot be read (checked before anything is written).
    """
    target = Path(os.path.abspath(out_dir))
    previous = load_baseline(baseline) if baseline is not None else None
    with claim_output(target), staged_directory(target) as staging:
        mark_output(staging)
        write_scorecard(result, staging, previous)
    return target / "index.html"
