"""Locate files shipped with the package (benchmarks, templates, reference)."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of shipped resource ``name``.

    In a wheel the resources live in ``socbench/_data/<name>``; in a source
    checkout (editable install, tests) they live at the repository root.
    """
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"socbench resource directory {name!r} is missing from the installation")


def benchmark_path(name: str) -> Path:
    """Path of a shipped benchmark definition, e.g. ``benchmark_path("demo")``."""
    path = resource_dir("benchmarks") / f"{name}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no shipped benchmark named {name!r} ({path})")
    return path
