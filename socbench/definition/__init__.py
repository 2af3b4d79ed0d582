"""The declarative benchmark definition: schema, loading and messages, validators, hostile-YAML guard, hashing.

A definition is a YAML file (see ``docs/definition.md``). It is validated with
pydantic on load; any error names the file, the key path, the line and, for a
misspelt key, the nearest valid one.
"""

from .guard import MAX_DEFINITION_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES
from .learner import CVSpec, LearnerSpec
from .loading import json_schema, load_definition
from .schema import (
    CovariateSpec,
    Definition,
    ExplicitModel,
    FileSource,
    GridSpec,
    ModelSource,
    ModelsSpec,
    ObservationSpec,
    PeriodSpec,
    RegionSpec,
    TargetSpec,
)
from .scores import (
    DEFAULT_DELTA_MIN,
    DEFAULT_DISTANCE_MAX,
    DEFAULT_POWER,
    DEFAULT_WEIGHTS,
    RENAMED_COMPONENTS,
    ScoreSpec,
)

__all__ = [
    "CVSpec", "CovariateSpec", "DEFAULT_DELTA_MIN", "DEFAULT_DISTANCE_MAX", "DEFAULT_POWER", "DEFAULT_WEIGHTS",
    "Definition", "ExplicitModel", "FileSource", "GridSpec", "LearnerSpec", "MAX_DEFINITION_BYTES",
    "MAX_YAML_DEPTH", "MAX_YAML_NODES", "ModelSource", "ModelsSpec", "ObservationSpec", "PeriodSpec",
    "RENAMED_COMPONENTS", "RegionSpec", "ScoreSpec", "TargetSpec", "json_schema", "load_definition",
]
