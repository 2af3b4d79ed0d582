"""Named registries of pluggable functions (learners, explainers, region schemes, ...).

One small helper replaces the hand-copied dictionaries of each stage, so that
every name in a definition is looked up the same way and an unknown name
gives one line listing the known ones.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import DefinitionError

T = TypeVar("T", bound=Callable)


class Registry(Generic[T]):
    """A mapping of names to functions, filled by a decorator.

    Parameters
    ----------
    key : str
        The definition key the names come from, e.g. ``learner.estimator``;
        it starts the error message of :meth:`get`.
    what : str
        What a name stands for, e.g. ``learner``.
    """

    def __init__(self, key: str, what: str):
        self.key = key
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering a function under ``name`` (a later one replaces it)."""

        def add(function: T) -> T:
            self._entries[name] = function
            return function

        return add

    def get(self, name: str) -> T:
        """The function registered under ``name``.

        Raises
        ------
        DefinitionError
            When ``name`` is not registered; the message lists the known names.
        """
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise DefinitionError(
                f"{self.key}: unknown {self.what} {name!r} (known: {', '.join(self.names())})"
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
