"""Model files from an intake-esm catalogue (ESM collection specification).

An ESM collection is a JSON file describing a table of assets, one row per file
(https://github.com/NCAR/esm-collection-spec): ``catalog_file`` names the CSV
table (relative paths are relative to the JSON file; ``.csv.gz`` is read too) or
``catalog_dict`` holds the rows inline, and ``assets.column_name`` names the
column holding the file paths. :func:`read_catalog` returns the table in the
form of :func:`socbench.discover.find_drs_files`, so that
:func:`socbench.discover.discover_models` (``files=``) chooses members, grids and
versions exactly as for a DRS tree.

When ``intake_esm`` is importable (``pip install socbench[catalog]``) it reads the
catalogue; otherwise the JSON and CSV are read with pandas (the specification is
open and simple), so the extra is not needed for local catalogues.

Assets may be netCDF files or zarr stores (``assets.format: zarr``, or a
``format_column_name`` column), as in the Pangeo CMIP6 catalogue: one store per
dataset, the whole time series in it. Local stores are directories; remote ones
(``gs://``, ``s3://``, ``https://``) are opened with fsspec, which needs the
protocol's package (``pip install socbench[remote]`` for gcsfs). A catalogue
given by URL is read with fsspec too (pandas reads the CSV).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urljoin

import pandas as pd
import xarray as xr

from .discover import COLUMNS, time_range
from .errors import InputDataError

#: Columns a catalogue must have (CMIP6 facet names, or a CMIP5 alias below).
REQUIRED = ("source_id", "experiment_id", "member_id", "table_id", "variable_id")
#: Columns filled with "" when absent (CMIP5 has no grid label; a catalogue may hold one version).
OPTIONAL = ("grid_label", "version", "activity_id", "institution_id", "mip_era", "frequency", "realm")
#: Column names of CMIP5-style catalogues (e.g. NCAR's) -> CMIP6 facet names.
ALIASES = {
    "model": "source_id",
    "experiment": "experiment_id",
    "ensemble_member": "member_id",
    "ensemble": "member_id",
    "mip_table": "table_id",
    "cmor_table": "table_id",
    "variable": "variable_id",
    "institute": "institution_id",
    "product_id": "activity_id",
    "modeling_realm": "realm",
    "time_frequency": "frequency",
}


def is_remote(location) -> bool:
    """Whether ``location`` is a URL (``gs://``, ``https://``, ...) rather than a local path."""
    return "://" in str(location)


def _read_text(location: str) -> str:
    if location.startswith(("http://", "https://")):
        from urllib.request import urlopen

        with urlopen(location, timeout=60) as response:  # no aiohttp needed for a plain download
            return response.read().decode("utf-8")
    import fsspec

    try:
        with fsspec.open(location, "rt") as handle:
            return handle.read()
    except ImportError as exc:
        raise InputDataError(f"reading it needs an fsspec backend ({exc}); pip install socbench[remote]", path=location) from None


def _read_spec(path) -> dict:
    if not is_remote(path) and not Path(path).is_file():
        raise InputDataError("catalogue file not found", path=path)
    try:
        spec = json.loads(_read_text(str(path)) if is_remote(path) else Path(path).read_text())
    except InputDataError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise InputDataError(f"cannot be read as an ESM collection JSON ({exc})", path=path) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("assets"), dict) or "column_name" not in spec["assets"]:
        raise InputDataError(
            "not an ESM collection: expected a JSON object with 'assets': {'column_name': ...}", path=path
        )
    if "catalog_file" not in spec and "catalog_dict" not in spec:
        raise InputDataError("ESM collection has neither 'catalog_file' nor 'catalog_dict'", path=path)
    return spec


def _csv_location(path, spec: dict) -> Path | None:
    """The local CSV of the catalogue (checked to exist); None if inline or remote."""
    if "catalog_file" not in spec or is_remote(spec["catalog_file"]) or is_remote(path):
        return None
    location = Path(str(spec["catalog_file"]))
    csv = location if location.is_absolute() else path.parent / location
    if not csv.is_file():
        raise InputDataError(f"catalog_file of the catalogue {path} not found", path=csv)
    return csv


def _table_with_pandas(path: Path, spec: dict) -> tuple[pd.DataFrame, Path]:
    if "catalog_dict" in spec and "catalog_file" not in spec:
        return pd.DataFrame(spec["catalog_dict"]).fillna("").astype(str), path
    csv = _csv_location(path, spec)
    if csv is None:
        csv = urljoin(str(path), str(spec["catalog_file"]))  # pandas reads URLs (fsspec for gs://, s3://)
    try:
        return pd.read_csv(csv, dtype=str, keep_default_na=False), csv
    except Exception as exc:  # pandas raises ParserError, UnicodeDecodeError, EmptyDataError, ...
        raise InputDataError(f"cannot be read as a catalogue CSV ({type(exc).__name__}: {exc})", path=csv) from None


def _table_with_intake(path) -> pd.DataFrame:
    import intake_esm

    try:
        table = intake_esm.esm_datastore(str(path)).df
    except Exception as exc:  # intake-esm raises ValidationError, FileNotFoundError, ...
        raise InputDataError(f"intake-esm cannot open the catalogue ({type(exc).__name__}: {exc})", path=path) from None
    return table.fillna("").astype(str)


def read_catalog(path: Path) -> pd.DataFrame:
    """The files of an ESM collection catalogue, as :func:`~socbench.discover.find_drs_files` returns them.

    Parameters
    ----------
    path : Path
        The catalogue JSON.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`socbench.discover.COLUMNS`; ``path`` holds
        :class:`~pathlib.Path` objects (relative ones resolved against the JSON's
        directory), or URL strings for remote assets; time ranges are parsed
        from the file names (zarr stores hold whole time series: none).

    Raises
    ------
    InputDataError
        If the catalogue or its CSV cannot be read, lacks a required column (the
        message names the file and the column), or lists assets neither netCDF nor zarr.
    """
    path = str(path) if is_remote(path) else Path(path)
    spec = _read_spec(path)
    try:
        import intake_esm  # noqa: F401
    except ImportError:
        table, source = _table_with_pandas(path, spec)
    else:
        source = _csv_location(path, spec) or path  # errors about columns name the CSV when it is local
        table = _table_with_intake(path)
    asset = str(spec["assets"]["column_name"])
    if asset not in table.columns:
        raise InputDataError(
            f"catalogue has no column {asset!r} (its assets.column_name, the file paths); "
            f"columns: {', '.join(map(str, table.columns))}",
            path=source,
        )
    fmt = str(spec["assets"].get("format", "netcdf")).lower()
    format_column = spec["assets"].get("format_column_name")
    formats = set(table[format_column].str.lower()) if format_column in table.columns else {fmt}
    if formats - {"netcdf", "zarr", ""}:
        raise InputDataError(
            f"catalogue lists {', '.join(sorted(formats - {'netcdf', 'zarr', ''}))} assets; socbench reads netCDF "
            "files and zarr stores",
            path=source,
        )
    table = table.rename(columns={a: c for a, c in ALIASES.items() if a in table.columns and c not in table.columns})
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise InputDataError(
            f"catalogue has no column {missing[0]!r}" + (f" (nor {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
            + f"; socbench needs {', '.join(REQUIRED)} and the asset column {asset!r} "
            f"(columns present: {', '.join(map(str, table.columns))})",
            path=source,
        )
    rows = pd.DataFrame({c: table[c].astype(str) for c in REQUIRED})
    for column in OPTIONAL:
        rows[column] = table[column].astype(str) if column in table.columns else ""
    paths = [_asset_location(path, p) for p in table[asset].astype(str)]
    times = pd.DataFrame([time_range(_asset_name(p)) for p in paths], index=rows.index,
                         columns=["time_range", "start", "end", "start_year", "end_year"])
    rows = pd.concat([rows, times], axis=1)
    rows["path"] = paths
    rows["start_year"] = rows["start_year"].astype("Int64")
    rows["end_year"] = rows["end_year"].astype("Int64")
    return rows[COLUMNS].sort_values("path", key=lambda s: s.map(str), ignore_index=True)


def _asset_location(catalogue, asset: str):
    """An asset as a Path (relative ones against the catalogue's directory) or, when remote, a URL string."""
    if is_remote(asset):
        return asset.rstrip("/")
    if is_remote(catalogue):
        return urljoin(str(catalogue), asset).rstrip("/")
    return Path(asset) if Path(asset).is_absolute() else Path(catalogue).parent / asset


def _asset_name(location) -> str:
    return str(location).rstrip("/").rsplit("/", 1)[-1]


# ------------------------------------------------------------------ zarr stores


def is_zarr_store(location) -> bool:
    """Whether ``location`` is a zarr store: a URL, a ``.zarr`` name or a directory with zarr metadata."""
    if is_remote(location) or str(location).rstrip("/").endswith(".zarr"):
        return True
    path = Path(location)
    return path.is_dir() and any((path / name).is_file() for name in (".zmetadata", ".zgroup", "zarr.json"))


def open_zarr_store(location, variable: str) -> xr.Dataset:
    """Open ``variable``'s zarr store lazily, times decoded with cftime as for netCDF files.

    Remote stores (``gs://``, ``s3://``, ``https://``) are read anonymously through
    fsspec (gcsfs for Google Cloud Storage: ``pip install socbench[remote]``).

    Raises
    ------
    InputDataError
        If the store cannot be opened (missing, not zarr, no backend for its
        protocol) or lacks the variable (the message lists those present).
    """
    options = {"storage_options": {"token": "anon"}} if str(location).startswith("gs://") else {}
    try:
        ds = xr.open_zarr(str(location), decode_times=xr.coders.CFDatetimeCoder(use_cftime=True), **options)
    except ImportError as exc:
        raise InputDataError(f"zarr stores need the optional dependencies ({exc}): pip install socbench[catalog] "
                             "(and socbench[remote] for gs:// or s3:// stores)", path=location, variable=variable) from None
    except Exception as exc:  # zarr/fsspec raise FileNotFoundError, KeyError, GroupNotFoundError, ...
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise InputDataError(f"cannot be opened as a zarr store ({type(exc).__name__}: {detail})",
                             path=location, variable=variable) from None
    if variable not in ds.data_vars:
        present = ", ".join(sorted(map(str, ds.data_vars))) or "none"
        raise InputDataError(f"variable is absent; variables present: {present}", path=location, variable=variable)
    return ds


def store_fingerprint(location) -> str:
    """Provenance checksum of a zarr store: sha256 over its files (path and bytes); ``remote`` for a URL.

    Remote stores are not read whole just to be hashed; the provenance then
    records their URL (Pangeo stores carry a version in their path).
    """
    if is_remote(location):
        return "remote"
    digest = hashlib.sha256()
    root = Path(location)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()
