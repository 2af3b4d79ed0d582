"""Same inputs, same scores: across runs, whatever the number or kind of workers."""

from __future__ import annotations

import pandas as pd
import pytest

from socbench.pipeline import run


@pytest.fixture(scope="module")
def one_worker(small_world, small_definition):
    return run(small_definition, small_world, workers=1)


def test_scores_identical_with_one_or_two_workers(one_worker, small_world, small_definition):
    two = run(small_definition, small_world, workers=2)
    assert len(one_worker.scores) > 20
    pd.testing.assert_frame_equal(one_worker.scores, two.scores, check_exact=True)
    pd.testing.assert_frame_equal(one_worker.ceiling, two.ceiling, check_exact=True)
    pd.testing.assert_frame_equal(one_worker.importances, two.importances, check_exact=True)


def test_scores_identical_on_a_dask_distributed_cluster(one_worker, small_world, small_definition):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            remote = run(small_definition, small_world, workers=client.get_executor())
    pd.testing.assert_frame_equal(one_worker.scores, remote.scores, check_exact=True)


def test_gam_learner_end_to_end_recovers_the_faithful_model(small_world, small_definition):
    data = small_definition.model_dump()
    data["learner"].update(estimator="gam", params={}, bootstraps=1)
    result = run(type(small_definition).model_validate(data), str(small_world), workers=2)
    importance = result.score_matrix("importance")["global"]
    assert importance["SYN-FAITHFUL"] > 0.9 > importance["SYN-TEMPNPP"] + 0.5
