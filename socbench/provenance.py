"""Provenance of a run: versions, definition hash, input checksums, seeds and how inputs were read."""

from __future__ import annotations

import hashlib
import platform
import sys
from datetime import datetime, timezone

from . import __version__
from .catalog import is_zarr_store, store_fingerprint
from .config import Definition
from .prepare import Context, Prepared
from .versions import library_versions

_DEPENDENCIES = ("numpy", "pandas", "xarray", "scikit-learn", "shap", "statsmodels", "scipy", "cf-xarray", "pint", "netCDF4", "pydantic")


def file_sha256(path: str) -> str:
    """The sha256 of a file, or the fingerprint of a zarr store."""
    if is_zarr_store(path):
        return store_fingerprint(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _scoring_hash(definition: Definition) -> str:
    """Hash of the sections that shape the scores (those a reference bundle depends on)."""
    from .reference import SECTIONS

    return definition.section_hash(*SECTIONS)


def provenance(definition: Definition, context: Context, datasets: list[Prepared], workers: int, seconds: float) -> dict:
    """Versions, definition hash, input checksums and seeds of a run."""
    files = sorted(set(context.files) | {f for d in datasets for f in d.log.files})
    logs = list(context.read_log.values()) + [d.log for d in datasets]
    return {
        "socbench_version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "dependencies": library_versions(_DEPENDENCIES),
        "run_date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "definition_name": definition.name,
        "definition_description": definition.description,
        "definition_sha256": definition.section_hash(),
        "definition_scoring_sha256": _scoring_hash(definition),
        "covariates": {
            name: {"units": spec.units, "description": spec.description}
            for name, spec in definition.covariates.items()
        },
        "cv_block_size": definition.learner.cv.block_size,
        "seeds": {"learner": definition.learner.seed},
        "regridder": definition.analysis_grid.regridder,
        "workers": workers if isinstance(workers, int) else type(workers).__name__,
        "elapsed_seconds": round(seconds, 2),
        "input_files": {f: file_sha256(f) for f in files},
        "target_variable": definition.target.variable,
        "model_files": {d.name: list(d.log.files) for d in datasets if d.kind == "model"},
        "nonfinite_cells": {d.name: d.nonfinite_cells for d in logs},
        "climatology_inputs": {f"{d.name}/{v}": period for d in logs for v, period in d.climatologies.items()},
        "input_notes": [note for d in logs for note in d.notes],
        "time_coverage": {f"{d.name}/{v}": share for d in logs for v, share in d.time_coverage.items()},
    }
