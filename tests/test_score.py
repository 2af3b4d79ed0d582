import numpy as np
import pytest

from socbench.score import (
    obs_obs_scale,
    response_distance,
    spatial_distribution_score,
    stock_bias_score,
    tolerance_score,
    total_variation,
    weighted_kendall_tau,
    weighted_overall,
)


def test_total_variation_bounds():
    a = np.array([0.5, 0.5, 0.0])
    assert total_variation(a, a) == 0
    assert total_variation(a, np.array([0.0, 0.0, 1.0])) == pytest.approx(1.0)


def test_tolerance_score_is_one_within_the_obs_scale():
    assert tolerance_score(0.04, 0.05, 0.01) == 1.0
    assert tolerance_score(0.15, 0.05, 0.01) == pytest.approx(np.exp(-2))
    # delta below its floor: the floor is used
    assert tolerance_score(0.15, 0.01, 0.05) == pytest.approx(np.exp(-2))


def test_response_distance_zero_for_identical_and_scale_free():
    rng = np.random.default_rng(0)
    curves = rng.normal(size=(3, 10))
    shares = np.array([0.5, 0.3, 0.2])
    assert response_distance(curves, curves, shares) == 0
    assert response_distance(2 * curves, curves, shares) == pytest.approx(1.0)


def test_response_distance_floors_flat_observed_curves():
    obs = np.vstack([np.linspace(-1, 1, 10), np.zeros(10)])
    model = obs.copy()
    model[1] = 1e-3
    assert np.isfinite(response_distance(model, obs, np.array([0.9, 0.1])))


def test_stock_bias_score():
    assert stock_bias_score(100, 100, 0) == 1.0
    assert stock_bias_score(110, 100, 20) == 1.0
    assert stock_bias_score(200, 100, 0) == pytest.approx(np.exp(-1))


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


def test_obs_scale_and_overall():
    assert obs_obs_scale([0.1, 0.3], [0.05], 0.02) == pytest.approx(0.2)
    assert obs_obs_scale([], [], 0.02) == 0.02
    assert weighted_overall({"a": 1.0, "b": np.nan}, {"a": 1, "b": 3}) == 1.0
    assert weighted_overall({"a": 1.0, "b": 0.0}, {"a": 1, "b": 3}) == pytest.approx(0.25)
