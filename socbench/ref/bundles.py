"""The observational envelope of the REF provider: reference bundles in a hash-checked pooch registry.

An execution scores a model against a bundle (``socbench reference build``),
never against the raw observation products, so ``ref solve`` needs no
observation dataset in its catalogue and a new model triggers only its own
execution. ``ref providers setup --provider socbench`` (:func:`fetch_bundle`)
brings the bundle into the REF's data cache; executions only read it there.

Where the bundle comes from (environment variables, read by every process
the REF starts):

``SOCBENCH_REF_BENCHMARK``
    A shipped benchmark name (default ``demo``) or the path of a benchmark
    definition file; it gives the diagnostic's data requirements.
``SOCBENCH_REF_BUNDLE``
    The bundle's name in the registry (default: the definition's ``name``).
``SOCBENCH_REF_REGISTRY``
    A pooch registry file, ``<bundle>/<file> sha256:<hash>`` per line (as
    ``socbench reference registry BUNDLE`` prints). Default: the bundles shipped with socbench.
``SOCBENCH_REF_BUNDLE_URL``
    Base URL of a mirror holding ``<bundle>/<file>`` (``https://``, ``http://``
    or ``file://``). Default: the bundles shipped with socbench.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pooch
from climate_ref_core.data import resolve_cache_dir

from socbench.config import Definition, load_definition
from socbench.errors import SocbenchError
from socbench.reference import registry_lines
from socbench.resources import benchmark_path, resource_dir

BENCHMARK_ENV = "SOCBENCH_REF_BENCHMARK"
BUNDLE_ENV = "SOCBENCH_REF_BUNDLE"
REGISTRY_ENV = "SOCBENCH_REF_REGISTRY"
URL_ENV = "SOCBENCH_REF_BUNDLE_URL"
CACHE_NAME = "socbench"
MANIFEST = "manifest.json"


def definition() -> Definition:
    """The benchmark definition the provider scores with (``SOCBENCH_REF_BENCHMARK``)."""
    chosen = os.environ.get(BENCHMARK_ENV, "demo")
    path = Path(chosen)
    try:
        loaded, _ = load_definition(path if path.suffix in (".yaml", ".yml") else benchmark_path(chosen))
    except FileNotFoundError as exc:
        raise SocbenchError(f"{BENCHMARK_ENV}={chosen!r}: {exc}") from None
    return loaded


def bundle_name() -> str:
    """The bundle the provider scores against (``SOCBENCH_REF_BUNDLE``, else the definition's name)."""
    return os.environ.get(BUNDLE_ENV) or definition().name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _shipped_registry() -> str:
    shipped = resource_dir("reference")
    return "".join(registry_lines(d) for d in sorted(shipped.iterdir()) if (d / MANIFEST).is_file())


def registry() -> pooch.Pooch:
    """The pooch registry of the bundles, cached in the REF's data cache (``REF_DATASET_CACHE_DIR``)."""
    source = os.environ.get(REGISTRY_ENV)
    if source:
        try:
            text = Path(source).read_text()
        except OSError as exc:
            raise SocbenchError(f"{REGISTRY_ENV}={source}: cannot read the registry ({exc})") from None
    else:
        text = _shipped_registry()
    entries = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            parts = line.split()
            if len(parts) != 2 or not parts[1].startswith("sha256:"):
                raise SocbenchError(f"{source or 'shipped registry'} line {number}: expected '<bundle>/<file> sha256:<hash>'")
            entries[parts[0]] = parts[1]
    base_url = os.environ.get(URL_ENV) or resource_dir("reference").as_uri()
    return pooch.create(path=resolve_cache_dir(CACHE_NAME), base_url=base_url.rstrip("/") + "/", registry=entries)


def _copy_local(url: str, output_file: str, _pooch: pooch.Pooch) -> None:
    """pooch downloader for ``file://`` URLs (pooch checks the hash afterwards)."""
    source = Path(unquote(urlparse(url).path))
    if not source.is_file():
        raise SocbenchError(f"{source}: not found (bundle mirror {os.environ.get(URL_ENV) or 'shipped with socbench'})")
    shutil.copyfile(source, output_file)


def _keys(store: pooch.Pooch, name: str) -> list[str]:
    keys = [key for key in store.registry if key.startswith(f"{name}/")]
    if not keys:
        known = sorted({key.split("/", 1)[0] for key in store.registry})
        raise SocbenchError(f"reference bundle {name!r} is not in the registry (known: {', '.join(known) or 'none'})")
    return keys


def fetch_bundle(name: str | None = None) -> Path:
    """Download (or copy) a bundle into the data cache, checking every file's sha256.

    Returns
    -------
    Path
        The bundle directory in the cache.

    Raises
    ------
    SocbenchError
        When the bundle is not in the registry, or a file is missing at the source.
    ValueError
        From pooch, when a file's hash does not match the registry.
    """
    name = name or bundle_name()
    store = registry()
    downloader = _copy_local if store.base_url.startswith("file://") else None
    for key in _keys(store, name):
        store.fetch(key, downloader=downloader)
    return Path(store.abspath) / name


def cached_bundle(name: str | None = None) -> Path:
    """The bundle directory in the cache, checked against the registry, without any download.

    Raises
    ------
    SocbenchError
        When a file is missing or differs: run ``ref providers setup --provider socbench``.
    """
    name = name or bundle_name()
    store = registry()
    for key in _keys(store, name):
        path = Path(store.abspath) / key
        problem = None if path.is_file() else "not fetched"
        if problem is None and "sha256:" + _sha256(path) != store.registry[key]:
            problem = "differs from the registry's sha256"
        if problem:
            raise SocbenchError(
                f"{path}: reference bundle file {problem}; run `ref providers setup --provider socbench` "
                "(executions never download)"
            )
    return Path(store.abspath) / name
