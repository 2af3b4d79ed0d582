"""Same inputs, same scores: across runs and whatever the number of workers."""

from __future__ import annotations

import pandas as pd

from socbench.pipeline import run


def test_scores_identical_with_one_or_two_workers(small_world, small_definition):
    one = run(small_definition, small_world, workers=1)
    two = run(small_definition, small_world, workers=2)
    assert len(one.scores) > 20
    pd.testing.assert_frame_equal(one.scores, two.scores, check_exact=True)
    pd.testing.assert_frame_equal(one.ceiling, two.ceiling, check_exact=True)
    pd.testing.assert_frame_equal(one.importances, two.importances, check_exact=True)
