"""Run orchestration: definition -> prepared fields -> emulation tasks -> scores.

Data flows one way through the stages (:mod:`~socbench.prepare`,
:mod:`~socbench.tasks`, :mod:`~socbench.execute`, :mod:`~socbench.assemble`,
:mod:`~socbench.provenance`). A dataset that fails to load is recorded in the
failures table and the run goes on with the others. Emulation tasks are pure
functions of plain arrays, run in worker processes; their seeds derive from
the run seed and task labels, so results do not depend on the number of workers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .assemble import assemble, unscored_models
from .config import Definition
from .errors import SocbenchError
from .execute import describe_workers, execute, worker_pool
from .explain import EmulationResult
from .prepare import Context, Prepared, prepare_context, prepare_models, prepare_observation
from .progress import Progress, silent
from .provenance import provenance
from .results import FAILURE_COLUMNS, SKIPPED_COLUMNS, RunResult, empty_table
from .tasks import build_tasks, observation_noise, shared_block_size


@dataclass
class Reference:
    """The observation side of a run: context, products and their emulations.

    Everything ``socbench check`` needs to score a new model; saved and loaded
    by :mod:`socbench.reference`.
    """

    context: Context
    products: list[Prepared]
    emulations: dict[tuple[str, str], EmulationResult]
    failures: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # (product, region) pairs not emulated, with reasons


def build_reference(
    definition: Definition, root: Path, workers: int = 1, progress: Progress = silent, cache=None
) -> Reference:
    """The observation side: covariates, regions, products and their emulations.

    Raises
    ------
    SocbenchError
        When the observed covariates cannot be read or fewer than two products can.
    """
    context = prepare_context(definition, Path(root), progress)
    products, failures = [], []
    for spec in definition.observations:
        progress(f"reading observation product {spec.name}")
        try:
            products.append(prepare_observation(context, spec.name))
        except SocbenchError as exc:
            failures.append({"dataset": spec.name, "kind": "observation", "reason": str(exc)})
    if len(products) < 2:
        raise SocbenchError("fewer than two observation products could be read: " + "; ".join(f["reason"] for f in failures))
    context.cv_block_size = shared_block_size(context, products)
    progress(f"spatial CV blocks of {context.cv_block_size:g} degrees for every dataset")
    skipped: list[dict] = []
    tasks = build_tasks(context, products, skipped=skipped)
    progress(f"emulating the observation products: {len(tasks)} tasks, {describe_workers(workers)}")
    emulations = execute(tasks, workers, progress, cache)
    return Reference(context, products, emulations, failures, skipped)


def score_models(
    reference: Reference,
    models: list[Prepared],
    workers: int = 1,
    progress: Progress = silent,
    cache=None,
    failures: list[dict] | None = None,
    bootstraps: int | None = None,
) -> RunResult:
    """Emulate the models and score them against the reference's envelope.

    With ``learner.match_observation_noise``, each model's
    ln SOC gets the products' unexplained variance as white noise before it
    is emulated (:func:`socbench.tasks.observation_noise`). A model's
    bootstrap refits are part of its estimate (shares and curves are their
    mean with the fit's), so ``bootstraps`` other than the definition's
    changes its scores.
    """
    skipped: list[dict] = []
    noise = None
    if reference.context.definition.learner.match_observation_noise:
        fit_r2 = {name: r.fit_r2 for (name, _), r in reference.emulations.items()}
        noise = observation_noise(reference.context, reference.products, fit_r2)
    tasks = build_tasks(reference.context, models, bootstraps, skipped=skipped, noise=noise)
    progress(f"emulating the models: {len(tasks)} tasks, {describe_workers(workers)}")
    emulations = execute(tasks, workers, progress, cache)
    progress("scoring")
    all_failures = reference.failures + list(failures or [])
    result = assemble(reference, models, emulations, all_failures)
    skipped = reference.skipped + skipped
    result.skipped = pd.DataFrame(skipped, columns=SKIPPED_COLUMNS) if skipped else empty_table(SKIPPED_COLUMNS)
    unscored = unscored_models([m.name for m in models], result.scores, skipped)
    if unscored:
        result.failures = pd.concat([result.failures, pd.DataFrame(unscored, columns=FAILURE_COLUMNS)], ignore_index=True)
    return result


def run(definition: Definition, root: Path, workers: int = 1, progress: Progress = silent, cache=None) -> RunResult:
    """Run a benchmark definition end to end and return its tables.

    The result's ``reference`` holds the observation side, from which
    :func:`socbench.reference.save_reference` writes a bundle.

    Raises
    ------
    SocbenchError
        When nothing can be scored (observed covariates unreadable, fewer than
        two observation products, no model).
    """
    started = time.time()
    with worker_pool(workers) as pool:
        reference = build_reference(definition, root, pool, progress, cache)
        models, failures = prepare_models(reference.context, progress)
        result = score_models(reference, models, pool, progress, cache, failures)
    result.reference = reference
    result.provenance = provenance(definition, reference.context, reference.products + models, workers, time.time() - started)
    return result
