"""Progress messages: the callback type the run stages report through, and its silent default."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[str], None]


def silent(message: str) -> None:
    """Discard a progress message (the default when nobody listens)."""
