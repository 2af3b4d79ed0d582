"""The committed demo bundle (reference/demo) stays in step with the code.

If a change moves a demo score, this fails: rebuild the bundle with
`socbench synth W && socbench reference build benchmarks/demo.yaml --data-root W --out reference/demo`
and explain the change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from helpers import member_dir

from socbench.check import check
from socbench.reference import load_reference
from socbench.resources import resource_dir

DEMO_MODELS = ["SYN-FAITHFUL", "SYN-TEMPNPP", "SYN-DOUBLE", "SYN-UNRELATED"]


def bundle():
    return resource_dir("reference") / "demo"


def test_shipped_bundle_is_small_and_valid(demo_definition):
    size = sum(f.stat().st_size for f in bundle().iterdir())
    assert size < 5 * 2**20
    reference, baseline, ceiling = load_reference(bundle(), demo_definition)
    assert set(baseline.model) == set(DEMO_MODELS)
    assert [p.name for p in reference.products] == [o.name for o in demo_definition.observations]


def test_shipped_bundle_matches_a_fresh_run(demo_definition, demo_result):
    reference, baseline, ceiling = load_reference(bundle(), demo_definition)
    fresh = demo_result.scores[demo_result.scores.model.isin(DEMO_MODELS)]
    merged = pd.merge(baseline, fresh, on=["model", "region", "metric"], suffixes=("_bundle", "_fresh"))
    assert len(merged) == len(baseline) == len(fresh)
    np.testing.assert_allclose(merged.value_bundle, merged.value_fresh, atol=1e-6)
    for key, stored in reference.emulations.items():
        np.testing.assert_allclose(stored.shares, demo_result.reference.emulations[key].shares, atol=1e-9)
    np.testing.assert_array_equal(reference.context.land, demo_result.reference.context.land)


def member(world, model):
    return str(member_dir(world, model))


def test_gate_on_the_shipped_bundle(demo_definition, demo_world):
    same = check(demo_definition, bundle(), {"SYN-FAITHFUL": member(demo_world, "SYN-FAITHFUL")}, workers=2)
    assert same.passed
    worse = check(demo_definition, bundle(), {"NEW": member(demo_world, "SYN-TEMPNPP")},
                  baseline="SYN-FAITHFUL", workers=2)
    assert not worse.passed
    regressed = worse.regressions
    assert ("global", "importance") in set(zip(regressed.region, regressed.metric))
