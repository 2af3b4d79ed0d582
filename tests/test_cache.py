"""Task cache: reuse by content, never trust a corrupt entry, refit only what changed."""

from __future__ import annotations

import numpy as np

from socbench.cache import TaskCache, task_key
from socbench.pipeline import run

from helpers import make_task  # noqa: E402  (tests directory is on sys.path)


def test_store_load_round_trip(tmp_path):
    from socbench.explain import run_emulation

    cache = TaskCache(tmp_path)
    task = make_task(n=400)
    assert cache.load(task) is None
    result = run_emulation(task)
    cache.store(task, result)
    (again,), (first,) = cache.load(task), result
    np.testing.assert_array_equal(again.shares, first.shares)
    np.testing.assert_array_equal(again.boot_curves, first.boot_curves)
    assert again.cv_r2 == first.cv_r2 and again.fit_r2 == first.fit_r2 and (cache.hits, cache.misses) == (1, 1)
    assert again.rounds == first.rounds and 1 <= first.rounds <= task.params.get("max_iter", 150)


def test_key_depends_on_content_not_name():
    a, b = make_task(n=300), make_task(n=300)
    b.dataset = "renamed"
    assert task_key(a) == task_key(b)
    c = make_task(n=300, y_shift=1e-9)
    assert task_key(a) != task_key(c)
    d = make_task(n=300)
    d.params = {"max_iter": 81}
    assert task_key(a) != task_key(d)
    e = make_task(n=300)
    e.select_rounds = not a.select_rounds
    assert task_key(a) != task_key(e)


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
    arrays["0/shares"] = arrays["0/shares"][::-1].copy()
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
    # one task per dataset: only the changed model's task is refitted
    assert cache.misses == 1 and cache.hits == stored - 1
    unchanged = first.scores[first.scores.model != "SYN-UNRELATED"].reset_index(drop=True)
    again = second.scores[second.scores.model != "SYN-UNRELATED"].reset_index(drop=True)
    np.testing.assert_array_equal(unchanged["value"].values, again["value"].values)


def test_key_covers_library_versions_and_task_source(monkeypatch, tmp_path):
    import shutil
    from importlib import metadata
    from pathlib import Path

    import socbench.cache as cache_module

    fingerprint = cache_module.code_fingerprint()
    assert fingerprint["numpy"] == metadata.version("numpy")
    assert fingerprint["scikit-learn"] == metadata.version("scikit-learn")
    assert fingerprint["shap"] == metadata.version("shap")
    # a copy of the package's task modules has the same fingerprint; editing one of them changes it
    package = Path(cache_module.__file__).parent
    for name in ("emulate.py", "explain.py", "registry.py", "cache.py"):
        shutil.copy(package / name, tmp_path / name)
    monkeypatch.setattr(cache_module, "__file__", str(tmp_path / "cache.py"))
    assert cache_module.code_fingerprint.__wrapped__() == fingerprint
    with open(tmp_path / "explain.py", "a") as explain:
        explain.write("# edited\n")
    assert cache_module.code_fingerprint.__wrapped__()["source"] != fingerprint["source"]
    monkeypatch.undo()

    task = make_task(n=300)
    before = task_key(task)
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: {**fingerprint, "scikit-learn": "0.0"})
    upgraded = task_key(task)
    monkeypatch.setattr(cache_module, "code_fingerprint", lambda: {**fingerprint, "source": "edited"})
    edited = task_key(task)
    assert len({before, upgraded, edited}) == 3


def test_open_cache_warns_and_returns_none_when_unusable(tmp_path):
    from socbench.cache import open_cache

    blocker = tmp_path / "file"
    blocker.write_text("")
    messages = []
    assert open_cache(blocker / "cache", warn=messages.append) is None
    assert len(messages) == 1 and "is not usable" in messages[0] and "running without the cache" in messages[0]
    usable = open_cache(tmp_path / "cache", warn=messages.append)
    assert isinstance(usable, TaskCache) and len(messages) == 1
    assert list((tmp_path / "cache").iterdir()) == []  # the write probe leaves nothing
