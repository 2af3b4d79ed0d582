"""Scores on the real-like world (issue 14): products 0.3-0.45 predictable globally and about 0
within biomes, models 0.95-0.99, right-shaped but steeper models, a mirrored precipitation
response, a wrong-driver model and a noise model (docs/synthetic-world.md)."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
from helpers import perturbed_copy

from socbench.cache import TaskCache
from socbench.config import load_definition
from socbench.pipeline import run
from socbench.resources import benchmark_path
from socbench.synth_reallike import make_reallike_world

FAITHFUL = ["RL-FAITHFUL", "RL-FAITHFUL-R2", "RL-FAITHFUL-R3"]
RIGHT_REASONS = [*FAITHFUL, "RL-DOUBLE", "RL-STEEP2", "RL-STEEP4"]
DRIVERS = ("importance", "response", "sensitivity")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    directory = tmp_path_factory.mktemp("real-like")
    make_reallike_world(directory, seed=0, resolution=2.0)
    return directory


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return TaskCache(tmp_path_factory.mktemp("real-like-cache"))


@pytest.fixture(scope="module")
def result(world, cache):
    definition, _ = load_definition(benchmark_path("real-like"))
    return run(definition, world, workers=2, cache=cache)


def matrix(result, metric):
    return result.score_matrix(metric)


def biomes(result) -> list[str]:
    return [r for r in result.region_names if r != "global"]


def test_the_world_is_as_noisy_as_real_products(result):
    emulators = result.emulators
    products = emulators[(emulators.kind == "observation") & (emulators.region == "global")]
    assert products.fit_r2.between(0.28, 0.47).all(), products.fit_r2.round(3).tolist()
    within = emulators[(emulators.kind == "observation") & (emulators.region != "global")]
    assert within.cv_r2.median() < 0.15
    models = emulators[(emulators.kind == "model") & (emulators.region == "global")].set_index("dataset")
    assert models.loc[RIGHT_REASONS, "fit_r2"].min() > 0.85


def test_driver_scores_are_judged_in_the_biomes(result):
    """Per-biome fits withheld every biome's driver scores; regional attribution of one fit over
    all land, with boosting rounds chosen by the shared CV, judges both in at least 7 of 9 biomes.

    Importance reaches 0.8 in 6 of the 8 biomes where it is judged: in tropical savanna the
    faithful model's own climate (tas bias, own Rh spread) moves its planted shares by a total
    variation of ~0.1 from the observed world's, as far as the null is (docs/synthetic-world.md).
    """
    response = matrix(result, "response").loc["RL-FAITHFUL", biomes(result)].dropna()
    importance = matrix(result, "importance").loc["RL-FAITHFUL", biomes(result)].dropna()
    assert len(response) >= 7 and (response >= 0.85).all(), response.round(3).to_dict()
    assert len(importance) >= 7, importance.round(3).to_dict()
    assert (importance >= 0.8).sum() >= 6 and (importance >= 0.4).all(), importance.round(3).to_dict()


def test_importance_weighs_in_overall_as_far_as_the_products_tell_the_null_apart(result):
    """Withheld only where the null is within one tolerance (or bootstrap spread) of the products'
    consensus, and then for a reason about the products; between 1 and 1.5, scored with part of its weight."""
    assessments = result.assessments
    importance = assessments[(assessments.metric == "importance") & (assessments.model == "RL-FAITHFUL")]
    withheld = importance[importance.status == "withheld"]
    assert set(withheld.reason) <= {"products_cannot_discriminate", "products_unreliable"}
    assert (withheld.overall_weight == 0).all()
    scored = importance[importance.status == "scored"]
    assert len(scored) >= 8 and scored.overall_weight.between(0.0, 0.3).all() and (scored.overall_weight > 0).all()
    assert (scored.overall_weight == 0.3).sum() >= 7


def test_the_wrong_driver_model_gets_no_driver_agreement(result):
    """Importance and sensitivity at most 0.4 wherever judged, also in boreal forest, where MAP and
    Rh correlate at 0.87 (below scores.collinear_r, 0.9): grouped, the MAP-only model got the
    group's share nearly right and scored 0.57 there."""
    sensitivity = matrix(result, "sensitivity").loc["RL-WRONGDRIVER"].dropna()
    assert len(sensitivity) >= 7 and (sensitivity <= 0.4).all(), sensitivity.round(3).to_dict()
    importance = matrix(result, "importance")
    wrong = importance.loc["RL-WRONGDRIVER"].dropna()
    assert len(wrong) >= 7 and (wrong <= 0.4).all(), wrong.round(3).to_dict()
    gap = importance.loc["RL-FAITHFUL", wrong.index] - wrong
    assert (gap > 0).all() and (gap >= 0.4).sum() >= len(gap) - 1, gap.round(3).to_dict()


def test_the_wrong_driver_model_scores_at_most_0_4_wherever_it_is_assessed(result):
    """Its precipitation hump rises with MAP where MAP is low, so in boreal forest, tundra and temperate
    grassland its one curve has the observed shape: with the shape's null at 0.25 it scored 0.45-0.55 on
    response there and 0.42-0.43 overall in two biomes; a flat curve now earns nothing (docs/method.md)."""
    for component in ("importance", "response", "sensitivity", "overall"):
        scores = matrix(result, component).loc["RL-WRONGDRIVER"].dropna()
        assert len(scores) >= 7 and (scores <= 0.4).all(), (component, scores.round(3).to_dict())


def test_the_mirrored_precipitation_response_scores_zero_on_its_shape(result):
    drivers = result.drivers
    rows = drivers[(drivers.dataset == "RL-MIRRORP") & (drivers.covariate == "precipitation") & drivers.judged]
    assert len(rows) >= 2 and "global" in set(rows.region)
    # In tundra precipitation moves ln SOC least (planted share 0.11): the mirrored curve is weak there
    mirrored = rows[rows.shape_correlation < -0.8]
    assert "global" in set(mirrored.region) and len(mirrored) >= len(rows) - 1, rows.shape_correlation.round(2).tolist()
    assert (mirrored.shape_score <= 0.02).all(), mirrored.shape_score.round(3).tolist()
    assert (rows.shape_score <= 0.2).all(), rows.shape_score.round(3).tolist()
    others = drivers[(drivers.dataset == "RL-FAITHFUL") & (drivers.covariate == "precipitation") & drivers.judged]
    assert (others.shape_score >= 0.9).all()


def test_the_mirrored_response_is_named_on_its_model_page(result, tmp_path):
    from socbench.report import write_report

    write_report(result, tmp_path / "card")
    page = html.unescape(next((tmp_path / "card" / "models").glob("RL-MIRRORP*.html")).read_text())
    assert "precipitation: SOC responds with the opposite sign to the observations' (r = −0.9" in page


@pytest.mark.parametrize(("model", "planted"), [("RL-STEEP2", 2.0), ("RL-STEEP4", 4.0)])
def test_steeper_right_shaped_models_keep_their_shape_and_report_their_sensitivity(result, world, model, planted):
    truth = json.loads((world / "truth.json").read_text())
    assert truth["models"][model]["amplitude_factors"]["rh"] == planted
    response = matrix(result, "response").loc[model].dropna()
    assert len(response) >= 7 and (response >= 0.7).all(), response.round(3).to_dict()
    drivers = result.drivers
    ratio = drivers[(drivers.dataset == model) & (drivers.region == "global") & (drivers.covariate == "rh")]
    assert ratio.sensitivity_ratio.iloc[0] == pytest.approx(planted, rel=0.2)
    sensitivity = matrix(result, "sensitivity").loc[[model, "RL-FAITHFUL"], "global"]
    assert sensitivity[model] < sensitivity["RL-FAITHFUL"]


def test_steeper_is_graded_on_sensitivity(result):
    sensitivity = matrix(result, "sensitivity").loc[["RL-FAITHFUL", "RL-STEEP2", "RL-STEEP4"], "global"].to_numpy()
    assert np.all(np.diff(sensitivity) < 0), sensitivity.round(3)


def test_the_null_is_below_every_right_reasons_model(result):
    overall = matrix(result, "overall")
    nulls = result.nulls[result.nulls.metric == "overall"].set_index("region")["value"]
    for model in RIGHT_REASONS:
        for region, null in nulls.items():
            assert overall.loc[model, region] > null, (model, region, overall.loc[model, region], null)


def test_a_poor_emulator_never_ranks_above_a_fully_assessed_wrong_driver_model(result):
    assessments = result.assessments
    overall = matrix(result, "overall")
    capped = assessments[(assessments.model == "RL-NOISE") & (assessments.status == "capped")]
    compared = 0
    for region in sorted(set(capped.region)):
        wrong = assessments[(assessments.model == "RL-WRONGDRIVER") & (assessments.region == region)]
        if (wrong[wrong.metric.isin(DRIVERS)].status == "scored").all():
            compared += 1
            assert overall.loc["RL-NOISE", region] < overall.loc["RL-WRONGDRIVER", region], region
    assert compared >= 3


def test_replicates_score_within_0_15_of_each_other_wherever_assessed(result):
    """RL-FAITHFUL-R2 and -R3 are ensemble members of RL-FAITHFUL: its process, climate and grid, noise
    of their own. With 5 bootstrap refits they differed by up to 0.18 (tundra sensitivity) at this seed,
    and by 0.10-0.16 at two other learner seeds; with 20 by 0.12-0.14 (docs/synthetic-world.md)."""
    scores = result.scores[result.scores.model.isin(FAITHFUL) & result.scores.metric.isin(DRIVERS)].dropna()
    spread = scores.groupby(["region", "metric"]).value.agg(lambda v: v.max() - v.min() if len(v) == 3 else np.nan)
    assert spread.notna().sum() >= 21 and (spread.dropna() <= 0.15).all(), spread.round(3).to_dict()


def test_a_tenth_of_a_percent_on_one_noisy_product_moves_no_driver_score(result, world, cache, tmp_path):
    """With the argmax of the CV skill curve, HWSD-like went from 26 to 36 rounds under this change and driver
    scores moved by up to 0.36; with the choice bagged (emulate.select_rounds) they move by 0.057."""
    perturbed_world = perturbed_copy(world, tmp_path / "world", "obs/soc/HWSD-like/hwsd_like_soilc.nc", "soilc")
    definition, _ = load_definition(benchmark_path("real-like"))
    perturbed = run(definition, perturbed_world, workers=2, cache=cache)  # only the changed product is refitted
    merged = result.scores.merge(perturbed.scores, on=["model", "region", "metric"], suffixes=("", "_p"))
    drivers = merged[merged.metric.isin(DRIVERS)]
    assert (drivers.value - drivers.value_p).abs().max() < 0.1
