"""Observation data of the shipped benchmarks: a registry, a verified cache, ``socbench data``.

The registry is a plain-text file, ``benchmarks/registry.txt``: one line per
file, ``path hash``, where ``hash`` is ``sha1:...``, ``sha256:...`` or ``md5:...``
as published by the source, or ``-`` when the source publishes none. A sidecar,
``benchmarks/registry-sources.yaml``, gives per file its source (``base_url``,
to which the path is appended, or a full ``url``), its ``size`` in bytes when
known, its ``licence`` and its ``citation``.

Files are downloaded with pooch into the data directory (``--dir``, else
``$SOCBENCH_DATA``, else ``<OS cache>/socbench/data``) under their registry path,
so that a benchmark definition run with ``--data-root`` set to that directory
finds them. Downloads resume from a ``.part`` file (HTTP Range requests). A file
present with the wrong hash is refused, never silently replaced: ``--force``
downloads it again. For a file without a published hash, the sha256 of its first
download is recorded in ``<data dir>/recorded-hashes.txt`` and checked from then on.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Iterable

from .errors import SocbenchError

REGISTRY_NAME = "registry.txt"
SOURCES_NAME = "registry-sources.yaml"
RECORDED_NAME = "recorded-hashes.txt"
NO_HASH = "-"
_ALGORITHMS = ("sha1", "sha256", "md5")
_CHUNK = 1 << 16


class DataError(SocbenchError):
    """A data file could not be fetched or verified (one line, naming the file)."""


@dataclass(frozen=True)
class DataFile:
    """One registry entry.

    Attributes
    ----------
    path : str
        Path relative to the data directory (and to the source's base URL).
    known_hash : str or None
        ``algorithm:hexdigest`` as published, or None when the source publishes none.
    url : str
        Where it is downloaded from.
    size : int or None
        Size in bytes, when known.
    licence, citation, description : str
    derive : dict, optional
        For a file computed at fetch time from other registry files:
        ``{"ratio": [numerator, denominator], "factor": f, "variable": name, "units": u}``.
    """

    path: str
    known_hash: str | None
    url: str
    size: int | None = None
    licence: str = ""
    citation: str = ""
    description: str = ""
    derive: dict | None = None


@dataclass
class Registry:
    """The files socbench knows how to fetch, by registry path."""

    files: dict[str, DataFile] = field(default_factory=dict)
    source: Path | None = None

    def select(self, paths: Iterable[str] | None) -> list[DataFile]:
        """The entries of ``paths`` (all entries when None) and the inputs of derived ones, in registry order."""
        if paths is None:
            return list(self.files.values())
        wanted = {p for p in paths if p in self.files}
        wanted |= {p for w in wanted if self.files[w].derive for p in self.files[w].derive["ratio"]}
        return [f for p, f in self.files.items() if p in wanted]


# ------------------------------------------------------------------ registry


def default_registry_path() -> Path:
    """The registry shipped with socbench."""
    from .resources import resource_dir

    return resource_dir("benchmarks") / REGISTRY_NAME


def _parse_hash(text: str, where: str) -> str | None:
    if text == NO_HASH:
        return None
    algorithm, sep, digest = text.partition(":")
    if not sep or algorithm.lower() not in _ALGORITHMS or not digest or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise DataError(f"{where}: hash {text!r} is not 'sha1:<hex>', 'sha256:<hex>', 'md5:<hex>' or '-' (no published hash)")
    return f"{algorithm.lower()}:{digest.lower()}"


def _read_sources(path: Path) -> dict:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise DataError(f"{path}: registry sidecar not found (expected next to the registry, named {SOURCES_NAME})")
    try:
        document = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise DataError(f"{path}: expected a mapping 'files: {{<registry path>: {{base_url or url, licence, citation}}}}'")
    return files


def load_registry(path: str | Path | None = None) -> Registry:
    """Read a registry file and its sidecar (``registry-sources.yaml`` in the same directory).

    Raises
    ------
    DataError
        If a line is not ``path hash``, a hash is malformed, or a file has no
        source URL in the sidecar.
    """
    path = Path(path) if path is not None else default_registry_path()
    if not path.is_file():
        raise DataError(f"{path}: data registry not found")
    sources = _read_sources(path.parent / SOURCES_NAME)
    files: dict[str, DataFile] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        where = f"{path}:{number}"
        if len(parts) != 2:
            raise DataError(f"{where}: expected 'path hash', got {line!r}")
        name, hash_text = parts
        meta = sources.get(name) or {}
        derive = _derive_spec(meta.get("derive"), files, f"{path.parent / SOURCES_NAME}: {name}")
        url = meta.get("url") or (meta["base_url"].rstrip("/") + "/" + name if meta.get("base_url") else None)
        if derive:
            url = "derived from " + " and ".join(derive["ratio"])
        if not url:
            raise DataError(f"{path.parent / SOURCES_NAME}: {name}: no 'base_url', 'url' or 'derive' for this registry file")
        size = meta.get("size")
        files[name] = DataFile(
            name, _parse_hash(hash_text, where), str(url), int(size) if size is not None else None,
            str(meta.get("licence", "")), " ".join(str(meta.get("citation", "")).split()),
            " ".join(str(meta.get("description", "")).split()), derive,
        )
    return Registry(files, path)


def _derive_spec(spec, earlier: dict[str, DataFile], where: str) -> dict | None:
    """Check a ``derive`` entry: a ratio of two files listed earlier in the registry."""
    if spec is None:
        return None
    ratio = spec.get("ratio") if isinstance(spec, dict) else None
    if not (isinstance(ratio, list) and len(ratio) == 2 and all(p in earlier for p in ratio)) or "variable" not in spec:
        raise DataError(f"{where}: derive: expected {{ratio: [numerator, denominator], variable, units, factor}} "
                        "naming two files listed before it in the registry")
    return {"factor": 1.0, "units": "1", "long_name": "", **spec}


def benchmark_files(benchmark: str, registry: Registry) -> list[DataFile]:
    """The registry files a benchmark definition reads (its observation, covariate and region paths).

    ``benchmark`` is the name of a shipped benchmark (``cmip-soc-climate``) or a
    definition file.
    """
    from .config import load_definition
    from .resources import benchmark_path

    path = Path(benchmark)
    if not path.is_file():
        try:
            path = benchmark_path(benchmark)
        except FileNotFoundError:
            raise DataError(f"{benchmark}: neither a definition file nor a shipped benchmark (see `socbench data list`)") from None
    definition, _ = load_definition(path)
    paths = [o.path for o in definition.observations]
    for covariate in definition.covariates.values():
        paths += [s.path for s in (covariate.obs, covariate.shared) if s is not None]
    if definition.regions.mask_path:
        paths.append(definition.regions.mask_path)
    selected = registry.select(paths)
    if not selected:
        raise DataError(f"{path}: none of its data paths are in the registry {registry.source}")
    return selected


# ------------------------------------------------------------------ cache


def data_dir(directory: str | Path | None = None) -> Path:
    """The data directory: ``directory``, else ``$SOCBENCH_DATA``, else the OS cache (``.../socbench/data``)."""
    if directory is not None:
        return Path(directory).expanduser()
    if os.environ.get("SOCBENCH_DATA"):
        return Path(os.environ["SOCBENCH_DATA"]).expanduser()
    import pooch

    return Path(pooch.os_cache("socbench")) / "data"


def file_hash(path: Path, algorithm: str) -> str:
    """``algorithm:hexdigest`` of a file."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return f"{algorithm}:{digest.hexdigest()}"


def recorded_hashes(directory: Path) -> dict[str, str]:
    """Hashes recorded on first download, for files whose source publishes none."""
    ledger = directory / RECORDED_NAME
    if not ledger.is_file():
        return {}
    entries = (line.split() for line in ledger.read_text(encoding="utf-8").splitlines())
    return {parts[0]: parts[1] for parts in entries if len(parts) == 2}


def _record_hash(directory: Path, name: str, digest: str) -> None:
    hashes = recorded_hashes(directory)
    hashes[name] = digest
    lines = [f"{path} {value}" for path, value in sorted(hashes.items())]
    (directory / RECORDED_NAME).write_text("# sha256 recorded on first download (the source publishes no hash)\n"
                                          + "\n".join(lines) + "\n", encoding="utf-8")


def expected_hash(entry: DataFile, directory: Path) -> str | None:
    """The hash a file must have: the published one, else the one recorded on first download."""
    return entry.known_hash or recorded_hashes(directory).get(entry.path)


def status(entry: DataFile, directory: Path) -> str:
    """``absent``, ``present`` (hash verified), ``unverified`` (no hash yet) or ``CORRUPT``."""
    target = directory / entry.path
    if not target.is_file():
        return "absent"
    expected = expected_hash(entry, directory)
    if expected is None:
        return "unverified"
    return "present" if file_hash(target, expected.split(":")[0]) == expected else "CORRUPT"


# ------------------------------------------------------------------ download


def progress_enabled(stream: IO) -> bool:
    """A progress bar only on a terminal: none in logs or pipes."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class ResumingDownloader:
    """A pooch downloader that resumes from ``<file>.part`` with an HTTP Range request.

    The bytes received are appended to the ``.part`` file as they arrive, so an
    interrupted download continues where it stopped. When the transfer is
    complete the ``.part`` file becomes pooch's temporary file, which pooch checks
    against the hash and moves into place.

    Parameters
    ----------
    part : Path
        The persistent partial file.
    progress : bool
        Show a tqdm progress bar (on ``stream``).
    stream : file-like
        Where the progress bar goes.
    timeout : float
        Seconds to wait for the server.
    """

    def __init__(self, part: Path, progress: bool, stream: IO, timeout: float = 60.0):
        self.part, self.progress, self.stream, self.timeout = part, progress, stream, timeout
        self.received = 0

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False) -> bool | None:
        import requests

        if check_only:
            return requests.head(url, allow_redirects=True, timeout=self.timeout).ok
        offset = self.part.stat().st_size if self.part.is_file() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as response:
            if response.status_code == 416:  # the part file already holds every byte
                response.close()
            else:
                response.raise_for_status()
                if response.status_code != 206:  # the server ignored the range: start again
                    offset = 0
                self._write(response, offset)
        os.replace(self.part, output_file)
        return None

    def _write(self, response, offset: int) -> None:
        from tqdm import tqdm

        length = response.headers.get("content-length")
        total = int(length) + offset if length else None
        bar = tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, file=self.stream,
                   desc=self.part.name.removesuffix(".part"), leave=True, disable=not self.progress)
        with bar, open(self.part, "ab" if offset else "wb") as handle:
            for chunk in response.iter_content(chunk_size=_CHUNK):
                handle.write(chunk)
                self.received += len(chunk)
                bar.update(len(chunk))


def _http_reason(exc) -> str:
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code} {response.reason or ''}".strip()
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no detail'}"


def _download(entry: DataFile, directory: Path, stream: IO) -> int:
    """Download one file with pooch; return the bytes received."""
    import pooch
    import requests

    target = directory / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    downloader = ResumingDownloader(target.with_name(target.name + ".part"), progress_enabled(stream), stream)
    pooch.get_logger().setLevel("WARNING")
    try:
        pooch.retrieve(entry.url, known_hash=entry.known_hash, fname=target.name, path=target.parent,
                       downloader=downloader)
    except requests.exceptions.RequestException as exc:
        kept = downloader.part.is_file() and downloader.part.stat().st_size > 0
        resume = "; the partial download is kept and the next fetch resumes it" if kept else ""
        raise DataError(f"{entry.path}: download from {entry.url} failed ({_http_reason(exc)}){resume}") from None
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise DataError(f"{entry.path}: downloaded file from {entry.url} does not match {entry.known_hash} "
                        "(deleted; the source may have changed the file: report it, or fetch again)") from None
    return downloader.received


@dataclass(frozen=True)
class Outcome:
    """What ``fetch`` did to one file: ``downloaded``, ``cached`` or ``recorded`` (first download, hash recorded)."""

    entry: DataFile
    action: str
    received: int
    digest: str | None


def fetch_file(entry: DataFile, directory: Path, force: bool = False, stream: IO | None = None) -> Outcome:
    """Make one registry file present and verified in ``directory``.

    Raises
    ------
    DataError
        If the file is present with the wrong hash (and ``force`` is false), or
        the download fails (server error, unreachable host, hash mismatch).
    """
    stream = stream if stream is not None else sys.stderr
    target = directory / entry.path
    if entry.derive and (force or not target.is_file()):
        target.unlink(missing_ok=True)
        _derive(entry, directory)
        digest = file_hash(target, "sha256")
        _record_hash(directory, entry.path, digest)
        return Outcome(entry, "derived", 0, digest)
    expected = expected_hash(entry, directory)
    if target.is_file():
        if expected is None:
            digest = file_hash(target, "sha256")
            _record_hash(directory, entry.path, digest)
            return Outcome(entry, "recorded", 0, digest)
        found = file_hash(target, expected.split(":")[0])
        if found == expected:
            return Outcome(entry, "cached", 0, expected)
        if not force:
            raise DataError(f"{target}: present but its hash is {found}, expected {expected} "
                            "(corrupt or modified); refusing it: run `socbench data fetch --force` to download it again")
        target.unlink()
    if force:
        target.with_name(target.name + ".part").unlink(missing_ok=True)  # --force starts afresh
    if force and entry.known_hash is None and entry.path in recorded_hashes(directory):
        expected = None  # --force on a file without a published hash: record the new download
    received = _download(replace(entry, known_hash=expected), directory, stream)
    if expected is None:
        digest = file_hash(target, "sha256")
        _record_hash(directory, entry.path, digest)
        return Outcome(entry, "recorded", received, digest)
    return Outcome(entry, "downloaded", received, expected)


def fetch(entries: list[DataFile], directory: Path, force: bool = False, stream: IO | None = None,
          report=print) -> list[Outcome]:
    """Fetch ``entries`` into ``directory``, one report line per file.

    Stops at the first file that cannot be fetched (raising :class:`DataError`);
    the files fetched before it stay in place.
    """
    directory.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for entry in entries:
        outcome = fetch_file(entry, directory, force, stream)
        outcomes.append(outcome)
        if outcome.action == "derived":
            report(f"{entry.path}: computed from {' and '.join(entry.derive['ratio'])}; recorded {outcome.digest}")
        elif outcome.action == "cached":
            report(f"{entry.path}: present, hash verified")
        elif outcome.action == "downloaded":
            report(f"{entry.path}: downloaded {_size(outcome.received)}, hash verified ({entry.known_hash.split(':')[0]})")
        else:
            report(f"{entry.path}: the source publishes no hash; recorded {outcome.digest} on this first download "
                   f"(in {directory / RECORDED_NAME}); later fetches check it")
    return outcomes


def _derive(entry: DataFile, directory: Path) -> None:
    """Write a derived file: ``factor * numerator / denominator`` of two maps (cells with denominator <= 0 missing)."""
    from .errors import InputDataError
    from .inputs import open_variable

    spec = entry.derive
    try:
        numerator, denominator = (
            open_variable([directory / p], "data")["data"].load() for p in spec["ratio"])
    except InputDataError as exc:
        raise DataError(f"{entry.path}: cannot be computed: {exc}") from None
    if numerator.shape != denominator.shape:
        raise DataError(f"{entry.path}: cannot be computed: {spec['ratio'][0]} is {numerator.shape}, "
                        f"{spec['ratio'][1]} is {denominator.shape}; expected the same grid")
    ratio = float(spec["factor"]) * numerator / denominator.where(denominator > 0)
    ratio = ratio.rename({d: {"x": "lon", "y": "lat"}.get(str(d), d) for d in ratio.dims})
    ratio.attrs = {"units": str(spec["units"]), "long_name": str(spec["long_name"])}
    dataset = ratio.astype("float32").to_dataset(name=str(spec["variable"]))
    dataset.attrs["history"] = f"socbench data fetch: {spec['factor']} * {spec['ratio'][0]} / {spec['ratio'][1]}"
    target = directory / entry.path
    partial = target.with_name(target.name + ".part")
    dataset.to_netcdf(partial)
    os.replace(partial, target)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def listing(entries: list[DataFile], directory: Path) -> list[dict]:
    """One row per file: path, status, size, source URL, licence, citation."""
    rows = []
    for entry in entries:
        target = directory / entry.path
        size = target.stat().st_size if target.is_file() else entry.size
        rows.append({"path": entry.path, "status": status(entry, directory), "size": _size(size), "url": entry.url,
                     "hash": entry.known_hash or "none published", "licence": entry.licence,
                     "citation": entry.citation})
    return rows
