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
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .discover import COLUMNS, _time_range
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


def _read_spec(path: Path) -> dict:
    if not path.is_file():
        raise InputDataError("catalogue file not found", path=path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputDataError(f"cannot be read as an ESM collection JSON ({exc})", path=path) from None
    if not isinstance(spec, dict) or not isinstance(spec.get("assets"), dict) or "column_name" not in spec["assets"]:
        raise InputDataError(
            "not an ESM collection: expected a JSON object with 'assets': {'column_name': ...}", path=path
        )
    if "catalog_file" not in spec and "catalog_dict" not in spec:
        raise InputDataError("ESM collection has neither 'catalog_file' nor 'catalog_dict'", path=path)
    return spec


def _csv_location(path: Path, spec: dict) -> Path | None:
    """The local CSV of the catalogue (checked to exist); None if inline or remote."""
    if "catalog_file" not in spec or "://" in str(spec["catalog_file"]):
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
        raise InputDataError(
            f"catalog_file {spec['catalog_file']!r} is remote; without intake-esm only local catalogues are read "
            "(pip install socbench[catalog])",
            path=path,
        )
    try:
        return pd.read_csv(csv, dtype=str, keep_default_na=False), csv
    except Exception as exc:  # pandas raises ParserError, UnicodeDecodeError, EmptyDataError, ...
        raise InputDataError(f"cannot be read as a catalogue CSV ({type(exc).__name__}: {exc})", path=csv) from None


def _table_with_intake(path: Path) -> pd.DataFrame:
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
        directory), time ranges are parsed from the file names.

    Raises
    ------
    InputDataError
        If the catalogue or its CSV cannot be read, lacks a required column (the
        message names the file and the column), or lists non-netCDF (e.g. zarr) assets.
    """
    path = Path(path)
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
    if formats - {"netcdf", ""}:
        raise InputDataError(
            f"catalogue lists {', '.join(sorted(formats - {'netcdf', ''}))} assets; socbench reads netCDF files only",
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
    paths = [Path(p) if Path(p).is_absolute() else path.parent / p for p in table[asset].astype(str)]
    times = pd.DataFrame([_time_range(p.name) for p in paths], index=rows.index,
                         columns=["time_range", "start", "end", "start_year", "end_year"])
    rows = pd.concat([rows, times], axis=1)
    rows["path"] = paths
    rows["start_year"] = rows["start_year"].astype("Int64")
    rows["end_year"] = rows["end_year"].astype("Int64")
    return rows[COLUMNS].sort_values("path", key=lambda s: s.map(str), ignore_index=True)
