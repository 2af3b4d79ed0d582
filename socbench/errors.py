"""Exception types. Each carries a one-line, user-facing message."""

from __future__ import annotations


class SocbenchError(Exception):
    """Base class for errors that socbench reports to the user in one line."""


class DefinitionError(SocbenchError):
    """The benchmark definition (YAML) is invalid."""


class InputDataError(SocbenchError):
    """An input file is missing, unreadable or not what the definition expects.

    Parameters
    ----------
    message : str
        What was expected and what was found.
    path : str, optional
        The offending file (or glob).
    variable : str, optional
        The variable being read.
    """

    def __init__(self, message: str, path: str | None = None, variable: str | None = None):
        self.path = str(path) if path is not None else None
        self.variable = variable
        where = []
        if self.path:
            where.append(f"file {self.path}")
        if variable:
            where.append(f"variable {variable!r}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)


class BundleError(SocbenchError):
    """A reference bundle is corrupt, truncated or does not match the definition."""


class SocbenchWarning(UserWarning):
    """Something in the input was read, but not as written (one line, naming file and variable)."""
