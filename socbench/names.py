"""Dataset names: one name, one dataset.

Every table of a run is keyed by dataset name (models, observation products
and the null reference share the scorecard's rows), so a model named like a
product would replace the product's emulations and field and be scored
against itself. Names are therefore checked wherever they enter: at
definition load (explicit models), after discovery (DRS tree and catalogue
models) and in ``socbench check`` (``--model NAME=...``).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import DefinitionError, SocbenchError
from .score import NULL_REFERENCE

#: Names no model or product may take, with what they stand for.
RESERVED_NAMES = {NULL_REFERENCE: "the null reference's rows"}


def _clash(name: str, products: Iterable[str]) -> str | None:
    """What ``name`` collides with among the products and reserved names, None if nothing."""
    if name in RESERVED_NAMES:
        return f"a reserved name ({RESERVED_NAMES[name]})"
    if name in set(products):
        return "the name of an observation product"
    return None


def model_name_problem(name: str, products: Iterable[str]) -> str | None:
    """Why a model may not be called ``name`` (one sentence), None when it may.

    Parameters
    ----------
    name : str
        The model's name.
    products : iterable of str
        The observation products' names.
    """
    clash = _clash(name, products)
    if clash is None:
        return None
    return f"model name {name!r} is {clash}; dataset names must be unique across models, products and reserved names"


def check_product_names(products: Iterable[str]) -> None:
    """Refuse product names that are reserved.

    Raises
    ------
    ValueError
        For the definition validator, which adds file, line and key.
    """
    for name in products:
        if name in RESERVED_NAMES:
            raise ValueError(f"observations: product name {name!r} is a reserved name ({RESERVED_NAMES[name]}); rename the product")


def check_explicit_names(explicit: Iterable[str], products: Iterable[str]) -> None:
    """Refuse explicit model names that are a product's or reserved (at definition load).

    Raises
    ------
    ValueError
        For the definition validator, which adds file, line and key.
    """
    products = list(products)
    for name in explicit:
        problem = model_name_problem(name, products)
        if problem:
            raise ValueError(f"models.explicit: {problem}: rename the model")


def merge_discovered(found: list[tuple[str, dict]], products: Iterable[str]) -> dict:
    """Models discovered in several sources (``drs_root``, ``catalog``) as one mapping.

    Parameters
    ----------
    found : list of (source, dict)
        Source key and its models (name -> :class:`~socbench.discover.ModelFiles`).
    products : iterable of str

    Raises
    ------
    DefinitionError
        A discovered model named like a product or a reserved name, or found
        in two sources with different files.
    """
    products = list(products)
    merged, origin = {}, {}
    for source, models in found:
        for name, model in models.items():
            problem = model_name_problem(name, products)
            if problem:
                raise DefinitionError(
                    f"models.{source}: discovered {problem}: add it to models.exclude, or rename the product"
                )
            if name in merged and merged[name].files != model.files:
                raise DefinitionError(
                    f"models: model {name!r} is found both in models.{origin[name]} and in models.{source}, with "
                    "different files; keep one source for it (models.include/exclude apply to both)"
                )
            merged[name], origin[name] = model, source
    return merged


def check_explicit_not_discovered(name: str, discovered: dict) -> None:
    """Refuse an explicit model named like a discovered one (neither may silently win).

    Raises
    ------
    DefinitionError
    """
    if name in discovered:
        raise DefinitionError(
            f"models.explicit: model name {name!r} is also the name of a model discovered under models.drs_root or "
            "models.catalog; dataset names must be unique: rename the explicit model, or add the name to "
            "models.exclude to drop both"
        )


def check_new_model_names(models: Iterable[str], products: Iterable[str], bundle) -> None:
    """Refuse ``socbench check --model NAME=...`` names that are a bundle product's or reserved.

    Raises
    ------
    SocbenchError
    """
    products = list(products)
    for name in models:
        problem = model_name_problem(name, products)
        if problem:
            raise SocbenchError(f"--model {name}=...: {problem} (reference bundle {bundle}); choose another name")
