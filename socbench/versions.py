"""Installed versions of the libraries socbench's numbers depend on (provenance and cache keys)."""

from __future__ import annotations

from importlib import metadata


def library_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """The installed version of each distribution in ``names``; None for one that is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions
