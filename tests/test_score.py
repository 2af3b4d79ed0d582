"""Score metrics and the envelope, in isolation (arrays in, numbers out)."""

import numpy as np
import pytest

from socbench.score import (
    Candidate,
    Explained,
    RegionData,
    ScoreSettings,
    build_envelope,
    graded_score,
    leave_one_out_tolerance,
    nearest_neighbour_outliers,
    relative_stock_score,
    response_distance,
    score_candidate,
    score_region,
    spatial_distribution_score,
    total_variation,
    weighted_kendall_tau,
    weighted_overall,
)

SETTINGS = ScoreSettings(
    weights={"importance": 0.25, "response": 0.25, "explained_variance": 0.2, "total_stock": 0.1,
             "ilamb_bias": 0.1, "spatial_distribution": 0.1},
    delta_min={"importance": 0.05, "response": 0.1, "explained_variance": 0.05},
    distance_max={"importance": 1.0, "response": 2.5, "explained_variance": 1.0},
    power={"importance": 2.0, "response": 3.0, "explained_variance": 2.0},
    min_r2=0.3,
)


def test_total_variation_is_zero_for_equal_and_one_for_disjoint_shares():
    a = np.array([0.5, 0.5, 0.0])
    assert total_variation(a, a) == 0
    assert total_variation(a, np.array([0.0, 0.0, 1.0])) == pytest.approx(1.0)
    assert total_variation(a, np.array([0.5, 0.0, 0.5])) == pytest.approx(0.5)


def test_graded_score_is_one_within_the_tolerance_and_strictly_decreasing_beyond():
    assert graded_score(0.04, 0.05, 1.0, 2.0) == 1.0
    assert graded_score(0.05, 0.05, 1.0, 2.0) == 1.0
    distances = np.linspace(0.051, 0.999, 200)
    scores = np.array([graded_score(d, 0.05, 1.0, 2.0) for d in distances])
    assert np.all(np.diff(scores) < 0)
    assert 0 < scores[-1] < scores[0] <= 1
    assert graded_score(1.0, 0.05, 1.0, 2.0) == 0.0
    assert graded_score(0.525, 0.05, 1.0, 2.0) == pytest.approx(0.25)
    assert np.isnan(graded_score(np.nan, 0.05, 1.0, 2.0))


def test_graded_score_keeps_bad_and_very_bad_apart():
    """The old exponential map gave 1e-5 to both a distance of 0.67 and of 0.70."""
    noise, wrong = graded_score(0.67, 0.05, 1.0, 2.0), graded_score(0.70, 0.05, 1.0, 2.0)
    assert noise - wrong > 0.02
    response = [graded_score(d, 0.2, 2.5, 3.0) for d in (1.0, 1.5, 2.0, 2.4)]
    assert np.all(np.diff(response) < 0) and response[-1] > 0


def test_a_large_tolerance_widens_the_plateau_but_keeps_the_grading():
    tight = [graded_score(d, 0.05, 1.0, 2.0) for d in (0.6, 0.8)]
    loose = [graded_score(d, 0.4, 1.0, 2.0) for d in (0.6, 0.8)]
    assert loose[0] - loose[1] > 0.1 and tight[0] - tight[1] > 0.1


def test_response_distance_zero_for_identical_one_for_flat_two_for_mirrored():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(3, 10))
    shares = np.array([0.5, 0.3, 0.2])
    assert response_distance(curves, curves, shares) == 0
    assert response_distance(np.zeros_like(curves), curves, shares) == pytest.approx(1.0)
    assert response_distance(-curves, curves, shares) == pytest.approx(2.0)
    assert response_distance(2 * curves, curves, shares) == pytest.approx(1.0)


def test_response_distance_floors_flat_observed_curves():
    obs = np.vstack([np.linspace(-1, 1, 10), np.zeros(10)])
    model = obs.copy()
    model[1] = 1e-3
    assert response_distance(model, obs, np.array([0.9, 0.1])) < 0.01


def test_relative_stock_score():
    assert relative_stock_score(100, 100, 0) == 1.0
    assert relative_stock_score(110, 100, 0.2) == 1.0
    assert relative_stock_score(200, 100, 0) == pytest.approx(np.exp(-1))
    assert relative_stock_score(200, 100, 0.5) == pytest.approx(np.exp(-0.5))


def test_spatial_distribution_score():
    rng = np.random.default_rng(1)
    obs = rng.normal(size=500)
    w = np.ones(500)
    assert spatial_distribution_score(obs, obs, w) == pytest.approx(1.0)
    assert spatial_distribution_score(obs + 5, obs, w) == pytest.approx(1.0)
    assert spatial_distribution_score(2 * obs, obs, w) == pytest.approx(2 * 2 / (2 + 0.5) ** 2)
    assert spatial_distribution_score(-obs, obs, w) == pytest.approx(0.0)


def test_kendall_tau_ranks():
    a = np.array([0.5, 0.3, 0.2])
    assert weighted_kendall_tau(a, a) == pytest.approx(1.0)
    assert weighted_kendall_tau(a[::-1], a) < 0


def test_overall_says_how_many_components_it_rests_on():
    assert weighted_overall({"a": 1.0, "b": np.nan}, {"a": 1, "b": 3}) == (1.0, 1)
    assert weighted_overall({"a": 1.0, "b": 0.0}, {"a": 1, "b": 3}) == (pytest.approx(0.25), 2)
    value, count = weighted_overall({"a": np.nan}, {"a": 1})
    assert np.isnan(value) and count == 0


def test_nearest_neighbour_outliers_finds_the_odd_one_out():
    points = np.array([0.0, 0.05, 0.1, 0.9])
    distances = np.abs(points[:, None] - points[None, :])
    assert nearest_neighbour_outliers(distances, floor=0.1) == [3]
    # evenly spread members: nobody is an outlier
    even = np.abs(np.arange(4.0)[:, None] - np.arange(4.0)[None, :])
    assert nearest_neighbour_outliers(even, floor=0.1) == []
    # two members cannot be told apart
    assert nearest_neighbour_outliers(distances[:2, :2] + np.array([[0, 5], [5, 0]]), floor=0.1) == []


def test_leave_one_out_tolerance_is_robust_and_floored():
    assert leave_one_out_tolerance([0.1, 0.12, 0.9], [], 0.05) == pytest.approx(0.12)
    assert leave_one_out_tolerance([], [], 0.05) == 0.05
    assert leave_one_out_tolerance([0.01], [0.2], 0.05) == pytest.approx(0.2)


# ------------------------------------------------------------ the envelope


def _explained(shares, curves, r2=0.8, boot=0):
    shares = np.asarray(shares, float)
    curves = np.asarray(curves, float)
    return Explained(shares, curves, np.repeat(shares[None], boot, 0), np.repeat(curves[None], boot, 0), r2)


def _region(explained: dict, fields: dict, products: list) -> RegionData:
    shape = next(iter(fields.values())).shape
    return RegionData("test", np.ones(shape, bool), np.ones(shape), fields, explained, products)


BASE_CURVES = np.array([np.linspace(-1, 1, 8), np.linspace(0.5, -0.5, 8), np.zeros(8) + np.linspace(0, 0.1, 8)])


def _world(outlier: bool = False, misread: bool = False):
    rng = np.random.default_rng(3)
    truth = np.exp(rng.normal(2.5, 0.5, size=(20, 30)))
    shares = {"A": [0.5, 0.3, 0.2], "B": [0.45, 0.35, 0.2], "C": [0.5, 0.25, 0.25]}
    explained = {name: _explained(s, BASE_CURVES * (1 + 0.05 * i)) for i, (name, s) in enumerate(shares.items())}
    fields = {name: truth * np.exp(rng.normal(0, 0.1, truth.shape)) for name in shares}
    if outlier:
        explained["D"] = _explained([0.05, 0.05, 0.9], -BASE_CURVES)
        fields["D"] = truth.copy()
    if misread:
        explained["E"] = _explained([0.5, 0.3, 0.2], BASE_CURVES)
        fields["E"] = 10 * truth
    return explained, fields, list(explained)


def test_an_outlier_product_is_flagged_and_does_not_set_the_tolerance():
    explained, fields, products = _world()
    clean = build_envelope(_region(explained, fields, products), SETTINGS)
    explained, fields, products = _world(outlier=True)
    envelope = build_envelope(_region(explained, fields, products), SETTINGS)
    assert [(f["product"], f["flag"]) for f in envelope.flags] == [("D", "outlier")]
    assert "D" not in envelope.driver_products
    assert envelope.tolerance["importance"] == pytest.approx(clean.tolerance["importance"])
    assert envelope.tolerance["response"] == pytest.approx(clean.tolerance["response"])


def test_a_product_with_a_units_error_is_flagged_and_kept_out_of_the_stock_consensus():
    explained, fields, products = _world()
    clean = _region(explained, fields, products)
    explained, fields, products = _world(misread=True)
    misread = _region(explained, fields, products)
    envelope = build_envelope(misread, SETTINGS)
    assert [(f["product"], f["flag"]) for f in envelope.flags] == [("E", "suspect_units")]
    model = fields["A"] * 1.2
    for region in (clean, misread):
        region.fields["M"] = model
        region.explained["M"] = _explained([0.5, 0.3, 0.2], BASE_CURVES)
    with_it, _ = score_candidate(Candidate(misread.explained["M"], model), envelope, SETTINGS)
    without, _ = score_candidate(Candidate(clean.explained["M"], model), build_envelope(clean, SETTINGS), SETTINGS)
    for metric in ("total_stock", "ilamb_bias", "spatial_distribution"):
        assert with_it[metric] == pytest.approx(without[metric], abs=1e-12)


def test_a_copy_of_a_product_scores_exactly_its_ceiling():
    explained, fields, products = _world(outlier=True)
    region = _region(explained, fields, products)
    region.explained["COPY"], region.fields["COPY"] = explained["B"], fields["B"]
    # a model unlike B: other driver shares and curves, SOC 1.6 times B's
    region.explained["OTHER"] = _explained([0.1, 0.2, 0.7], -BASE_CURVES)
    region.fields["OTHER"] = fields["B"] * 1.6
    result = score_region(region, ["COPY", "OTHER"], SETTINGS)
    copy = {r["metric"]: r["value"] for r in result.scores if r["model"] == "COPY"}
    other = {r["metric"]: r["value"] for r in result.scores if r["model"] == "OTHER"}
    ceiling = {r["metric"]: r["value"] for r in result.ceiling if r["product"] == "B"}
    for metric, value in copy.items():
        np.testing.assert_allclose(value, ceiling[metric], atol=1e-12, err_msg=metric)
    for metric in ("overall", "importance", "response", "total_stock"):  # the scores tell the two apart
        assert other[metric] < copy[metric] - 0.05, metric


def test_an_unreliable_model_emulator_withholds_its_driver_scores():
    explained, fields, products = _world()
    region = _region(explained, fields, products)
    region.explained["NOISE"] = _explained([0.5, 0.3, 0.2], BASE_CURVES, r2=0.05)
    region.fields["NOISE"] = fields["A"]
    result = score_region(region, ["NOISE"], SETTINGS)
    scores = {r["metric"]: r["value"] for r in result.scores}
    reasons = {r["metric"]: r["reason"] for r in result.assessments if r["status"] == "withheld"}
    assert reasons == {"importance": "model_emulator_unreliable", "response": "model_emulator_unreliable"}
    assert np.isnan(scores["importance"]) and np.isnan(scores["response"])
    assert scores["explained_variance"] < 0.5  # what the drivers explain is still judged
    assert scores["overall_components"] == 4


def test_products_that_cannot_discriminate_withhold_the_driver_scores_for_everyone():
    rng = np.random.default_rng(5)
    spread = {"A": [0.7, 0.2, 0.1], "B": [0.1, 0.7, 0.2], "C": [0.2, 0.1, 0.7]}
    explained = {name: _explained(s, rng.normal(size=(3, 8))) for name, s in spread.items()}
    fields = {name: np.exp(rng.normal(2, 0.3, (10, 10))) for name in "ABC"}
    region = _region(explained, fields, list("ABC"))
    region.explained["M"], region.fields["M"] = _explained([1 / 3] * 3, np.zeros((3, 8))), fields["A"]
    result = score_region(region, ["M"], SETTINGS)
    reasons = {r["metric"]: r["reason"] for r in result.assessments if r["status"] == "withheld"}
    assert reasons.get("importance") == "products_cannot_discriminate"
    assert reasons.get("response") == "products_cannot_discriminate"


def test_unreliable_products_withhold_the_driver_scores():
    explained, fields, products = _world()
    for product in products:
        explained[product].cv_r2 = 0.1
    region = _region(explained, fields, products)
    region.explained["M"], region.fields["M"] = _explained([0.5, 0.3, 0.2], BASE_CURVES), fields["A"]
    result = score_region(region, ["M"], SETTINGS)
    reasons = {r["metric"]: r["reason"] for r in result.assessments if r["status"] == "withheld"}
    assert reasons == {"importance": "products_unreliable", "response": "products_unreliable"}


def test_a_region_without_products_is_not_assessed():
    explained, fields, _ = _world()
    region = _region({"M": explained["A"]}, {"M": fields["A"]}, [])
    result = score_region(region, ["M"], SETTINGS)
    assert {r["reason"] for r in result.assessments} == {"no_observations"}
    overall = [r["value"] for r in result.scores if r["metric"] == "overall"]
    assert np.isnan(overall[0])


def test_the_null_reference_is_scored_against_the_same_envelope():
    explained, fields, products = _world()
    result = score_region(_region(explained, fields, products), [], SETTINGS)
    null = {r["metric"]: r["value"] for r in result.nulls}
    ceiling = min(r["value"] for r in result.ceiling if r["metric"] == "importance")
    assert null["importance"] < ceiling
    assert null["explained_variance"] < 0.5
    assert null["total_stock"] == pytest.approx(1.0)  # a uniform field holding the observed mean
    assert null["spatial_distribution"] == 0.0


def test_a_component_that_cannot_be_computed_is_withheld_with_a_reason():
    """A model field with no valid cell where the products are valid: its field scores are
    NaN with a reason, not silently left out of overall."""
    explained, fields, products = _world()
    region = _region(explained, fields, products)
    region.explained["M"], region.fields["M"] = explained["A"], np.full_like(fields["A"], np.nan)
    result = score_region(region, ["M"], SETTINGS)
    reasons = {r["metric"]: r["reason"] for r in result.assessments if r["status"] == "withheld"}
    assert reasons == {metric: "not_computable" for metric in ("total_stock", "ilamb_bias", "spatial_distribution")}
    scores = {r["metric"]: r["value"] for r in result.scores}
    assert scores["overall_components"] == 3
