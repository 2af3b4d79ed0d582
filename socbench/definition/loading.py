"""Loading a definition file: YAML parsing, validation and one message line per problem."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import DefinitionError
from .guard import check_yaml_shape, definition_text
from .schema import Definition
from .validators import nearest


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a benchmark definition."""
    return Definition.model_json_schema()


def _line_of(document: Any, loc: tuple) -> int | None:
    """1-based line of the deepest node along ``loc`` that exists in the YAML."""
    node, line = document, None
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    if line is None and hasattr(document, "lc"):
        line = document.lc.line + 1
    return line


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that owns the mapping at ``loc``."""
    model: Any = Definition
    for part in loc:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _describe(error: dict, document: Any, source: str) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith(("function-", "model-"))))
    key_path = ".".join(str(p) for p in loc) or "<top level>"
    line = _line_of(document, loc)
    where = f"{source}:{line}" if line else source
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        owner = _model_at(loc[:-1])
        hint = nearest(str(loc[-1]), owner.model_fields) if owner else None
        message = f"unknown key {loc[-1]!r}" + (f"; did you mean {hint!r}?" if hint else "")
        if owner:
            message += f" (valid keys: {', '.join(owner.model_fields)})"
    elif error["type"] == "missing":
        message = f"required key {loc[-1]!r} is missing"
    return f"{where}: {key_path}: {message}"


def load_definition(path: str | Path, data_root: str | Path | None = None) -> tuple[Definition, Path]:
    """Load and validate a definition file.

    Parameters
    ----------
    path : path-like
        The YAML file.
    data_root : path-like, optional
        Overrides the definition's ``data_root``.

    Returns
    -------
    definition : Definition
    root : Path
        The absolute directory that relative data paths are resolved against.

    Raises
    ------
    DefinitionError
        With one line per problem: file, line, key path and what was expected.
    """
    path = Path(path)
    text = definition_text(path)
    try:
        check_yaml_shape(text, path)
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise DefinitionError(f"{path}{line}: not valid YAML: {exc.problem}") from None
    except (YAMLError, RecursionError) as exc:  # unmarked ruamel errors (e.g. several documents)
        raise DefinitionError(f"{path}: not valid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if not isinstance(document, dict):
        raise DefinitionError(f"{path}: expected a mapping of keys at the top level")
    try:
        definition = Definition.model_validate(_plain(document))
    except ValidationError as exc:
        lines = [_describe(err, document, str(path)) for err in exc.errors()]
        raise DefinitionError("\n".join(lines)) from None
    root = Path(data_root) if data_root is not None else (path.parent / definition.data_root)
    return definition, root.resolve()


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
