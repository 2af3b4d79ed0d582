"""Discovery of model output in CMIP archives (CMIP6 and CMIP5 DRS trees).

Three steps, each usable on its own:

1. :func:`find_drs_files` walks a DRS tree at fixed depth and returns one row per
   netCDF file with its DRS facets (CMIP6 names for both layouts) and the time
   range parsed from the file name;
2. :func:`latest_versions` keeps the latest version of each dataset;
3. :func:`discover_models` chooses, per model (``source_id``), the ensemble
   member(s), the grid and, with ``prefer``, the variable definition, and
   returns one :class:`ModelFiles` per model.

Layouts (``root`` is the ``CMIP6``/``CMIP5`` directory or a directory holding it):

- ``cmip6``: ``activity_id/institution_id/source_id/experiment_id/member_id/
  table_id/variable_id/grid_label/version/<file>.nc``
- ``cmip5`` (ESGF DRS): ``product/institute/model/experiment/time_frequency/realm/
  cmor_table/ensemble/version/variable/<file>.nc``; ``root`` may also be a product
  directory such as ``cmip5/output1``. The facets are renamed to the CMIP6 ones
  (``institution_id``, ``source_id``, ``experiment_id``, ``frequency``, ``realm``,
  ``table_id``, ``member_id``, ``variable_id``); CMIP5 has no grid label, so
  ``grid_label`` is ``""``. Archives that swap ``version`` and ``variable`` (some
  mirrors do) are read too: the level that looks like a version is the version.

Entries that do not fit the layout are skipped: files at intermediate levels,
hidden entries, member directories not of the form ``[sNNNN-]rNiNpN[fN]``,
version directories not of the form ``vNNNN`` or ``latest``, and files that are
not ``<variable>_*.nc`` (CMOR file names start with the variable name).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import InputDataError

#: Columns of :func:`find_drs_files` (both layouts).
COLUMNS = [
    "mip_era",
    "activity_id",
    "institution_id",
    "source_id",
    "experiment_id",
    "member_id",
    "frequency",
    "realm",
    "table_id",
    "variable_id",
    "grid_label",
    "version",
    "time_range",
    "start",
    "end",
    "start_year",
    "end_year",
    "path",
]
#: The facets that identify one dataset (all of its versions and files).
DATASET_KEY = ["experiment_id", "source_id", "member_id", "table_id", "variable_id", "grid_label"]
#: Fixed-field variables looked up for every model (land fraction, cell area).
FX_VARIABLES = ("sftlf", "areacella")

_CMIP6_LEVELS = [
    "activity_id",
    "institution_id",
    "source_id",
    "experiment_id",
    "member_id",
    "table_id",
    "variable_id",
    "grid_label",
    "version",
]
# CMIP5 (ESGF DRS) directory levels, renamed to CMIP6 facet names; "version" and
# "variable_id" are the two last levels in either order (see _cmip5_tail).
_CMIP5_LEVELS = [
    "activity_id",  # the product: output1, output2, output
    "institution_id",
    "source_id",
    "experiment_id",
    "frequency",
    "realm",
    "table_id",
    "member_id",
]
_MEMBER = re.compile(r"^(?:s\d+-)?r\d+i\d+p\d+(?:f\d+)?$")
_VERSION = re.compile(r"^(?:v\d+|\d{8}|latest)$")
_PRODUCT = re.compile(r"^output\d*$")
_TIME_RANGE = re.compile(r"_(\d{4,14})-(\d{4,14})(?:-clim)?\.nc$")
_MEMBER_NUMBERS = re.compile(r"\d+")


@dataclass
class ModelFiles:
    """The files of one model.

    Attributes
    ----------
    name : str
        Model name (the CMIP ``source_id`` for discovered models).
    member : str
        The member read (``member="first"``), or the first of ``members``.
    files : dict
        Variable -> files (a time series in order) of ``member``. Keys are the
        *requested* variable names; see ``variables`` for the name in the files.
    members : list of str
        Every member used: one for ``member="first"``, all averaged ones for
        ``member="mean"``.
    member_files : dict
        Member -> (variable -> files), for every member in ``members`` (fixed
        fields included, possibly borrowed from another member). Empty for
        explicit models, whose only files are ``files``.
    variables : dict
        Requested variable -> variable name in the files, where they differ
        (``prefer``: e.g. ``{"cSoil": "cSoilAbove1m"}``).
    """

    name: str
    member: str
    files: dict[str, list[Path]] = field(default_factory=dict)
    members: list[str] = field(default_factory=list)
    member_files: dict[str, dict[str, list[Path]]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.members:
            self.members = [self.member]

    def file_variable(self, variable: str) -> str:
        """The name under which ``variable`` is stored in this model's files."""
        return self.variables.get(variable, variable)

    def files_by_member(self) -> list[dict[str, list[Path]]]:
        """Variable -> files, once per member to read (averaged when several)."""
        if self.member_files:
            return [self.member_files[m] for m in self.members]
        return [self.files]


def _member_key(member: str) -> tuple:
    """Sort key of a member label: its (sub-experiment,) r, i, p, f indices as integers."""
    return tuple(int(n) for n in _MEMBER_NUMBERS.findall(member)) or (0,)


def version_key(version: str) -> tuple:
    """Sort key of a version label: ``v20190308`` > ``v20180101``, ``v10`` > ``v2``.

    ``latest`` (usually a link to the newest version) sorts below every numbered
    version, so it is used only when it is the only one.
    """
    digits = re.sub(r"\D", "", str(version))
    return (1, int(digits), str(version)) if digits else (0, 0, str(version))


def wanted_tables(definition) -> dict[str, str]:
    """Variable -> CMIP table of every model variable a definition reads (target, added, covariates)."""
    target = definition.target
    wanted = {target.variable: target.table}
    wanted.update({v: target.table for v in target.add})
    for covariate in definition.covariates.values():
        if covariate.model is not None:
            wanted[covariate.model.variable] = covariate.model.table
    return wanted


# ------------------------------------------------------------------ walking


def _subdirs(path: str) -> list[tuple[str, str]]:
    """Visible subdirectories of ``path`` as (name, path), sorted; [] if unreadable."""
    try:
        with os.scandir(path) as entries:
            found = [(e.name, e.path) for e in entries if not e.name.startswith(".") and e.is_dir()]
    except OSError:
        return []
    return sorted(found)


def _nc_files(path: str, variable: str) -> list[tuple[str, str]]:
    try:
        with os.scandir(path) as entries:
            found = [
                (e.name, e.path)
                for e in entries
                if e.name.endswith(".nc") and e.name.startswith(variable + "_") and e.is_file()
            ]
    except OSError:
        return []
    return sorted(found)


def _walk(path: str, levels: list[str], where: dict, filters: dict):
    """Yield (facets, directory) for every directory ``len(levels)`` below ``path``."""
    if not levels:
        yield where, path
        return
    level, rest = levels[0], levels[1:]
    for name, sub in _subdirs(path):
        if level == "member_id" and not _MEMBER.match(name):
            continue
        if level == "version" and not _VERSION.match(name):
            continue
        if level in filters and name not in filters[level]:
            continue
        yield from _walk(sub, rest, {**where, level: name}, filters)


def time_range(name: str) -> dict:
    """The time range of a CMIP file name (``..._185001-201412.nc``): its text, start, end and years; empty if none."""
    match = _TIME_RANGE.search(name)
    if not match:
        return {"time_range": "", "start": "", "end": "", "start_year": pd.NA, "end_year": pd.NA}
    start, end = match.groups()
    return {
        "time_range": f"{start}-{end}",
        "start": start,
        "end": end,
        "start_year": int(start[:4]),
        "end_year": int(end[:4]),
    }


def _row(facets: dict, name: str, path: str) -> dict:
    row = {key: facets.get(key, "") for key in COLUMNS[:12]}
    row.update(time_range(name))
    row["path"] = Path(path)
    return row


def _cmip6_root(root: Path) -> Path:
    for name in ("CMIP6", "cmip6"):
        if root.name != name and (root / name).is_dir():
            return root / name
    return root


def _cmip5_root(root: Path) -> tuple[Path, list[str], dict]:
    """(directory to walk, levels below it, facets fixed by the root itself)."""
    if _PRODUCT.match(root.name):
        return root, _CMIP5_LEVELS[1:], {"activity_id": root.name}
    for name in ("CMIP5", "cmip5"):
        if root.name != name and (root / name).is_dir():
            return root / name, _CMIP5_LEVELS, {}
    return root, _CMIP5_LEVELS, {}


def _select(filters: dict | None) -> dict[str, set[str]]:
    chosen = {}
    for key, value in (filters or {}).items():
        if key not in COLUMNS:
            raise ValueError(f"unknown facet {key!r}; facets: {', '.join(COLUMNS[:12])}")
        chosen[key] = {str(value)} if isinstance(value, (str, int)) else {str(v) for v in value}
    return chosen


def find_drs_files(root: Path, layout: str = "cmip6", **filters: str | Iterable[str]) -> pd.DataFrame:
    """One row per netCDF file of a CMIP DRS tree, with its facets.

    Parameters
    ----------
    root : Path
        The ``CMIP6`` (or ``CMIP5``) directory, or a directory containing it; for
        CMIP5 also a product directory (``cmip5/output1``).
    layout : {"cmip6", "cmip5"}
    **filters
        Facet -> value or values (e.g. ``experiment_id="historical"``): only these
        directories are walked, which is much faster on a large archive.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` (CMIP6 facet names for both layouts; ``path`` a
        :class:`~pathlib.Path`; ``start``/``end`` the file-name time range as
        strings, ``start_year``/``end_year`` as integers, empty/NA for fixed fields),
        sorted by path.

    Raises
    ------
    InputDataError
        If ``root`` is not a directory.
    ValueError
        For an unknown layout or facet.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputDataError(f"{layout.upper()} DRS root directory not found", path=root)
    selected = _select(filters)
    rows = []
    if layout == "cmip6":
        base = _cmip6_root(root)
        for facets, directory in _walk(str(base), _CMIP6_LEVELS, {"mip_era": "CMIP6"}, selected):
            for name, path in _nc_files(directory, facets["variable_id"]):
                rows.append(_row(facets, name, path))
    elif layout == "cmip5":
        base, levels, fixed = _cmip5_root(root)
        if "activity_id" in selected and "activity_id" in fixed and fixed["activity_id"] not in selected["activity_id"]:
            return pd.DataFrame(columns=COLUMNS)
        for facets, directory in _walk(str(base), levels, {"mip_era": "CMIP5", **fixed}, selected):
            rows += _cmip5_tail(facets, directory, selected)
    else:
        raise ValueError(f"unknown DRS layout {layout!r}; expected 'cmip6' or 'cmip5'")
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for key, values in selected.items():  # facets that are not directory levels (e.g. mip_era, time_range)
        frame = frame[frame[key].map(str).isin(values)]
    frame["start_year"] = frame["start_year"].astype("Int64")
    frame["end_year"] = frame["end_year"].astype("Int64")
    return frame.sort_values("path", key=lambda s: s.map(str), ignore_index=True)


def _cmip5_tail(facets: dict, member_dir: str, selected: dict) -> list[dict]:
    """Rows below a CMIP5 ensemble directory: ``version/variable`` or ``variable/version``."""
    rows = []
    for first, first_path in _subdirs(member_dir):
        for second, second_path in _subdirs(first_path):
            if _VERSION.match(first) and not _VERSION.match(second):
                version, variable = first, second
            elif _VERSION.match(second) and not _VERSION.match(first):
                variable, version = first, second
            else:
                continue
            if any(k in selected and v not in selected[k] for k, v in (("version", version), ("variable_id", variable))):
                continue
            row_facets = {**facets, "version": version, "variable_id": variable, "grid_label": ""}
            for name, path in _nc_files(second_path, variable):
                rows.append(_row(row_facets, name, path))
    return rows


# ------------------------------------------------------------------ versions


def latest_versions(files: pd.DataFrame) -> pd.DataFrame:
    """Keep only the latest version of each dataset.

    A dataset is one (experiment_id, source_id, member_id, table_id, variable_id,
    grid_label); versions are compared with :func:`version_key`. When the same
    latest version is published under two institutions or activities, the first
    (sorted) is kept, so no file is counted twice.
    """
    if files.empty:
        return files.copy()
    frame = files.copy()
    frame["_key"] = frame["version"].map(version_key)
    frame["_owner"] = frame["activity_id"].astype(str) + "/" + frame["institution_id"].astype(str)
    best = frame.groupby(DATASET_KEY, sort=False, dropna=False)["_key"].transform("max")
    frame = frame[frame["_key"] == best]
    owner = frame.groupby(DATASET_KEY, sort=False, dropna=False)["_owner"].transform("min")
    frame = frame[frame["_owner"] == owner]
    return frame.drop(columns=["_key", "_owner"]).reset_index(drop=True)


# ------------------------------------------------------------------ models


def discover_models(
    root: Path,
    layout: str = "cmip6",
    experiment: str = "historical",
    variables: dict[str, str] | None = None,
    target: str = "cSoil",
    member: str = "first",
    include: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    prefer: dict[str, list[str]] | None = None,
    files: pd.DataFrame | None = None,
) -> dict[str, ModelFiles]:
    """Find the models of a DRS tree that have the target, and their files.

    Parameters
    ----------
    root : Path
        DRS root (see :func:`find_drs_files`). Not read when ``files`` is given.
    layout : {"cmip6", "cmip5"}
    experiment : str
        experiment_id.
    variables : dict
        Variable -> CMIP table, for every variable wanted (target included). The
        fixed fields ``sftlf`` and ``areacella`` (table ``fx``) are always looked up.
    target : str
        The target variable: models without it (or without any of its ``prefer``
        alternatives) are skipped.
    member : {"first", "mean"}
        ``first``: the first member by (r, i, p, f) indices that has every wanted
        variable, else the first that has the target. ``mean``: every member that
        has every wanted variable (else the first member with the target, so that
        the missing variable is reported when it is read); the pipeline averages
        their fields.
    include, exclude : iterables of str
        Keep only / drop these source_ids.
    prefer : dict
        Variable -> alternatives in order of preference, all in the variable's
        table, e.g. ``{"cSoil": ["cSoilAbove1m", "cSoil"]}``. Per model the first
        alternative it has (in any member) is used for every member, and the
        model's ``files`` keep the requested name (``ModelFiles.variables`` records
        the name in the files). List the variable itself last to fall back to it.
    files : DataFrame, optional
        A table like :func:`find_drs_files` returns (e.g. from a catalogue); the
        tree is not walked then.

    Returns
    -------
    dict
        source_id -> :class:`ModelFiles`, sorted by source_id.

    Notes
    -----
    Per dataset the latest version is used. Per model one grid is used for every
    variable where possible: the target's (``gn`` preferred when the target has
    several), else ``gn``, else the first label. Fixed fields come from the chosen
    member, else from another member of the same model (they are often published
    only for r1i1p1f1, and for CMIP5 under r0i0p0), on the target's grid where
    possible.
    """
    if member not in ("first", "mean"):
        raise ValueError(f"member must be 'first' or 'mean', not {member!r}")
    variables = dict(variables or {target: "Emon"})
    prefer = {k: list(v) for k, v in (prefer or {}).items() if v}
    candidates = {var: prefer.get(var, [var]) for var in variables}
    wanted_names = {name for names in candidates.values() for name in names} | set(FX_VARIABLES)
    if files is None:
        found = find_drs_files(root, layout, experiment_id=experiment, variable_id=sorted(wanted_names))
    else:
        found = files[(files["experiment_id"] == experiment) & files["variable_id"].isin(wanted_names)]
    if include is not None:
        found = found[found["source_id"].isin(list(include))]
    found = found[~found["source_id"].isin(list(exclude))]
    tables = {name: variables[var] for var, names in candidates.items() for name in names}
    tables.update({fx: "fx" for fx in FX_VARIABLES})
    right_table = [tables.get(v) == t for v, t in zip(found["variable_id"], found["table_id"])]
    found = found[pd.Series(right_table, index=found.index, dtype=bool)]
    found = latest_versions(found)
    models = {}
    for source, rows in sorted(found.groupby("source_id"), key=lambda item: item[0]):
        model = _model(str(source), rows, variables, candidates, target, member)
        if model is not None:
            models[model.name] = model
    return models


def _model(source, rows: pd.DataFrame, variables, candidates, target, member) -> ModelFiles | None:
    index = {}  # (member, variable) -> grid -> sorted paths
    for (member_id, variable, grid), group in rows.groupby(["member_id", "variable_id", "grid_label"]):
        index.setdefault((member_id, variable), {})[grid] = sorted(group["path"], key=str)
    members_of = lambda name: {m for (m, v) in index if v == name}  # noqa: E731
    chosen = {}  # requested -> name in the files
    for var, names in candidates.items():
        present = [n for n in names if members_of(n)]
        if present:
            chosen[var] = present[0]
    if target not in chosen:
        return None
    target_members = sorted(members_of(chosen[target]), key=_member_key)
    has_all = len(chosen) == len(candidates)
    complete = [m for m in target_members if has_all and all((m, n) in index for n in chosen.values())]
    if member == "mean":
        members = complete or target_members[:1]
    else:
        members = (complete or target_members)[:1]
    target_grids = set().union(*(index[(m, chosen[target])] for m in members))
    grid_order = sorted(target_grids, key=lambda g: (g != "gn", g))
    all_members = sorted({m for (m, _) in index}, key=_member_key)

    def pick(grids: dict[str, list[Path]]) -> list[Path]:
        for grid in grid_order + ["gn"] + sorted(grids):
            if grid in grids:
                return grids[grid]
        return []

    member_files = {}
    for m in members:
        entry = {var: pick(index[(m, name)]) for var, name in chosen.items() if (m, name) in index}
        owners = [m] + [o for o in all_members if o != m]
        for fx in FX_VARIABLES:
            with_fx = [o for o in owners if (o, fx) in index]
            on_grid = [o for o in with_fx if any(g in index[(o, fx)] for g in grid_order)]
            if with_fx:
                entry[fx] = pick(index[((on_grid or with_fx)[0], fx)])
        member_files[m] = entry
    renamed = {var: name for var, name in chosen.items() if var != name}
    first = members[0]
    return ModelFiles(source, first, dict(member_files[first]), list(members), member_files, renamed)
