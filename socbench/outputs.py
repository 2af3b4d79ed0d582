"""Output directories: replace only what socbench wrote, one writer at a time.

Every directory socbench writes (scorecards, reference bundles) holds a marker
file, :data:`MARKER`. A later run may replace such a directory as a whole; any
other directory that is not empty is refused, so that ``--out`` never deletes
a user's files. The checks run before any computation (:func:`claim_output`).

Writers take an advisory lock (``.NAME.lock`` beside the directory, released
by the operating system when the process dies): of two runs writing the same
directory, the second stops at once with a message. Holding the lock, a
writer removes the ``.NAME.tmp-*`` and ``.NAME.old-*`` directories that a
killed run may have left.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .errors import SocbenchError

try:
    import fcntl
except ImportError:  # not POSIX: no advisory locks, writers are not serialised
    fcntl = None

#: File that marks a directory as written by socbench.
MARKER = ".socbench-output"

_held: dict[Path, list] = {}  # target -> [lock file descriptor or None, nesting count]


class OutputError(SocbenchError):
    """An output directory that socbench must not (or cannot) write."""


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(path))


def mark_output(directory: str | os.PathLike[str]) -> None:
    """Write the marker file into a directory that socbench is building."""
    (Path(directory) / MARKER).write_text(
        f"Written by socbench {__version__}. socbench replaces this directory as a whole on the next run "
        "with the same output directory; do not keep other files here.\n"
    )


def check_output_target(out: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output directory that socbench may not create or replace.

    Parameters
    ----------
    out : path-like
        The output directory.
    protect : iterable of path-like
        Paths that replacing ``out`` must not delete (the definition file,
        the data root).

    Returns
    -------
    Path
        ``out`` as an absolute path.

    Raises
    ------
    OutputError
        When a parent of ``out`` is a file or not writable, when ``out`` is a
        file, holds a protected path, or is a non-empty directory without
        the marker.
    """
    target = _absolute(out)
    _check_parent(target)
    if not os.path.lexists(target):
        return target
    if not target.is_dir():
        raise OutputError(f"output directory {target} exists and is not a directory; choose another --out")
    resolved = target.resolve()
    for path in protect:
        kept = Path(path).resolve()
        if kept == resolved or resolved in kept.parents:
            raise OutputError(
                f"output directory {target} holds {path}, which replacing it would delete; choose another --out"
            )
    if not (target / MARKER).is_file() and any(target.iterdir()):
        raise OutputError(
            f"output directory {target} is not empty and was not written by socbench (no {MARKER} file); "
            "choose a new or empty directory for --out"
        )
    return target


def _check_parent(target: Path) -> None:
    existing = target.parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"output directory {target}: {existing} is a file, not a directory; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"output directory {target}: cannot write in {existing} (permission denied)")


@contextmanager
def claim_output(out: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()) -> Iterator[Path]:
    """Check ``out`` (:func:`check_output_target`), lock it and clear a killed run's leftovers.

    Nested claims of the same directory in one process share the lock.

    Yields
    ------
    Path
        ``out`` as an absolute path.

    Raises
    ------
    OutputError
        As :func:`check_output_target`, or when another process is writing ``out``.
    """
    target = check_output_target(out, protect)
    if target in _held:
        _held[target][1] += 1
        try:
            yield target
        finally:
            _held[target][1] -= 1
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = target.parent / f".{target.name}.lock"
    descriptor = _acquire(lock, target)
    _held[target] = [descriptor, 1]
    try:
        remove_leftovers(target)
        yield target
    finally:
        del _held[target]
        _release(lock, descriptor)


def _acquire(lock: Path, target: Path) -> int | None:
    if fcntl is None:
        return None
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(descriptor, 64).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise OutputError(
                f"output directory {target} is being written by another socbench (process {holder}; lock {lock}); "
                "wait for it to finish or choose another --out"
            ) from None
        # The previous holder removes the lock file when it is done: if it did so between
        # our open and our lock, we hold a lock on a deleted file. Start again.
        try:
            current = os.stat(lock).st_ino == os.fstat(descriptor).st_ino
        except FileNotFoundError:
            current = False
        if current:
            os.ftruncate(descriptor, 0)
            os.write(descriptor, str(os.getpid()).encode())
            return descriptor
        os.close(descriptor)


def _release(lock: Path, descriptor: int | None) -> None:
    if descriptor is None:
        return
    lock.unlink(missing_ok=True)
    os.close(descriptor)


def remove_leftovers(target: Path) -> list[Path]:
    """Remove ``.NAME.tmp-*`` and ``.NAME.old-*`` beside ``target`` left by a killed run.

    Only call this while holding the lock of ``target`` (:func:`claim_output`):
    a live writer's staging directory has the same form.
    """
    pattern = re.compile(rf"\.{re.escape(target.name)}\.(tmp-[A-Za-z0-9_]+|old-[0-9a-f]+)")
    removed = []
    for entry in target.parent.iterdir():
        if not pattern.fullmatch(entry.name):
            continue
        if entry.is_symlink() or not entry.is_dir():
            entry.unlink(missing_ok=True)
        else:
            shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def replace_directory(staging: Path, target: Path) -> None:
    """Swap a complete ``staging`` directory in as ``target`` with renames.

    An existing ``target`` is renamed aside first and removed only once the
    new one is in place; if the swap fails, it is restored.
    """
    if not os.path.lexists(target):
        staging.rename(target)
        return
    retired = target.with_name(f".{target.name}.old-{secrets.token_hex(4)}")
    target.rename(retired)
    try:
        staging.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    if retired.is_symlink():
        retired.unlink()
    else:
        shutil.rmtree(retired, ignore_errors=True)


@contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """Yield a hidden sibling directory of ``target``; on success it replaces ``target``.

    The directory is ``.{name}.tmp-<random>`` beside ``target``, readable by
    everyone (a scorecard or a bundle is meant to be shared); an existing
    ``target`` is swapped out only once the new one is complete
    (:func:`replace_directory`). On any error the staging directory is removed
    and an existing ``target`` is left untouched.

    Raises
    ------
    NotADirectoryError
        ``target`` exists and is not a directory.
    """
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"output {target} exists and is not a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private
        yield staging
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
