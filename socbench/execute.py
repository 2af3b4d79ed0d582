"""Execute emulation tasks: in this process, a warmed-up process pool or any executor, through the cache."""

from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager

from .explain import EmulationResult, EmulationTask, run_emulation
from .progress import Progress, silent


def describe_workers(workers: int | Executor) -> str:
    """How tasks will run, for progress messages: "4 worker processes", "Client", "1 worker(s)"."""
    if isinstance(workers, ProcessPoolExecutor):
        return f"{workers._max_workers} worker processes"
    return type(workers).__name__ if isinstance(workers, Executor) else f"{workers} worker(s)"


def execute(
    tasks: list[EmulationTask], workers: int | Executor, progress: Progress = silent, cache=None
) -> dict[tuple[str, str], EmulationResult]:
    """Run emulation tasks, in worker processes when ``workers > 1``; results by (dataset, region).

    ``workers`` may also be a :class:`concurrent.futures.Executor`, e.g. the
    executor of a dask.distributed client (``Client(address).get_executor()``).

    With a :class:`~socbench.cache.TaskCache`, cached results are reused and
    new ones stored; the results are the same either way.
    """
    results: dict[tuple[str, str], EmulationResult] = {}
    pending, finished = [], 0
    for task in tasks:
        cached = cache.load(task) if cache is not None else None
        if cached is None:
            pending.append(task)
        else:
            results.update({(r.dataset, r.region): r for r in cached})
            finished += 1
    if finished:
        progress(f"{finished} of {len(tasks)} tasks reused from the cache")

    def record(task: EmulationTask, done: list[EmulationResult]) -> None:
        nonlocal finished
        results.update({(r.dataset, r.region): r for r in done})
        finished += 1
        if cache is not None:
            cache.store(task, done)
        progress(
            f"[{finished}/{len(tasks)}] emulated {task.dataset} over {len(task.regions)} region(s) "
            f"(CV R2 {done[0].fit_r2:.2f})"
        )

    if isinstance(workers, Executor):
        for task, done in zip(pending, workers.map(run_emulation, pending)):
            record(task, done)
        return results
    if workers <= 1 or len(pending) <= 1:
        for task in pending:
            record(task, run_emulation(task))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for task, done in zip(pending, pool.map(run_emulation, pending)):
            record(task, done)
    return results


def _warm_up() -> None:
    """Import the learners' libraries in a new worker while the main process reads inputs."""
    import shap  # noqa: F401
    import sklearn.ensemble  # noqa: F401


@contextmanager
def worker_pool(workers: int | Executor):
    """A process pool for ``workers > 1``, started at once and warmed up in the background.

    Yields ``workers`` unchanged when it is 1 or already an executor.
    """
    if isinstance(workers, Executor) or workers <= 1:
        yield workers
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_warm_up) as pool:
        for _ in range(workers):
            pool.submit(int)  # start every worker now, not at the first task
        yield pool
