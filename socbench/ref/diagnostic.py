"""The ``soc-drivers`` diagnostic: one model member scored against socbench's observational envelope."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from attrs import field, frozen
from climate_ref_core.constraints import AddSupplementaryDataset
from climate_ref_core.datasets import FacetFilter, SourceDatasetType
from climate_ref_core.diagnostics import DataRequirement, Diagnostic, ExecutionDefinition, ExecutionResult
from loguru import logger

from socbench.config import Definition
from socbench.discover import FX_VARIABLES, ModelFiles
from socbench.errors import SocbenchError
from socbench.report.cmec import STRUCTURE, ModelFacets, metric_bundle, output_bundle, tables_from_directory

from . import bundles

#: Subfolder of the execution's output directory holding socbench's scorecard.
SCORECARD_DIR = "socbench"
THREADS_ENV = "SOCBENCH_REF_THREADS"
#: The execution's grouping per source type (CMIP7 names the member ``variant_label``).
GROUP_BY = {
    SourceDatasetType.CMIP6: ("source_id", "experiment_id", "member_id", "grid_label"),
    SourceDatasetType.CMIP7: ("source_id", "experiment_id", "variant_label", "grid_label"),
}


def model_variables(definition: Definition) -> dict[str, tuple[str, str]]:
    """Variable -> (CMIP table, what it is for) of everything a model must provide."""
    target = definition.target
    wanted = {target.variable: (target.table, "target")}
    wanted.update({extra: (target.table, "target") for extra in target.add})
    for name, covariate in definition.covariates.items():
        if covariate.model is not None:
            wanted[covariate.model.variable] = (covariate.model.table, f"covariate {name}")
    return wanted


def _group_label(group: pd.DataFrame, facets: Sequence[str]) -> str:
    return " ".join(str(group[f].iloc[0]) for f in facets if f in group.columns)


@frozen
class RequireModelVariables:
    """Keep a group only if it has every variable the benchmark needs; say which are missing.

    ``RequireFacets`` does the same, but logs why at debug level only; a centre
    must see why its model was not scored.
    """

    variables: tuple[tuple[str, str], ...] = field(converter=tuple)
    """(variable, what it is for) pairs."""
    group_by: tuple[str, ...] = field(converter=tuple)

    def apply(self, group: pd.DataFrame, data_catalog: pd.DataFrame) -> pd.DataFrame:
        present = set(group["variable_id"])
        missing = [f"{variable} ({role})" for variable, role in self.variables if variable not in present]
        if not missing:
            return group
        logger.warning(
            f"socbench soc-drivers: {_group_label(group, self.group_by)} not executed: "
            f"no {', '.join(missing)} in the data catalogue"
        )
        return group.iloc[0:0]


def _requirement(source_type: SourceDatasetType, definition: Definition) -> DataRequirement:
    wanted = model_variables(definition)
    experiment = definition.models.experiment
    if source_type is SourceDatasetType.CMIP6:
        filters = [{"variable_id": v, "table_id": table, "experiment_id": experiment} for v, (table, _) in wanted.items()]
    else:
        filters = [{"variable_id": v, "experiment_id": experiment, "frequency": "mon"} for v in wanted]
    group_by = GROUP_BY[source_type]
    return DataRequirement(
        source_type=source_type,
        filters=tuple(FacetFilter(facets=f) for f in filters),
        group_by=group_by,
        constraints=(
            RequireModelVariables(tuple((v, role) for v, (_, role) in wanted.items()), group_by),
            *(AddSupplementaryDataset.from_defaults(fx, source_type) for fx in FX_VARIABLES),
        ),
    )


def _source_type(definition: ExecutionDefinition) -> SourceDatasetType:
    return SourceDatasetType.CMIP7 if SourceDatasetType.CMIP7 in definition.datasets else SourceDatasetType.CMIP6


def execution_facets(definition: ExecutionDefinition) -> ModelFacets:
    """The model facets of an execution, from the REF's grouping."""
    source_type = _source_type(definition)
    selector = definition.datasets[source_type].selector_dict()
    values = [str(selector[f]) for f in GROUP_BY[source_type]]
    return ModelFacets(*values)


def model_files(definition: ExecutionDefinition, facets: ModelFacets) -> ModelFiles:
    """The execution's files as socbench reads them: variable -> sorted paths."""
    table = definition.datasets[_source_type(definition)].datasets
    files: dict[str, list[Path]] = {}
    for variable, rows in table.groupby("variable_id"):
        files[str(variable)] = sorted(Path(p) for p in rows["path"])
    return ModelFiles(name=facets.source_id, member=facets.member_id, files=files)


def thread_limit() -> int:
    """BLAS/OpenMP threads per execution (``SOCBENCH_REF_THREADS``, default 1): the REF runs executions side by side."""
    text = os.environ.get(THREADS_ENV, "1")
    if not text.isdigit() or int(text) < 1:
        raise SocbenchError(f"{THREADS_ENV}={text!r}: expected a whole number >= 1")
    return int(text)


class SocDrivers(Diagnostic):
    """Right stock for the right reasons: a model's SOC drivers, responses and stocks scored against the envelope."""

    name = "SOC drivers"
    slug = "soc-drivers"
    facets = tuple(STRUCTURE)

    def __init__(self, benchmark: Definition) -> None:
        super().__init__()
        self.benchmark = benchmark
        self.data_requirements = (
            (_requirement(SourceDatasetType.CMIP6, benchmark),),
            (_requirement(SourceDatasetType.CMIP7, benchmark),),
        )

    def execute(self, definition: ExecutionDefinition) -> None:
        """Score the execution's model against the cached bundle; write the scorecard into ``socbench/``.

        No network: the bundle comes from the cache that ``ref providers setup`` filled.
        """
        from threadpoolctl import threadpool_limits

        from socbench.check import score_against
        from socbench.reference import load_reference
        from socbench.report import write_report

        facets = execution_facets(definition)
        files = model_files(definition, facets)
        bundle = bundles.cached_bundle()
        with threadpool_limits(limits=thread_limit()):
            reference, _, _ = load_reference(bundle, self.benchmark)
            result = score_against(reference, [files], workers=1, progress=logger.info, cache=None)
        if result.scores.empty:
            reasons = "; ".join(str(r) for r in result.failures["reason"]) or "no score was computed"
            raise SocbenchError(f"{facets.source_id} {facets.member_id}: not scored: {reasons}")
        result.provenance.update(_provenance(self.benchmark, bundle))
        write_report(result, definition.to_output_path(SCORECARD_DIR))

    def build_execution_result(self, definition: ExecutionDefinition) -> ExecutionResult:
        """The CMEC bundles, rebuilt from the scorecard's CSVs (so that the REF can replay them)."""
        scorecard = definition.to_output_path(SCORECARD_DIR)
        facets = execution_facets(definition)
        tables = tables_from_directory(scorecard)
        provenance = json.loads((scorecard / "provenance.json").read_text())
        metrics = metric_bundle(tables, {facets.source_id: facets}, provenance)
        outputs = output_bundle(
            scorecard, prefix=f"{SCORECARD_DIR}/", log="out.log",
            modeldata=[str(p) for p in definition.datasets[_source_type(definition)].datasets["path"]],
            obsdata={p: {"bundle": provenance.get("bundle", "")} for p in tables.products},
        )
        return ExecutionResult.build_from_output_bundle(definition, cmec_output_bundle=outputs, cmec_metric_bundle=metrics)


def _provenance(benchmark: Definition, bundle: Path) -> dict[str, Any]:
    from socbench import __version__

    manifest = json.loads((bundle / bundles.MANIFEST).read_text())
    return {
        "socbench_version": __version__,
        "definition_name": benchmark.name,
        "definition_sha256": benchmark.section_hash(),
        "bundle": bundle.name,
        "bundle_socbench_version": manifest.get("socbench_version"),
        "bundle_files": manifest.get("files", {}),
    }
