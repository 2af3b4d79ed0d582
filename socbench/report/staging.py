"""Build an output directory under a hidden name and swap it in atomically."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..outputs import replace_directory


@contextmanager
def staged_output_directory(target: Path) -> Iterator[Path]:
    """Yield a hidden sibling directory of ``target``; on success it replaces ``target``.

    The directory is ``.{name}.tmp-<random>`` beside ``target``; an existing
    ``target`` is renamed away (``.{name}.old-<random>``) only once the new
    one is complete, then removed. On any error the staging directory is
    removed and an existing ``target`` is left untouched.

    Raises
    ------
    NotADirectoryError
        ``target`` exists and is not a directory.
    """
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"report output {target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; a report is meant to be read
        yield staging
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
