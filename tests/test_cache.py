"""Task cache: reuse by content, never trust a corrupt entry, refit only what changed."""

from __future__ import annotations

import numpy as np

from socbench.cache import TaskCache, task_key
from socbench.pipeline import run

from test_emulate_explain import make_task  # noqa: E402  (tests directory is on sys.path)


def test_store_load_round_trip(tmp_path):
    from socbench.explain import run_emulation

    cache = TaskCache(tmp_path)
    task = make_task(n=400)
    assert cache.load(task) is None
    result = run_emulation(task)
    cache.store(task, result)
    again = cache.load(task)
    np.testing.assert_array_equal(again.shares, result.shares)
    np.testing.assert_array_equal(again.boot_curves, result.boot_curves)
    assert again.cv_r2 == result.cv_r2 and (cache.hits, cache.misses) == (1, 1)


def test_key_depends_on_content_not_name():
    a, b = make_task(n=300), make_task(n=300)
    b.dataset = "renamed"
    assert task_key(a) == task_key(b)
    c = make_task(n=300, y_shift=1e-9)
    assert task_key(a) != task_key(c)
    d = make_task(n=300)
    d.params = {"max_iter": 81}
    assert task_key(a) != task_key(d)


def test_corrupt_entry_is_recomputed(tmp_path):
    from socbench.explain import run_emulation

    cache = TaskCache(tmp_path)
    task = make_task(n=300)
    cache.store(task, run_emulation(task))
    entry = next(tmp_path.rglob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:100])
    assert cache.load(task) is None
    assert not entry.exists()


def test_tampered_entry_is_not_trusted(tmp_path):
    from socbench.explain import run_emulation

    cache = TaskCache(tmp_path)
    task = make_task(n=300)
    cache.store(task, run_emulation(task))
    entry = next(tmp_path.rglob("*.npz"))
    with np.load(entry) as stored:
        arrays = dict(stored)
    arrays["shares"] = arrays["shares"][::-1].copy()
    np.savez(entry, **arrays)
    assert cache.load(task) is None


def test_second_run_refits_only_the_changed_model(small_world, small_definition, tmp_path):
    cache = TaskCache(tmp_path / "cache")
    first = run(small_definition, small_world, workers=2, cache=cache)
    assert cache.hits == 0
    stored = cache.misses
    csoil = next(small_world.glob("CMIP6/*/*/SYN-UNRELATED/*/r1i1p1f1/Emon/cSoil/*/*/*.nc"))
    original = csoil.read_bytes()
    try:
        import netCDF4

        with netCDF4.Dataset(csoil, "a") as nc:
            nc["cSoil"][:] = nc["cSoil"][:] * 1.5 + 0.1
        cache.hits = cache.misses = 0
        second = run(small_definition, small_world, workers=2, cache=cache)
    finally:
        csoil.write_bytes(original)
    changed = first.emulators[first.emulators.dataset == "SYN-UNRELATED"]
    assert cache.misses == len(changed) and cache.hits == stored - len(changed)
    unchanged = first.scores[first.scores.model != "SYN-UNRELATED"].reset_index(drop=True)
    again = second.scores[second.scores.model != "SYN-UNRELATED"].reset_index(drop=True)
    np.testing.assert_array_equal(unchanged["value"].values, again["value"].values)
