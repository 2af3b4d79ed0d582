"""ILAMB's bias score (Collier et al. 2018): hand-computed values, and agreement with ilamb3.

The comparison with ilamb3 runs the cases of bench/ilamb_bias.py and is skipped
where ilamb3 is not installed (it pins an older xarray than socbench; see the
script's docstring for the virtual environment that runs it).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from socbench.score import ilamb_bias_score

BENCH_SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "ilamb_bias.py"
REFERENCE = np.array([[2.0, 4.0], [8.0, 16.0]])
EQUAL_WEIGHTS = np.ones_like(REFERENCE)


def test_identical_fields_score_one():
    assert ilamb_bias_score(REFERENCE, REFERENCE, EQUAL_WEIGHTS) == 1.0


def test_a_uniformly_doubled_field_scores_exp_minus_one():
    assert ilamb_bias_score(2.0 * REFERENCE, REFERENCE, EQUAL_WEIGHTS) == pytest.approx(math.exp(-1.0))


def test_the_score_uses_the_relative_bias_in_both_directions():
    # |m - r| / |r| = 0.5 for a field too small by half as for one too large by half
    assert ilamb_bias_score(0.5 * REFERENCE, REFERENCE, EQUAL_WEIGHTS) == pytest.approx(math.exp(-0.5))
    assert ilamb_bias_score(1.5 * REFERENCE, REFERENCE, EQUAL_WEIGHTS) == pytest.approx(math.exp(-0.5))


def test_an_uncertainty_larger_than_the_bias_absorbs_it():
    assert ilamb_bias_score(1.5 * REFERENCE, REFERENCE, EQUAL_WEIGHTS, uncertainty=0.5 * REFERENCE) == 1.0


def test_only_the_bias_beyond_the_uncertainty_is_scored():
    # |m - r| - u = r - 0.25 r, so s = exp(-0.75) in every cell
    score = ilamb_bias_score(2.0 * REFERENCE, REFERENCE, EQUAL_WEIGHTS, uncertainty=0.25 * REFERENCE)
    assert score == pytest.approx(math.exp(-0.75))


def test_a_scalar_uncertainty_applies_to_every_cell():
    # biases 1, 2, 4, 8 less 2: excesses 0, 0, 2/8, 6/16
    expected = (1.0 + 1.0 + math.exp(-0.25) + math.exp(-0.375)) / 4.0
    assert ilamb_bias_score(1.5 * REFERENCE, REFERENCE, EQUAL_WEIGHTS, uncertainty=2.0) == pytest.approx(expected)


def test_nan_cells_are_ignored():
    model = REFERENCE.copy()
    model[0, 0] = np.nan
    reference = REFERENCE.copy()
    reference[1, 1] = np.nan
    model[1, 0] = 2.0 * REFERENCE[1, 0]
    # cells left: (0, 1) scores 1 and (1, 0) scores exp(-1)
    assert ilamb_bias_score(model, reference, EQUAL_WEIGHTS) == pytest.approx((1.0 + math.exp(-1.0)) / 2.0)


def test_zero_weight_cells_are_ignored():
    model = REFERENCE.copy()
    model[0, 0] = 100.0 * REFERENCE[0, 0]
    weights = np.array([[0.0, 1.0], [1.0, 1.0]])
    assert ilamb_bias_score(model, REFERENCE, weights) == 1.0


def test_weights_set_each_cells_share_of_the_mean():
    model = np.array([1.0, 2.0])
    reference = np.array([1.0, 1.0])
    # scores 1 and exp(-1), weighted 3 : 1
    expected = (3.0 + math.exp(-1.0)) / 4.0
    assert ilamb_bias_score(model, reference, np.array([3.0, 1.0])) == pytest.approx(expected)
    assert ilamb_bias_score(model, reference, np.array([1.0, 3.0])) == pytest.approx((1.0 + 3.0 * math.exp(-1.0)) / 4.0)


def test_a_negative_reference_is_normalised_by_its_magnitude():
    assert ilamb_bias_score(np.array([-2.0]), np.array([-1.0]), np.array([1.0])) == pytest.approx(math.exp(-1.0))


def test_no_valid_cell_gives_nan():
    assert math.isnan(ilamb_bias_score(np.full(3, np.nan), np.ones(3), np.ones(3)))
    assert math.isnan(ilamb_bias_score(np.ones(3), np.ones(3), np.zeros(3)))


@pytest.mark.parametrize(("key", "mass"), [("area", False), ("mass", True)])
def test_the_weighting_key_reaches_the_score(demo_definition, key, mass):
    """``scores.ilamb_bias_weighting``: area (ilamb3's default) or mass (ILAMB 2.x soil carbon)."""
    from socbench.assemble import score_settings

    data = demo_definition.model_dump()
    data["scores"]["ilamb_bias_weighting"] = key
    assert score_settings(type(demo_definition).model_validate(data)).ilamb_mass_weighted is mass


def test_an_unknown_weighting_is_refused(demo_definition):
    from pydantic import ValidationError

    data = demo_definition.model_dump()
    data["scores"]["ilamb_bias_weighting"] = "volume"
    with pytest.raises(ValidationError, match="ilamb_bias_weighting"):
        type(demo_definition).model_validate(data)


# ------------------------------------------------------------ against ilamb3


def _bench_module():
    spec = importlib.util.spec_from_file_location("ilamb_bias_bench", BENCH_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_cases():
    bench = _bench_module()
    grid, cases = bench.build_cases(2.0, seed=0)
    return bench, grid, cases


@pytest.fixture(scope="module")
def comparison(bench_cases):
    pytest.importorskip("ilamb3")
    return bench_cases


def test_ilamb3_agrees_within_the_issue_tolerance_on_every_bench_case(comparison):
    bench, grid, cases = comparison
    differences = {(case.name, case.weighting): abs(bench.socbench_score(case) - bench.ilamb3_score(grid, case))
                   for case in cases}
    assert len(differences) == 12
    assert max(differences.values()) <= bench.TOLERANCE, differences


def test_mass_weighting_scores_an_offset_higher_than_area_weighting(bench_cases):
    """A uniform +2 kg m-2 costs most in low-carbon cells, which mass weighting counts less (issue 15 item 8)."""
    bench, _, cases = bench_cases
    for case in (c for c in cases if c.name == f"offset +{bench.OFFSET:g}"):
        area, mass = bench.socbench_score(case, "area"), bench.socbench_score(case, "mass")
        assert mass > area + 0.05, (case.weighting, area, mass)


def test_ilamb3_matches_to_rounding_when_given_the_same_cells_and_area_weights(comparison):
    bench, grid, cases = comparison
    for case in cases:
        if case.weighting == "land>=0.5":
            assert bench.ilamb3_score(grid, case) == pytest.approx(bench.socbench_score(case), abs=1e-9), case.name


def test_ilamb3_weights_its_bias_score_by_cell_area_alone(comparison):
    # With coastal cells, ilamb3 ignores areacella x sftlf in the score's mean:
    # socbench given the plain cell areas reproduces it, the land-weighted score differs.
    bench, grid, cases = comparison
    coastal_close = next(case for case in cases if case.weighting == "coastal" and case.name == "close")
    theirs = bench.ilamb3_score(grid, coastal_close)
    area_only = ilamb_bias_score(coastal_close.model, coastal_close.reference, grid.area())
    assert theirs == pytest.approx(area_only, abs=1e-9)
    assert abs(theirs - bench.socbench_score(coastal_close)) > 1e-6
