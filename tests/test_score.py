"""The envelope and candidate scoring on hand-made regions, with two, three and four products."""

import numpy as np
import pytest

from socbench.assemble import settings_from
from socbench.definition import LearnerSpec, ScoreSpec
from socbench.envelope import emulator_reliable
from socbench.score import (
    Candidate,
    Explained,
    RegionData,
    build_envelope,
    score_candidate,
    score_region,
)

SETTINGS = settings_from(ScoreSpec(), LearnerSpec())
CURVES = np.array([np.linspace(-1, 1, 8), np.linspace(0.5, -0.5, 8), np.linspace(0, 0.3, 8) ** 2])
SHARES = [0.5, 0.3, 0.2]
TRUTH = np.exp(np.random.default_rng(3).normal(2.5, 0.5, size=(20, 30)))


def _explained(shares=SHARES, curves=CURVES, r2=0.4, fit_r2=None, boot=0):
    shares, curves = np.asarray(shares, float), np.asarray(curves, float)
    return Explained(shares, curves, np.repeat(shares[None], boot, 0), np.repeat(curves[None], boot, 0), r2,
                     r2 if fit_r2 is None else fit_r2)


def _region(explained: dict, fields: dict, products: list) -> RegionData:
    shape = next(iter(fields.values())).shape
    return RegionData("test", np.ones(shape, bool), np.ones(shape), fields, explained, products)


def _products(n: int, stock_factors=None, share_sets=None) -> tuple[dict, dict, list]:
    rng = np.random.default_rng(n)
    names = list("ABCD")[:n]
    stock_factors = stock_factors or [1.0] * n
    share_sets = share_sets or [[0.5, 0.3, 0.2], [0.45, 0.35, 0.2], [0.5, 0.25, 0.25], [0.48, 0.3, 0.22]][:n]
    explained = {p: _explained(s, CURVES * (1 + 0.05 * i)) for i, (p, s) in enumerate(zip(names, share_sets))}
    fields = {p: f * TRUTH * np.exp(rng.normal(0, 0.05, TRUTH.shape)) for p, f in zip(names, stock_factors)}
    return explained, fields, names


def _score(region: RegionData, name: str, explained=None, field=None) -> tuple[dict, dict]:
    region.explained[name] = explained if explained is not None else _explained()
    region.fields[name] = field if field is not None else TRUTH
    result = score_region(region, [name], SETTINGS)
    scores = {r["metric"]: r["value"] for r in result.scores}
    status = {r["metric"]: (r["status"], r["reason"]) for r in result.assessments}
    return scores, status


# ------------------------------------------------------------ units rule (issue 15, item 1)


def test_a_units_error_is_flagged_alone_with_three_products_and_models_stay_graded():
    explained, fields, products = _products(3, stock_factors=[1.0, 1.05, 10.0])
    envelope = build_envelope(_region(explained, fields, products), SETTINGS)
    assert [(f["product"], f["flag"]) for f in envelope.flags] == [("C", "suspect_units")]
    assert envelope.stock_products == ["A", "B"]
    consensus = (fields["A"] + fields["B"]) / 2
    stock = {}
    for factor in (1.0, 2.0, 4.0):
        scores, _ = _score(_region(*_products(3, stock_factors=[1.0, 1.05, 10.0])), "M", field=factor * consensus)
        stock[factor] = (scores["total_stock"], scores["ilamb_bias"])
    assert stock[1.0][0] == pytest.approx(1.0)
    assert stock[1.0][0] > stock[2.0][0] > stock[4.0][0]
    assert stock[1.0][1] > stock[2.0][1] > stock[4.0][1]


def test_two_products_that_disagree_beyond_the_units_limit_withhold_the_field_scores():
    scores, status = _score(_region(*_products(2, stock_factors=[1.0, 10.0])), "M", field=5.5 * TRUTH)
    for component in ("total_stock", "ilamb_bias", "spatial_distribution"):
        assert status[component] == ("withheld", "products_disagree")
        assert np.isnan(scores[component])


def test_two_products_that_agree_are_not_flagged():
    envelope = build_envelope(_region(*_products(2, stock_factors=[1.0, 1.5])), SETTINGS)
    assert envelope.flags == [] and "total_stock" not in envelope.withheld


# ------------------------------------------------------------ tolerances (item 2)


def test_the_stock_tolerance_is_the_products_range_around_their_consensus():
    """Products at 1.0x and 1.5x: a model at 1.75x, above both, is outside; at 1.2x it is inside."""
    outside, _ = _score(_region(*_products(2, stock_factors=[1.0, 1.5])), "M", field=1.75 * TRUTH)
    inside, _ = _score(_region(*_products(2, stock_factors=[1.0, 1.5])), "M", field=1.2 * TRUTH)
    assert inside["total_stock"] == pytest.approx(1.0)
    assert outside["total_stock"] < 0.9


def test_a_model_beyond_one_of_two_products_in_share_space_is_outside_the_tolerance():
    a, b = np.array([0.6, 0.3, 0.1]), np.array([0.4, 0.3, 0.3])  # 0.2 apart
    beyond = a + (a - b) / 2  # 0.1 from A, 0.3 from B
    region = _region(*_products(2, share_sets=[a, b]))
    scores, _ = _score(region, "M", explained=_explained(beyond))
    assert scores["importance"] < 1.0
    between, _ = _score(_region(*_products(2, share_sets=[a, b])), "M", explained=_explained((a + b) / 2))
    assert between["importance"] == 1.0


# ------------------------------------------------------------ reliability (items 3 and 4)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_unreliable_products_withhold_the_driver_scores(n):
    explained, fields, products = _products(n)
    for product in products:
        explained[product].fit_r2 = 0.1
    _, status = _score(_region(explained, fields, products), "M")
    for component in ("importance", "response", "sensitivity", "explained_variance"):
        assert status[component] == ("withheld", "products_unreliable")


def test_a_nan_product_r2_counts_as_unreliable():
    explained, fields, products = _products(3)
    for product, r2 in zip(products, (0.1, 0.1, np.nan)):
        explained[product].fit_r2 = r2
    _, status = _score(_region(explained, fields, products), "M")
    assert status["importance"] == ("withheld", "products_unreliable")
    explained, fields, products = _products(3)
    explained["C"].fit_r2 = np.nan  # two finite, reliable products remain
    _, status = _score(_region(explained, fields, products), "M")
    assert status["importance"][0] == "scored"


def test_the_reliability_rule_treats_nan_as_unreliable():
    assert emulator_reliable(0.3, 0.2) and not emulator_reliable(0.1, 0.2) and not emulator_reliable(np.nan, 0.2)


# ------------------------------------------------------------ no escape, null, overall (issue 14)


def test_a_poor_emulator_is_no_escape():
    """A wrong-driver model just under the floor used to be withheld and rank first on fewer components."""
    explained, fields, products = _products(3)
    wrong = dict(shares=[0.05, 0.15, 0.8], curves=-CURVES[::-1])
    reliable, _ = _score(_region(*_products(3)), "W", explained=_explained(**wrong, r2=0.9))
    poor, status = _score(_region(explained, fields, products), "W", explained=_explained(**wrong, r2=0.15))
    assert status["importance"] == ("capped", "model_emulator_unreliable")
    assert poor["overall"] <= reliable["overall"]
    assert poor["overall_components"] == reliable["overall_components"]
    faithful_but_poor, _ = _score(_region(*_products(3)), "F", explained=_explained(r2=0.15))
    null = {r["metric"]: r["value"] for r in score_region(_region(*_products(3)), [], SETTINGS).nulls}
    for component in ("importance", "response", "sensitivity"):
        assert faithful_but_poor[component] <= null[component] + 1e-12


def test_spatial_distribution_is_withheld_where_the_products_share_no_pattern():
    """Products that are each the truth's mean times their own noise share no pattern to judge a field by."""
    explained, _, products = _products(3)
    rng = np.random.default_rng(7)
    noise_only = {p: TRUTH.mean() * np.exp(rng.normal(0, 0.5, TRUTH.shape)) for p in products}
    _, status = _score(_region(explained, noise_only, products), "M")
    assert status["spatial_distribution"] == ("withheld", "products_unreliable")
    _, status = _score(_region(*_products(3)), "M")
    assert status["spatial_distribution"] == ("scored", "")


def test_a_model_whose_reasons_cannot_be_read_ranks_no_higher_than_knowing_nothing():
    """Its field is the truth (field scores ~1), yet its overall is the null reference's."""
    poor, status = _score(_region(*_products(3)), "P", explained=_explained(r2=0.15))
    null = {r["metric"]: r["value"] for r in score_region(_region(*_products(3)), [], SETTINGS).nulls}
    assert status["total_stock"] == ("scored", "") and poor["total_stock"] == pytest.approx(1.0)
    assert poor["overall"] == pytest.approx(null["overall"])
    assert poor["spatial_distribution"] > 0.9 and poor["overall"] < 0.3


def test_the_null_uses_nothing_of_the_observations_answer():
    result = score_region(_region(*_products(3)), [], SETTINGS)
    null = {r["metric"]: r["value"] for r in result.nulls}
    for component in ("total_stock", "ilamb_bias", "spatial_distribution"):
        assert np.isnan(null[component])
    assert null["importance"] <= 0.25 and null["response"] == 0.0 and null["sensitivity"] == 0.0
    faithful, _ = _score(_region(*_products(3)), "F")
    assert faithful["overall"] > null["overall"]


def test_a_model_at_least_as_good_as_the_null_everywhere_is_above_it():
    """The null's undefined components count 0, as a model's missing ones do."""
    flat = _explained(shares=[1 / 3] * 3, curves=np.zeros_like(CURVES), r2=0.0, fit_r2=0.4)
    scores, _ = _score(_region(*_products(3)), "FLAT", explained=flat, field=0.2 * TRUTH)
    null = {r["metric"]: r["value"] for r in score_region(_region(*_products(3)), [], SETTINGS).nulls}
    assert scores["overall"] > null["overall"]


def test_shape_apart_from_sensitivity():
    """Right shape at 2x and 4x the amplitude keeps its shape score; flat is the null's, the lowest, as mirrored."""
    one_right = 0 * CURVES
    one_right[0] = CURVES[0]
    results = {}
    curves_by_name = {"2x": 2 * CURVES, "4x": 4 * CURVES, "flat": 0 * CURVES, "mirrored": -CURVES, "one": one_right}
    for name, curves in curves_by_name.items():
        results[name], _ = _score(_region(*_products(3)), name, explained=_explained(curves=curves))
    assert results["2x"]["response"] == 1.0 and results["4x"]["response"] == 1.0
    assert results["flat"]["response"] == 0.0 and results["mirrored"]["response"] == 0.0
    assert 0.0 < results["one"]["response"] < 1.0
    assert 1.0 > results["2x"]["sensitivity"] > results["4x"]["sensitivity"] > 0
    assert results["2x"]["sensitivity_distance"] == pytest.approx(1 - 1.05 / 2, abs=0.03)


def test_overall_rests_on_the_same_components_for_everyone():
    explained, fields, products = _products(3)
    region = _region(explained, fields, products)
    region.explained.update(M=_explained(), N=_explained())
    region.fields.update(M=TRUTH, N=np.full_like(TRUTH, np.nan))  # N has no valid field
    result = score_region(region, ["M", "N"], SETTINGS)
    scores = {(r["model"], r["metric"]): r["value"] for r in result.scores}
    status = {(r["model"], r["metric"]): r["reason"] for r in result.assessments}
    assert status[("N", "total_stock")] == "not_computable"
    assert scores[("M", "overall_components")] == scores[("N", "overall_components")]
    assert scores[("N", "overall")] < scores[("M", "overall")]


def test_a_region_without_products_is_not_assessed():
    region = _region({"M": _explained()}, {"M": TRUTH}, [])
    result = score_region(region, ["M"], SETTINGS)
    assert {r["reason"] for r in result.assessments} == {"no_observations"}
    assert np.isnan([r["value"] for r in result.scores if r["metric"] == "overall"][0])


# ------------------------------------------------------------ outliers and ceiling (items 5 and 6)


def test_an_outlier_product_is_flagged_and_does_not_set_the_tolerance():
    explained, fields, products = _products(3)
    clean = build_envelope(_region(explained, fields, products), SETTINGS)
    explained, fields, products = _products(3)
    explained["D"], fields["D"] = _explained([0.05, 0.05, 0.9], -CURVES), TRUTH.copy()
    envelope = build_envelope(_region(explained, fields, products + ["D"]), SETTINGS)
    assert [(f["product"], f["flag"]) for f in envelope.flags] == [("D", "outlier")]
    assert "D" not in envelope.driver_products
    assert envelope.tolerance["importance"] == pytest.approx(clean.tolerance["importance"])


def test_two_products_always_remain_when_each_metric_would_flag_another():
    """Of three products, B is far from A and C on shares and C far from A and B on curves (mirrored): flagged on each metric over all three, only A was left, and the consensus was A's alone."""
    explained = {"A": _explained(), "B": _explained([0.1, 0.1, 0.8]), "C": _explained([0.52, 0.28, 0.2], -CURVES)}
    envelope = build_envelope(_region(explained, {p: TRUTH for p in "ABC"}, list("ABC")), SETTINGS)
    assert [(f["product"], f["flag"]) for f in envelope.flags] == [("B", "outlier")]
    assert "importance distance" in envelope.flags[0]["detail"]
    assert envelope.driver_products == ["A", "C"]


def test_the_ceiling_scores_each_product_against_the_others():
    """Two identical products agree perfectly; a product far from the other two scores low."""
    explained, fields, products = _products(2, share_sets=[SHARES, SHARES])
    explained["B"] = explained["A"]
    same = score_region(_region(explained, fields, products), [], SETTINGS)
    assert all(r["value"] == 1.0 for r in same.ceiling if r["metric"] == "importance")
    explained, fields, products = _products(3, share_sets=[SHARES, SHARES, [0.1, 0.1, 0.8]])
    mixed = score_region(_region(explained, fields, products), [], SETTINGS)
    importance = {r["product"]: r["value"] for r in mixed.ceiling if r["metric"] == "importance"}
    assert importance["C"] < importance["A"]


def test_products_that_cannot_discriminate_withhold_the_driver_scores_for_everyone():
    rng = np.random.default_rng(5)
    share_sets = [[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]]
    explained = {p: _explained(s, rng.normal(size=(3, 8))) for p, s in zip("ABC", share_sets)}
    fields = {p: TRUTH for p in "ABC"}
    _, status = _score(_region(explained, fields, list("ABC")), "M")
    assert status["importance"] == ("withheld", "products_cannot_discriminate")
    assert status["response"] == ("withheld", "products_cannot_discriminate")


def _unstable(concentration: float) -> RegionData:
    explained, fields, products = _products(3)
    rng = np.random.default_rng(0)
    for product in products:
        boot = rng.dirichlet(np.ones(3) * concentration, size=8)
        explained[product] = Explained(explained[product].shares, CURVES, boot, np.repeat(CURVES[None], 8, 0), 0.4, 0.4)
    return _region(explained, fields, products)


def test_unstable_products_are_unreliable():
    """Products that agree with each other but whose own bootstrap replicates reach the null."""
    _, status = _score(_unstable(0.1), "M")
    assert status["importance"] == ("withheld", "products_unreliable")


def test_less_unstable_products_carry_part_of_the_weight():
    """Bootstrap spreads between 1 and 1.5 null distances: scored, with part of its weight in overall."""
    envelope = build_envelope(_unstable(0.5), SETTINGS)
    assert "importance" not in envelope.withheld
    assert 0.0 < envelope.overall_fraction["importance"] < 1.0
    weights = envelope.overall_weights(SETTINGS.weights)
    assert weights["importance"] == pytest.approx(SETTINGS.weights["importance"] * envelope.overall_fraction["importance"])


def test_the_judged_drivers_are_those_the_products_agree_on():
    explained, fields, products = _products(3)
    rng = np.random.default_rng(2)
    for product in products:  # the third driver's curve is noise, different in every product
        explained[product].curves = explained[product].curves.copy()
        explained[product].curves[2] = rng.normal(size=8)
    envelope = build_envelope(_region(explained, fields, products), SETTINGS)
    assert envelope.judged.tolist() == [True, True, False]


def test_candidate_scores_name_the_capped_components():
    envelope = build_envelope(_region(*_products(3)), SETTINGS)
    result = score_candidate(Candidate(_explained(r2=0.05), TRUTH), envelope, SETTINGS)
    assert result.capped == ["importance", "response", "sensitivity"]
    assert len(result.drivers) == 3 and result.drivers[0]["shape_correlation"] == pytest.approx(1.0, abs=0.01)
