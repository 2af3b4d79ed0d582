"""The hostile-YAML guard: refuse huge, binary, non-UTF-8, alias-bomb and deeply nested definition files."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from ..errors import DefinitionError


#: Limits of a definition file: far above any real definition, far below harm.
MAX_DEFINITION_BYTES = 1 << 20
MAX_YAML_NODES = 100_000  # after expanding aliases: stops "billion laughs" alias bombs
MAX_YAML_DEPTH = 64


def definition_text(path: Path) -> str:
    """The file's text, refusing what is not a small UTF-8 text file."""
    if not path.is_file():
        raise DefinitionError(f"{path}: benchmark definition not found")
    try:
        size = path.stat().st_size
        if size > MAX_DEFINITION_BYTES:
            raise DefinitionError(
                f"{path}: {size} bytes is too large for a benchmark definition (limit {MAX_DEFINITION_BYTES})"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DefinitionError(f"{path}: cannot read the benchmark definition ({exc.strerror or exc})") from None
    if b"\0" in data:
        raise DefinitionError(f"{path}: a binary file, not a YAML benchmark definition")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DefinitionError(f"{path}:{line}: not UTF-8 text (byte {exc.start}); save the definition as UTF-8") from None


def check_yaml_shape(text: str, path: Path) -> None:
    """Refuse alias bombs and very deep nesting from the event stream, before building any node.

    Each anchored node's size (its expanded node count) is recorded when it
    ends, and every alias adds that size, so the expanded size is known
    without expanding anything.
    """
    from ruamel.yaml.events import (
        AliasEvent, CollectionEndEvent, CollectionStartEvent, ScalarEvent,
    )

    sizes: dict[str, int] = {}
    stack: list[list] = [[None, 0]]  # [anchor, expanded size] of each open collection
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, CollectionStartEvent):
            stack.append([event.anchor, 1])
            if len(stack) - 1 > MAX_YAML_DEPTH:
                line = event.start_mark.line + 1
                raise DefinitionError(f"{path}:{line}: nested deeper than {MAX_YAML_DEPTH} levels")
            continue
        if isinstance(event, CollectionEndEvent):
            anchor, size = stack.pop()
        elif isinstance(event, AliasEvent):
            anchor, size = None, sizes.get(event.anchor, 1)
        elif isinstance(event, ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[-1][1] > MAX_YAML_NODES:
            line = event.start_mark.line + 1
            raise DefinitionError(
                f"{path}:{line}: expands to more than {MAX_YAML_NODES} values (YAML aliases); "
                "write the values out instead of repeating aliases"
            )
