"""Task cache: emulation results on disk, keyed by a hash of everything they depend on.

The key covers the task's arrays (covariates, target, weights, coordinates,
response grid), its learner settings and seed, its region (which sets the
seed) and the socbench version; not the dataset's name, so renaming a model
refits nothing. An entry also stores a checksum of its own arrays: a
truncated, corrupt or stale entry is detected, deleted and recomputed, never
trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from . import __version__
from .explain import EmulationResult, EmulationTask

_ARRAYS = ("shares", "curves", "boot_shares", "boot_curves")
_SETTINGS = (
    "region", "estimator", "params", "explainer", "response", "block_size", "block_size_min",
    "block_size_max", "block_range_factor", "folds", "bootstraps",
    "max_explain_cells", "seed",
)


def default_cache_dir() -> Path:
    """``$SOCBENCH_CACHE``, else ``$XDG_CACHE_HOME/socbench``, else ``~/.cache/socbench``."""
    if os.environ.get("SOCBENCH_CACHE"):
        return Path(os.environ["SOCBENCH_CACHE"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "socbench"


def task_key(task: EmulationTask) -> str:
    """Content hash of a task (hex sha256)."""
    digest = hashlib.sha256()
    settings = {name: getattr(task, name) for name in _SETTINGS}
    digest.update(json.dumps({"version": __version__, **settings}, sort_keys=True, default=str).encode())
    for array in (task.X, task.y, task.weight, task.lat, task.lon, task.grids):
        contiguous = np.ascontiguousarray(array, dtype=float)
        digest.update(str(contiguous.shape).encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


class TaskCache:
    """Emulation results stored as ``.npz`` files under ``directory``.

    Parameters
    ----------
    directory : path-like
        Created on first write.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def load(self, task: EmulationTask) -> EmulationResult | None:
        """The cached result of ``task``, or None (absent, corrupt or stale)."""
        key = task_key(task)
        path = self._path(key)
        if not path.is_file():
            self.misses += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
            meta = arrays.pop("meta")
            if str(meta[0]) != key or str(meta[1]) != _checksum(arrays):
                raise ValueError("checksum mismatch")
            result = EmulationResult(
                dataset=task.dataset,
                region=task.region,
                n_cells=int(arrays.pop("n_cells")),
                cv_r2=float(arrays.pop("cv_r2")),
                block_size=float(arrays.pop("block_size")),
                **{name: arrays[name] for name in _ARRAYS},
            )
        except Exception:  # any unreadable entry is recomputed
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return result

    def store(self, task: EmulationTask, result: EmulationResult) -> None:
        """Write ``result`` atomically (temporary file, then rename)."""
        key = task_key(task)
        arrays = {name: np.asarray(getattr(result, name)) for name in _ARRAYS}
        arrays["n_cells"] = np.asarray(result.n_cells)
        arrays["cv_r2"] = np.asarray(result.cv_r2)
        arrays["block_size"] = np.asarray(result.block_size)
        meta = np.asarray([key, _checksum(arrays)])
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, meta=meta, **arrays)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
