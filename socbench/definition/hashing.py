"""Content hashes of a definition's sections (bundles and provenance record them)."""

from __future__ import annotations

import hashlib
import json


def section_hash(definition, *sections: str) -> str:
    """Content hash of the named top-level sections of ``definition`` (all when none given)."""
    data = definition.model_dump(mode="json")
    chosen = {k: data[k] for k in (sections or sorted(data))}
    if "covariates" in chosen:
        # Covariate order is the column order of every table: it matters.
        chosen["covariate_order"] = list(definition.covariates)
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()
