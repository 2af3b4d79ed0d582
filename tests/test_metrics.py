"""The metric functions in isolation: arrays in, numbers out."""

import numpy as np
import pytest

from socbench.metrics import (
    amplitude_ratio,
    collinear_groups,
    curve_correlation,
    graded_score,
    group_shares,
    ilamb_bias_score,
    log_ratio_outliers,
    nearest_neighbour_outliers,
    relative_stock_score,
    sensitivity_distance,
    shape_distance,
    shared_signal,
    signal_spatial_score,
    total_variation,
    weighted_kendall_tau,
    weighted_overall,
)

CURVES = np.array([np.linspace(-1, 1, 10), np.sin(np.linspace(0, 3, 10)), np.linspace(0.3, -0.3, 10) ** 3])
SHARES = np.array([0.5, 0.3, 0.2])


def test_total_variation_is_zero_for_equal_and_one_for_disjoint_shares():
    a = np.array([0.5, 0.5, 0.0])
    assert total_variation(a, a) == 0
    assert total_variation(a, np.array([0.0, 0.0, 1.0])) == pytest.approx(1.0)
    assert total_variation(a, np.array([0.5, 0.0, 0.5])) == pytest.approx(0.5)


def test_grouped_shares_do_not_see_credit_traded_inside_a_group():
    a, b = np.array([0.6, 0.1, 0.3]), np.array([0.1, 0.6, 0.3])
    assert total_variation(a, b) == pytest.approx(0.5)
    groups = [[0, 1], [2]]
    np.testing.assert_allclose(group_shares(a, groups), [0.7, 0.3])
    assert total_variation(group_shares(a, groups), group_shares(b, groups)) == pytest.approx(0.0)


def test_collinear_groups_join_strongly_correlated_drivers_only():
    rng = np.random.default_rng(0)
    t = rng.normal(size=2000)
    drivers = np.stack([t, 0.95 * t + 0.2 * rng.normal(size=2000), rng.normal(size=2000), -t + 0.1 * rng.normal(size=2000)])
    assert collinear_groups(drivers, np.ones(2000), 0.8) == [[0, 1, 3], [2]]
    assert collinear_groups(drivers, np.ones(2000), 1.01) == [[0], [1], [2], [3]]


def test_curve_correlation_reads_shape_not_amplitude():
    np.testing.assert_allclose(curve_correlation(CURVES, CURVES), 1.0)
    np.testing.assert_allclose(curve_correlation(4 * CURVES, CURVES), 1.0)
    np.testing.assert_allclose(curve_correlation(-CURVES, CURVES), -1.0)
    np.testing.assert_allclose(curve_correlation(np.zeros_like(CURVES), CURVES), 0.0)


def test_shape_distance_same_flat_mirrored():
    assert shape_distance(CURVES, CURVES, SHARES) == pytest.approx(0.0)
    assert shape_distance(3 * CURVES, CURVES, SHARES) == pytest.approx(0.0)
    assert shape_distance(np.zeros_like(CURVES), CURVES, SHARES) == pytest.approx(0.5)
    assert shape_distance(-CURVES, CURVES, SHARES) == pytest.approx(1.0)
    one_mirrored = CURVES.copy()
    one_mirrored[1] *= -1
    assert shape_distance(one_mirrored, CURVES, SHARES) == pytest.approx(0.3)


def test_amplitude_ratio_and_sensitivity_distance():
    np.testing.assert_allclose(amplitude_ratio(2 * CURVES, CURVES), 2.0)
    np.testing.assert_allclose(amplitude_ratio(-0.5 * CURVES, CURVES), 0.5)
    assert sensitivity_distance(2 * CURVES, CURVES, SHARES) == pytest.approx(0.5)
    assert sensitivity_distance(0.5 * CURVES, CURVES, SHARES) == pytest.approx(0.5)
    assert sensitivity_distance(4 * CURVES, CURVES, SHARES) == pytest.approx(0.75)
    assert sensitivity_distance(np.zeros_like(CURVES), CURVES, SHARES) == pytest.approx(1.0)
    assert sensitivity_distance(CURVES, CURVES, SHARES) == pytest.approx(0.0)
    assert np.isnan(amplitude_ratio(CURVES, np.zeros_like(CURVES))).all()


def test_graded_score_anchors_the_null_and_keeps_bad_and_very_bad_apart():
    assert graded_score(0.04, 0.05, 1.0, 2.0, 0.5) == 1.0
    assert graded_score(0.5, 0.05, 1.0, 2.0, 0.5) == pytest.approx(0.25)
    assert graded_score(1.0, 0.05, 1.0, 2.0, 0.5) == 0.0
    assert graded_score(0.67, 0.05, 1.0, 2.0, 0.5) - graded_score(0.70, 0.05, 1.0, 2.0, 0.5) > 0.015
    assert np.isnan(graded_score(np.nan, 0.05, 1.0, 2.0))


def test_graded_score_without_null():
    assert graded_score(0.1, 0.1, 2.3, 2.0) == 1.0
    assert graded_score(np.log(2), 0.1, 2.3, 2.0) > graded_score(np.log(4), 0.1, 2.3, 2.0) > 0
    assert graded_score(2.3, 0.1, 2.3, 2.0) == 0.0


def _random_settings(rng, n):
    tolerance = 10 ** rng.uniform(-3, -0.3, n)
    null = tolerance * rng.uniform(0.2, 20, n)
    distance_max = rng.uniform(0.05, 3, n)
    power = rng.uniform(1, 4, n)
    return tolerance, null, distance_max, power


def test_graded_score_property_bounded_slope_and_continuity():
    """Over random (tolerance, null distance, distance) triples and map settings, the score is
    in [0, 1], never increases with the distance, its slope is bounded in units of the
    tolerance, it never jumps as the null distance or distance_max move, and the null scores
    at most null_score wherever it lies at least 1.5 tolerances out."""
    rng = np.random.default_rng(42)
    tolerance, null, distance_max, power = _random_settings(rng, 3000)
    factor, null_score = 1.5, 0.25
    slope_limit = max(1 - null_score, 1.0) / ((factor - 1) * tolerance)
    for t, d0, dmax, p, limit in zip(tolerance, null, distance_max, power, slope_limit):
        d = np.sort(rng.uniform(0, 2 * max(dmax, d0), 40))
        for null_distance in (d0, None):
            s = np.array([graded_score(x, t, dmax, p, null_distance, null_score, factor) for x in d])
            assert np.all((s >= 0) & (s <= 1))
            assert np.all(np.diff(s) <= 1e-12)
            step = 1e-6 * t
            s2 = np.array([graded_score(x + step, t, dmax, p, null_distance, null_score, factor) for x in d])
            assert np.all((s - s2) / step <= limit * (1 + 1e-6) + 1e-9)
        for x in d:
            base = graded_score(x, t, dmax, p, d0, null_score, factor)
            assert abs(graded_score(x, t, dmax, p, d0 * (1 + 1e-7), null_score, factor) - base) < 1e-4
            assert abs(graded_score(x, t, dmax * (1 + 1e-7), p, d0, null_score, factor) - base) < 1e-4
            assert abs(graded_score(x, t * (1 + 1e-7), dmax, p, d0, null_score, factor) - base) < 1e-4
        if d0 >= factor * t:
            assert graded_score(d0, t, dmax, p, d0, null_score, factor) <= null_score + 1e-12


def test_graded_score_has_no_jump_where_the_old_map_had_two():
    """The old map jumped from 0.077 to 0.309 as the null distance crossed the tolerance, and
    to 0 when distance_max fell below the null distance."""
    below = graded_score(0.3, 0.1, 1.0, 2.0, 0.1 - 1e-9)
    above = graded_score(0.3, 0.1, 1.0, 2.0, 0.1 + 1e-9)
    assert abs(below - above) < 1e-6
    assert graded_score(0.25, 0.05, 0.2, 2.0, 0.21) > 0
    assert abs(graded_score(0.25, 0.05, 0.2, 2.0, 0.21) - graded_score(0.25, 0.05, 0.2001, 2.0, 0.21)) < 1e-3


def test_relative_stock_score():
    assert relative_stock_score(100, 100, 0) == 1.0
    assert relative_stock_score(110, 100, 0.2) == 1.0
    assert relative_stock_score(200, 100, 0) == pytest.approx(np.exp(-1))
    assert relative_stock_score(200, 100, 0.5) == pytest.approx(np.exp(-0.5))


def test_ilamb_bias_area_and_mass_weighting():
    reference = np.array([2.0, 20.0])
    model = reference + 2.0  # +2 kg m-2 everywhere
    area = np.ones(2)
    per_cell = np.exp(-2.0 / reference)
    assert ilamb_bias_score(model, reference, area) == pytest.approx(per_cell.mean())
    assert ilamb_bias_score(model, reference, area, mass_weighted=True) == pytest.approx(
        np.average(per_cell, weights=reference)
    )


def test_spatial_score_is_ilambs_taylor_score_when_the_products_have_no_noise():
    rng = np.random.default_rng(1)
    obs = rng.normal(size=500)
    w = np.ones(500)
    signal = float(np.var(obs))
    assert signal_spatial_score(obs, obs, w, signal) == pytest.approx(1.0)
    assert signal_spatial_score(obs + 5, obs, w, signal) == pytest.approx(1.0)
    assert signal_spatial_score(2 * obs, obs, w, signal) == pytest.approx(2 * 2 / (2 + 0.5) ** 2)
    assert signal_spatial_score(-obs, obs, w, signal) == pytest.approx(0.0)
    assert np.isnan(signal_spatial_score(obs, obs, w, 0.0))


def test_spatial_score_sees_the_pattern_through_the_products_noise():
    """Three products = truth + independent noise of 3x its spread: the truth scores ~1, noise <= 0.5."""
    rng = np.random.default_rng(2)
    n = 20000
    truth = rng.normal(size=n)
    products = np.array([truth + 3.0 * rng.normal(size=n) for _ in range(3)])
    w = rng.uniform(0.5, 1.5, size=n)
    signal, fraction = shared_signal(products, w)
    assert signal == pytest.approx(1.0, abs=0.1)
    assert fraction == pytest.approx(0.1, abs=0.02)
    centre = products.mean(axis=0)
    assert signal_spatial_score(truth, centre, w, signal) > 0.97
    assert signal_spatial_score(2 * truth, centre, w, signal) == pytest.approx(0.64, abs=0.05)
    assert signal_spatial_score(rng.normal(size=n), centre, w, signal) < 0.52
    assert signal_spatial_score(-truth, centre, w, signal) < 0.02
    assert shared_signal(products[:1], w) == (pytest.approx(np.average((products[0] - np.average(products[0], weights=w)) ** 2, weights=w)), 1.0)
    # against the noisy mean itself, the truth scored ~0.6 and a field with the mean's spread as much
    assert signal_spatial_score(truth, centre, w, float(np.var(centre))) < 0.75


def test_kendall_tau_ranks():
    assert weighted_kendall_tau(SHARES, SHARES) == pytest.approx(1.0)
    assert weighted_kendall_tau(SHARES[::-1], SHARES) < 0


def test_overall_counts_a_missing_component_as_zero():
    weights = {"a": 1, "b": 3}
    assert weighted_overall({"a": 1.0, "b": np.nan}, weights, ["a", "b"]) == pytest.approx(0.25)
    assert weighted_overall({"a": 1.0, "b": np.nan}, weights, ["a"]) == pytest.approx(1.0)
    assert np.isnan(weighted_overall({"a": 1.0}, weights, []))


def test_nearest_neighbour_outliers_finds_the_odd_one_out():
    points = np.array([0.0, 0.05, 0.1, 0.9])
    distances = np.abs(points[:, None] - points[None, :])
    assert nearest_neighbour_outliers(distances, floor=0.1) == [3]
    even = np.abs(np.arange(4.0)[:, None] - np.arange(4.0)[None, :])
    assert nearest_neighbour_outliers(even, floor=0.1) == []
    assert nearest_neighbour_outliers(distances[:2, :2] + np.array([[0, 5], [5, 0]]), floor=0.1) == []


@pytest.mark.parametrize(
    "stocks, flagged, consistent",
    [
        ([100, 110, 1000], [2], True),  # the t/ha versus kg m-2 mix-up, three products
        ([100, 1000], [], False),  # two products: neither can be singled out
        ([100, 150], [], True),
        ([100, 110, 1000, 1100], [], False),  # half would be flagged: none is
        ([100, 105, 95, 1000], [3], True),
        ([10, 100, 105, 95], [0], True),  # too small counts as much as too large
    ],
)
def test_log_ratio_outliers_compare_with_the_median_of_all(stocks, flagged, consistent):
    assert log_ratio_outliers(np.array(stocks, float), 3.0) == (flagged, consistent)


def test_a_curve_of_negligible_amplitude_counts_as_flat_whatever_its_sign():
    """Replicates of a model with no clay response had clay curves at 1 % of the observed
    amplitude with correlations of -0.77, +0.00 and -0.46: the sign was noise."""
    from socbench.metrics import shape_correlation

    wiggle = 0.01 * np.array([np.linspace(1, -1, 10), np.cos(np.linspace(0, 3, 10)), np.linspace(-0.3, 0.3, 10) ** 3])
    np.testing.assert_allclose(shape_correlation(wiggle, CURVES), 0.0)
    np.testing.assert_allclose(shape_correlation(-CURVES, CURVES), -1.0)
    np.testing.assert_allclose(shape_correlation(5 * CURVES, CURVES), 1.0)
    half = shape_correlation(0.275 * CURVES, CURVES)
    np.testing.assert_allclose(half, 0.5)


def test_discrimination_ramps_a_component_in_without_a_jump():
    from socbench.envelope import discrimination

    tolerance, factor, ramp = 0.05, 1.5, 2.0 / 3.0
    nulls = np.linspace(0.0, 0.1, 201)
    values = np.array([discrimination(d, tolerance, factor, ramp) for d in nulls])
    assert values[nulls <= 0.05].max() == 0.0 and values[nulls >= 0.0751].min() == 1.0
    assert np.all(np.diff(values) >= 0) and np.max(np.diff(values)) <= 0.0201  # continuous, monotone
    assert discrimination(0.0625, tolerance, factor, ramp) == pytest.approx(0.5)
    assert discrimination(0.01, 0.0, factor, ramp) == 1.0  # no spread to fear
