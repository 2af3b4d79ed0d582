"""Replicate models score alike (issue 14, item 6) on the 12-model world.

``socbench synth --models 12 --products 4`` holds three replicates of each role
(faithful, double stock, temperature+NPP, unrelated): the role's process and
climate on its own grid and with its own noise, as ensemble members of one
model. Their driver scores must agree within 0.15 in every region where they
are scored.

With a climate bias of their own (``replicates_share_climate=False``, the
12-model world before session 6) the replicates are the same soil process in
three models' climates. The faithful, double-stock and unrelated roles still
agree within 0.15; the temperature+NPP role differs by up to 0.21 in boreal
forest and tundra, on precipitation and C:N, two drivers it does not use: its
emulators give them curves that follow each climate's correlation of those
drivers with temperature and NPP (docs/method.md, "Refits count").
"""

from __future__ import annotations

import pytest

from socbench import synth
from socbench.pipeline import run

DRIVER_COMPONENTS = ["importance", "response", "sensitivity"]


def _spreads(world, definition):
    scores = run(definition, world, workers=2).scores
    scores = scores[scores.metric.isin(DRIVER_COMPONENTS)].dropna(subset=["value"])
    scores = scores.assign(role=scores.model.str.replace(r"-\d+$", "", regex=True))
    grouped = scores.groupby(["role", "region", "metric"]).value
    assert (grouped.size() == 3).all()  # every replicate scored wherever one is
    return grouped.agg(lambda values: values.max() - values.min())


@pytest.fixture(scope="module")
def spreads(tmp_path_factory, demo_definition):
    world = tmp_path_factory.mktemp("twelve-models")
    synth.make_world(world, seed=0, resolution=2.0, n_models=12, n_products=4)
    return _spreads(world, demo_definition)


@pytest.fixture(scope="module")
def own_climate_spreads(tmp_path_factory, demo_definition):
    world = tmp_path_factory.mktemp("twelve-models-own-climates")
    synth.make_world(world, seed=0, resolution=2.0, n_models=12, n_products=4, replicates_share_climate=False)
    return _spreads(world, demo_definition)


def test_replicates_of_every_role_agree_within_0_15(spreads):
    assert len(spreads) >= 110  # 4 roles x 3 components x ~10 regions
    assert spreads.max() <= 0.15, spreads.sort_values().tail(3).round(3).to_dict()


def test_in_their_own_climates_all_but_the_temperature_npp_role_agree_within_0_15(own_climate_spreads):
    others = own_climate_spreads.drop("SYN-TEMPNPP", level="role")
    assert len(others) >= 80
    assert others.max() <= 0.15, others.sort_values().tail(3).round(3).to_dict()
    tempnpp = own_climate_spreads.loc["SYN-TEMPNPP"]
    assert tempnpp.max() <= 0.22, tempnpp.sort_values().tail(3).round(3).to_dict()
    assert (tempnpp > 0.15).sum() <= 3
