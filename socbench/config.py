"""The benchmark definition's public names, kept here so that ``socbench.config`` imports keep working.

The code lives in :mod:`socbench.definition` (schema, loading, validators,
hostile-YAML guard, hashing); grid geometry lives in :mod:`socbench.regrid`.
"""

from .definition import *  # noqa: F401,F403
from .regrid import divides_the_globe, nearby_resolutions  # noqa: F401
