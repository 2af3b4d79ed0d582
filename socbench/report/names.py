"""Safe file names and element ids derived from untrusted names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_MAX_FILENAME = 96
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)}


def safe_filename(name: str) -> str:
    """Map an untrusted name to a safe file-name stem.

    The result uses only ``[A-Za-z0-9._-]``, is never empty, never starts
    with ``.`` or ``-``, contains no ``..`` and is at most 96 characters.
    Applying it twice gives the same stem as applying it once.

    Parameters
    ----------
    name : str
        Any string, e.g. a model name read from a file attribute.

    Returns
    -------
    str
        A file-name stem (add the extension yourself).
    """
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = text[: _MAX_FILENAME - 1].strip(".-")  # room for the "_" prefix below
    if not text.strip("_"):
        return "model"
    if text.split(".")[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def unique_stems(names: Iterable[str]) -> dict[str, str]:
    """Distinct safe stems, one per distinct name, also on case-insensitive file systems.

    Colliding stems get ``-2``, ``-3``, ... suffixes in input order.
    """
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for name in dict.fromkeys(names):
        stem = safe_filename(name)
        candidate, counter = stem, 1
        while candidate.lower() in taken:
            counter += 1
            candidate = f"{stem}-{counter}"
        taken.add(candidate.lower())
        stems[name] = candidate
    return stems


def page_names(models: Iterable[str]) -> dict[str, str]:
    """File names (``<safe stem>.html``) of the model pages, one per model.

    Parameters
    ----------
    models : iterable of str
        Model names (duplicates are ignored).

    Returns
    -------
    dict of str to str
        Model name to file name.
    """
    return {model: f"{stem}.html" for model, stem in unique_stems(models).items()}


def region_anchors(regions: Iterable[str]) -> dict[str, str]:
    """Fragment ids (``region-<stem>``) of the regions on a model page."""
    return {region: f"region-{stem}" for region, stem in unique_stems(regions).items()}
