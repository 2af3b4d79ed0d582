"""Replicate models score alike (issue 14, item 6) on the 12-model world.

``socbench synth --models 12 --products 4`` holds three replicates of each role
(faithful, double stock, temperature+NPP, unrelated): the same process on its
own grid, noise and climate bias. Their driver scores must agree within 0.15
in every region where they are scored. The temperature+NPP role is the known
exception (docs/method.md, "Stable scores"): its emulators give precipitation
and C:N, two drivers it does not use, weak curves whose sign follows each
replicate's climate, and it differs by up to 0.21 in boreal forest and tundra.
"""

from __future__ import annotations

import pytest

from socbench import synth
from socbench.pipeline import run

DRIVER_COMPONENTS = ["importance", "response", "sensitivity"]


@pytest.fixture(scope="module")
def spreads(tmp_path_factory, demo_definition):
    world = tmp_path_factory.mktemp("twelve-models")
    synth.make_world(world, seed=0, resolution=2.0, n_models=12, n_products=4)
    scores = run(demo_definition, world, workers=2).scores
    scores = scores[scores.metric.isin(DRIVER_COMPONENTS)].dropna(subset=["value"])
    scores = scores.assign(role=scores.model.str.replace(r"-\d+$", "", regex=True))
    grouped = scores.groupby(["role", "region", "metric"]).value
    assert (grouped.size() == 3).all()  # every replicate scored wherever one is
    return grouped.agg(lambda values: values.max() - values.min())


def test_replicates_of_every_role_agree_within_0_15(spreads):
    others = spreads.drop("SYN-TEMPNPP", level="role")
    assert len(others) >= 80
    assert others.max() <= 0.15, others.sort_values().tail(3).round(3).to_dict()


def test_the_temperature_npp_replicates_are_the_known_exception(spreads):
    tempnpp = spreads.loc["SYN-TEMPNPP"]
    assert tempnpp.max() <= 0.22, tempnpp.sort_values().tail(3).round(3).to_dict()
    assert (tempnpp > 0.15).sum() <= 3
