"""Emulators and explanations on tabular data with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import make_task, task_of

from socbench.emulate import (
    BinnedGradientBoosting,
    block_folds,
    block_size_from_data,
    correlation_range,
    cross_validated_r2,
    make_learner,
    spatial_blocks,
    weighted_r2,
)
from socbench.errors import DefinitionError
from socbench.explain import ale_curves, run_emulation


def run_one(task):
    (result,) = run_emulation(task)
    return result


@pytest.mark.parametrize("estimator", ["gradient_boosting", "gam"])
def test_planted_importance_order_is_recovered(estimator):
    result = run_one(make_task(estimator=estimator))
    assert list(np.argsort(-result.shares)) == [0, 1, 2, 3]
    assert result.cv_r2 > 0.9
    assert result.boot_shares.shape == (2, 4) and result.boot_curves.shape == (2, 4, 10)


def test_permutation_explainer_agrees_on_the_strongest_driver():
    result = run_one(make_task(explainer="permutation"))
    assert np.argmax(result.shares) == 0


def test_results_do_not_change_when_the_target_is_scaled():
    # ln(c * SOC) = ln c + ln SOC: an arbitrary constant (not a power of two)
    base = run_one(make_task())
    scaled = run_one(make_task(y_shift=np.log(3.7)))
    np.testing.assert_allclose(scaled.shares, base.shares, atol=1e-9)
    np.testing.assert_allclose(scaled.curves, base.curves, atol=1e-9)
    np.testing.assert_allclose(scaled.boot_shares, base.boot_shares, atol=1e-9)
    assert scaled.cv_r2 == pytest.approx(base.cv_r2, abs=1e-9)


def test_ale_curves_recover_shapes():
    task = make_task(estimator="gam")
    model = make_learner("gam", {}, 0).fit(task.X, task.y, sample_weight=task.weight)
    grids = task.grids[0]
    curves = ale_curves(model, task.X, task.weight, grids)
    np.testing.assert_allclose(curves.mean(axis=1), 0.0, atol=1e-12)  # centred
    linear = np.polyfit(grids[0], curves[0], 1)[0]
    assert linear == pytest.approx(1.0, rel=0.1)
    assert np.all(np.diff(curves[1]) > 0)  # tanh: increasing ...
    slopes = np.diff(curves[1]) / np.diff(grids[1])
    assert slopes[len(slopes) // 2] > slopes[0]  # ... steepest in the middle
    assert np.ptp(curves[3]) < 0.1  # irrelevant covariate: flat


def test_ale_centring_does_not_depend_on_the_datasets_weights():
    """Curves are centred on the shared grid (unweighted over its points), so two datasets with
    the same response but different spatial weights get the same curve, not curves shifted apart."""
    task = make_task(estimator="gam")
    model = make_learner("gam", {}, 0).fit(task.X, task.y, sample_weight=task.weight)
    skewed = np.where(task.X[:, 0] > 0, 5.0, 0.2)
    grids = task.grids[0]
    np.testing.assert_allclose(
        ale_curves(model, task.X, skewed, grids)[0], ale_curves(model, task.X, task.weight, grids)[0], atol=0.05,
    )
    assert abs(ale_curves(model, task.X, skewed, grids)[0].mean()) < 1e-12


def _field_on_sphere(wavenumber: float, n: int = 1500, seed: int = 0):
    from socbench import synth

    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-0.85, 1.0, n)))
    lon = rng.uniform(-180, 180, n)
    values = synth._smooth_field(seed, f"range{wavenumber}", lat, lon, wavenumbers=(wavenumber, wavenumber + 1))
    return values, lat, lon


def test_correlation_range_grows_with_the_size_of_the_features():
    rng = np.random.default_rng(1)
    short = correlation_range(*_field_on_sphere(14.0), rng)
    long = correlation_range(*_field_on_sphere(3.0), rng)
    white = correlation_range(rng.normal(size=1500), *_field_on_sphere(3.0)[1:], rng)
    assert white <= 2.5 < short < long
    assert long >= 25


def test_block_size_follows_the_range_within_its_limits():
    values, lat, lon = _field_on_sphere(3.0)
    rng = np.random.default_rng(2)
    large = block_size_from_data(values, lat, lon, rng, 10.0, 60.0)
    small = block_size_from_data(*_field_on_sphere(14.0), rng, 10.0, 60.0)
    assert 10.0 <= small < large <= 60.0  # larger features, larger blocks ...
    assert large >= 50.0  # ... twice the range (>= 25 degrees for these features, see above)
    assert block_size_from_data(np.random.default_rng(3).normal(size=len(lat)), lat, lon, rng, 10.0, 60.0) == 10.0
    assert block_size_from_data(values, lat, lon, rng, 10.0, 20.0) == 20.0


def test_spatial_blocks_and_cv():
    lat, lon = np.array([0.5, 9.5, 10.5, -0.5]), np.array([0.5, 9.5, 0.5, 0.5])
    blocks = spatial_blocks(lat, lon, 10.0)
    assert blocks[0] == blocks[1] != blocks[2] != blocks[3]
    task = make_task()
    model = make_learner("gradient_boosting", {"max_iter": 50}, 0)
    assert 0.8 < cross_validated_r2(model, task.X, task.y, task.weight, task.blocks, 3) <= 1.0


def test_folds_are_dealt_to_blocks_so_every_dataset_shares_them():
    blocks = np.arange(40) * 7
    fold_of = block_folds(blocks, 5, seed=3)
    assert sorted(np.bincount(list(fold_of.values()))) == [8] * 5
    assert block_folds(blocks[::-1], 5, seed=3) == fold_of  # not the order the cells come in


def _two_biomes(n=3000, noise=0.0, seed=0):
    """Two biomes: in the cold one only x0 varies, in the warm one only x1; SOC = x0 + x1 (+ noise)."""
    rng = np.random.default_rng(seed)
    lat = np.where(np.arange(n) < n // 2, rng.uniform(40, 70, n), rng.uniform(-30, 20, n))
    lon = rng.uniform(-180, 180, n)
    cold = lat > 30
    X = np.column_stack([
        np.where(cold, rng.normal(0, 1, n), 3.0 + 0.05 * rng.normal(size=n)),
        np.where(cold, 0.05 * rng.normal(size=n), rng.normal(0, 1, n) - 3.0),
    ])
    y = X[:, 0] + X[:, 1] + noise * rng.normal(size=n)
    return X, y, np.ones(n), lat, lon, {"global": np.ones(n, bool), "cold": cold, "warm": ~cold}


def test_regional_attribution_reads_the_variation_inside_each_region():
    """One fit over all land; centred SHAP in each region credits the driver that varies there."""
    results = {r.region: r for r in run_emulation(task_of(*_two_biomes()[:5], regions=_two_biomes()[5]))}
    assert results["cold"].shares[0] > 0.75 and results["warm"].shares[1] > 0.75
    assert 0.3 < results["global"].shares[0] < 0.7
    assert results["cold"].fit_r2 == results["warm"].fit_r2 > 0.9


def test_regional_attribution_survives_noise_that_kills_per_region_fits():
    """With noise three times the within-region signal, a per-region fit explains nothing,
    while the all-land fit still credits the right driver in each region."""
    X, y, w, lat, lon, regions = _two_biomes(noise=3.0)
    results = {r.region: r for r in run_emulation(task_of(X, y, w, lat, lon, regions=regions))}
    cold = regions["cold"]
    alone = run_one(task_of(X[cold], y[cold], w[cold], lat[cold], lon[cold]))
    assert alone.cv_r2 < 0.15
    assert results["cold"].shares[0] > 0.6 and results["warm"].shares[1] > 0.6


def test_collinear_drivers_trade_credit_with_noise_but_not_their_group():
    """Issue 14, item 5: one process with two drivers correlated at 0.9, fitted with and without
    observation-like noise, moved the shares by 0.126; grouped, the pair's share does not move."""
    from socbench.metrics import collinear_groups, group_shares, total_variation

    rng = np.random.default_rng(4)
    n = 3000
    lat, lon = rng.uniform(-50, 70, n), rng.uniform(-180, 180, n)
    t = rng.normal(size=n)
    X = np.column_stack([t, 0.9 * t + np.sqrt(1 - 0.81) * rng.normal(size=n), rng.normal(size=n)])
    signal = 0.6 * X[:, 0] + 0.4 * X[:, 1] + 0.5 * X[:, 2]
    clean = run_one(task_of(X, signal, np.ones(n), lat, lon, bootstraps=0))
    noisy = run_one(task_of(X, signal + 1.2 * rng.normal(size=n), np.ones(n), lat, lon, bootstraps=0))
    groups = collinear_groups(X.T, np.ones(n), 0.8)
    assert groups == [[0, 1], [2]]
    grouped = float(total_variation(group_shares(clean.shares, groups), group_shares(noisy.shares, groups)))
    assert grouped < 0.05
    assert grouped < float(total_variation(clean.shares, noisy.shares))


def test_weighted_r2():
    y = np.array([1.0, 2.0, 3.0])
    assert weighted_r2(y, y, np.ones(3)) == 1.0
    assert weighted_r2(y, np.full(3, 2.0), np.ones(3)) == 0.0


def test_unknown_learner_is_a_definition_error():
    with pytest.raises(DefinitionError, match="unknown learner 'xgb'.*gradient_boosting"):
        make_learner("xgb", {}, 0)
    with pytest.raises(DefinitionError, match="learner.params"):
        make_learner("gradient_boosting", {"n_trees": 3}, 0)


def test_rounds_chosen_by_the_shared_cv_keep_a_noisy_fit_off_its_noise():
    """A boosted fit that goes on fitting noise spreads it over every driver through SHAP: the
    irrelevant driver gains share. With the rounds chosen by the out-of-fold R^2 the noisy dataset's
    emulator is shorter, predicts better and credits the irrelevant driver less; a deterministic
    dataset keeps (nearly) all its rounds."""
    rng = np.random.default_rng(7)
    n = 2500
    lat, lon = rng.uniform(-50, 70, n), rng.uniform(-180, 180, n)
    X = rng.normal(size=(n, 3))
    signal = 0.8 * X[:, 0] + 0.4 * np.tanh(X[:, 1])  # the third driver does nothing
    noisy = signal + 1.5 * rng.normal(size=n)

    def fitted(y, select):
        task = task_of(X, y, np.ones(n), lat, lon, bootstraps=0)
        task.params = {"max_iter": 150}
        task.select_rounds = select
        return run_one(task)

    chosen, full = fitted(noisy, True), fitted(noisy, False)
    assert chosen.rounds < 60 and full.rounds == 150
    assert chosen.fit_r2 > full.fit_r2
    assert chosen.shares[2] < full.shares[2] - 0.03, (chosen.shares.round(3), full.shares.round(3))
    assert fitted(signal, True).rounds >= 120


def test_a_mixture_of_truncations_is_one_ensemble_that_predict_and_shap_explain():
    """round_weights make the fitted model the weighted mean of its truncated models; scaling the trees'
    leaf values does that exactly, so TreeSHAP (which reads the same nodes) adds up to its predictions."""
    from socbench.explain import shap_values

    rng = np.random.default_rng(0)
    X = rng.uniform(size=(500, 3))
    y = X[:, 0] + np.sin(5 * X[:, 1]) + rng.normal(0, 0.3, 500)
    weights = np.zeros(40)
    weights[[9, 19, 39]] = [0.2, 0.5, 0.3]
    plain = BinnedGradientBoosting(max_iter=40).fit(X, y)
    mixture = BinnedGradientBoosting(max_iter=40, round_weights=tuple(weights)).fit(X, y)
    stages = np.array(list(plain.staged_predict(X)))
    np.testing.assert_allclose(mixture.predict(X), weights @ stages, atol=1e-12)
    contributions = shap_values(mixture, X)
    offset = mixture.predict(X) - contributions.sum(axis=1)
    np.testing.assert_allclose(offset, offset[0], atol=1e-12)
    assert mixture.mean_rounds == pytest.approx(0.2 * 10 + 0.5 * 20 + 0.3 * 40)
    with pytest.raises(ValueError, match="round_weights: expected 40"):
        BinnedGradientBoosting(max_iter=40, round_weights=(1.0,) * 39).fit(X, y)


def test_the_bagged_round_choice_moves_little_where_the_argmax_jumps():
    """Two rounds far apart predict equally well out of fold: a change of 1e-4 in one's errors moves the
    argmax from one to the other, but the weights of the bagged choice by little."""
    from socbench.emulate import best_round_frequency

    rng = np.random.default_rng(3)
    n, rounds = 2000, 40
    y = rng.normal(size=n)
    blocks = rng.integers(0, 60, n)
    errors = np.full((rounds, n), 2.0)  # every other round predicts badly
    errors[9] = rng.normal(size=n)
    errors[29] = rng.normal(size=n)
    errors[29] *= np.sqrt(np.sum(errors[9] ** 2) / np.sum(errors[29] ** 2))  # exactly as good over all cells

    def choice(scale):
        tilted = errors.copy()
        tilted[29] *= scale
        stages = y + tilted
        argmax = int(np.argmin(np.sum((stages - y) ** 2, axis=1)))
        return argmax, best_round_frequency(stages, y, np.ones(n), blocks, seed=0, resamples=200)

    (low_best, low), (high_best, high) = choice(1 - 1e-4), choice(1 + 1e-4)
    assert (low_best, high_best) == (29, 9)
    assert low.sum() == pytest.approx(1.0) and set(np.flatnonzero(low)) <= {9, 29}
    assert 0.2 < low[9] < 0.8
    assert np.abs(low - high).sum() < 0.1
