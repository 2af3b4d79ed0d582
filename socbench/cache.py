"""Task cache: emulation results on disk, keyed by a hash of everything they depend on.

The key covers the task's arrays (covariates, target, weights, region
membership, response grids, CV folds and blocks), its learner settings and
seed, its region names (which set the explain samples' seeds), the socbench version, a hash of the source of the modules that compute
a task (so an edited development checkout refits) and the versions of the
numerical libraries they use; not the dataset's name, so renaming a model
refits nothing. An entry also stores a checksum of its own arrays: a
truncated, corrupt or stale entry is detected, deleted and recomputed.

Trust model: the checksum detects accidents, not forgery. Anyone who can
write to the cache directory can store an entry with made-up results and a
recomputed checksum, and it is used. Keep the cache private to the user (the
default ``~/.cache/socbench``), or pass ``--no-cache`` where that cannot be
ensured, e.g. on a shared CI runner.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .explain import EmulationResult, EmulationTask
from .versions import library_versions

_ARRAYS = ("shares", "curves", "boot_shares", "boot_curves")
_SCALARS = ("n_cells", "cv_r2", "block_size", "fit_r2", "rounds")
_SETTINGS = (
    "regions", "estimator", "params", "explainer", "response", "block_size", "bootstraps", "max_explain_cells", "seed",
    "select_rounds",
)


#: Libraries whose numerics a task result depends on.
_LIBRARIES = ("numpy", "scipy", "scikit-learn", "shap", "statsmodels")
#: socbench modules that compute a task (fit, explain, bootstrap) or define the entry format.
_TASK_MODULES = ("emulate.py", "explain.py", "registry.py", "cache.py")


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> dict[str, str]:
    """Versions of the numerical libraries and a hash of the task modules' source."""
    versions = library_versions(_LIBRARIES)
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for name in _TASK_MODULES:
        digest.update(name.encode())
        digest.update((package / name).read_bytes())
    return {**versions, "source": digest.hexdigest()}


def _warn(message: str) -> None:
    print(f"socbench: warning: {message}", file=sys.stderr, flush=True)


def open_cache(directory: str | os.PathLike[str] | None = None, warn: Callable[[str], None] = _warn):
    """A :class:`TaskCache` in ``directory`` (default :func:`default_cache_dir`), or None.

    An unusable directory (unwritable home, read-only file system, a file in
    the way) gives a warning, and the run goes on without the cache.
    """
    try:
        path = Path(directory) if directory is not None else default_cache_dir()
    except RuntimeError as exc:  # Path.home() without a home directory
        warn(f"no task cache directory ({exc}); running without the cache (set SOCBENCH_CACHE or --cache DIR)")
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        warn(f"task cache {path} is not usable ({reason}); running without the cache "
             "(set SOCBENCH_CACHE or --cache DIR to a writable directory, or --no-cache)")
        return None
    return TaskCache(path, warn=warn)


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
    header = {"version": __version__, "code": code_fingerprint(), **settings}
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    for array in (task.X, task.y, task.weight, task.membership, task.grids, task.folds, task.blocks):
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
    warn : callable, optional
        Called with a message when a write fails; the cache then stops
        writing and the run goes on.
    """

    def __init__(self, directory, warn: Callable[[str], None] = _warn):
        self.directory = Path(directory)
        self.hits = 0
        self.misses = 0
        self.writable = True
        self._warn = warn

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.npz"

    def load(self, task: EmulationTask) -> list[EmulationResult] | None:
        """The cached results of ``task`` (one per region), or None (absent, corrupt or stale)."""
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
            results = [
                EmulationResult(
                    dataset=task.dataset,
                    region=region,
                    **{name: arrays[f"{r}/{name}"] for name in _ARRAYS},
                    n_cells=int(arrays[f"{r}/n_cells"]),
                    **{name: float(arrays[f"{r}/{name}"]) for name in _SCALARS if name != "n_cells"},
                )
                for r, region in enumerate(task.regions)
            ]
        except Exception:  # any unreadable entry is recomputed
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return results

    def store(self, task: EmulationTask, result: list[EmulationResult]) -> None:
        """Write ``result`` (one per region) atomically (temporary file, then rename); a failed write disables writing."""
        if not self.writable:
            return
        try:
            self._store(task, result)
        except OSError as exc:
            self.writable = False
            self._warn(f"task cache {self.directory}: cannot write ({exc.strerror or exc}); "
                       "going on without storing results")

    def _store(self, task: EmulationTask, results: list[EmulationResult]) -> None:
        key = task_key(task)
        arrays = {
            f"{r}/{name}": np.asarray(getattr(result, name))
            for r, result in enumerate(results)
            for name in _ARRAYS + _SCALARS
        }
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
