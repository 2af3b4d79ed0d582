"""Planted truth: the benchmark must recover what the synthetic world was built with.

The demo world (socbench.synth) plants: observed SOC driven mostly by clay and
temperature (then C:N, wetland, saturating NPP, precipitation); SYN-FAITHFUL
follows that process on its own climate; SYN-TEMPNPP is driven by temperature
and NPP only but has the observed stock; SYN-DOUBLE is faithful with twice the
stock; SYN-UNRELATED is a smooth field unrelated to any driver.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from socbench.synth import STRONGEST_DRIVERS

DEMO_MODELS = ["SYN-FAITHFUL", "SYN-TEMPNPP", "SYN-DOUBLE", "SYN-UNRELATED"]
DRIVER_METRICS = ["importance", "response", "importance_kendall_tau", "importance_distance", "response_distance"]


def score(result, model, metric, region="global") -> float:
    rows = result.scores
    value = rows[(rows.model == model) & (rows.region == region) & (rows.metric == metric)]["value"]
    assert len(value) == 1, (model, metric, region)
    return float(value.iloc[0])


def top_drivers(result, dataset, region="global", n=2) -> set:
    table = result.importances
    rows = table[(table.dataset == dataset) & (table.region == region)]
    return set(rows.nlargest(n, "share")["covariate"])


def test_no_failures(demo_result):
    assert demo_result.failures.empty, demo_result.failures.to_string()
    assert set(DEMO_MODELS) <= set(demo_result.models)


def test_faithful_model_has_the_best_driver_scores(demo_result):
    for metric in ("importance", "response"):
        best = max(score(demo_result, m, metric) for m in DEMO_MODELS)
        assert score(demo_result, "SYN-FAITHFUL", metric) >= best - 1e-9, metric


def test_temperature_npp_model_is_right_in_stock_for_the_wrong_reasons(demo_result):
    faithful, tempnpp = "SYN-FAITHFUL", "SYN-TEMPNPP"
    assert score(demo_result, faithful, "importance") - score(demo_result, tempnpp, "importance") >= 0.2
    assert score(demo_result, tempnpp, "stock_bias") >= score(demo_result, faithful, "stock_bias") - 1e-9


def test_double_stock_model_is_right_for_the_right_reasons_but_wrong_in_stock(demo_result):
    assert score(demo_result, "SYN-DOUBLE", "stock_bias") < 0.6
    assert score(demo_result, "SYN-FAITHFUL", "stock_bias") > 0.9
    assert abs(score(demo_result, "SYN-DOUBLE", "importance") - score(demo_result, "SYN-FAITHFUL", "importance")) <= 0.1


def test_unrelated_model_scores_lowest_on_drivers(demo_result):
    others = [m for m in DEMO_MODELS if m != "SYN-UNRELATED"]
    for metric in ("importance", "response"):
        assert score(demo_result, "SYN-UNRELATED", metric) <= min(score(demo_result, m, metric) for m in others)
    for metric in ("importance_distance", "response_distance"):
        assert score(demo_result, "SYN-UNRELATED", metric) > max(score(demo_result, m, metric) for m in others)


def test_unrelated_model_emulator_is_flagged(demo_result):
    emulators = demo_result.emulators
    row = emulators[(emulators.dataset == "SYN-UNRELATED") & (emulators.region == "global")]
    assert not bool(row["reliable"].iloc[0])


@pytest.mark.parametrize("product", ["HWSD-like", "SoilGrids-like", "GSOCmap-like"])
def test_observation_emulators_find_the_planted_strongest_drivers(demo_result, product):
    assert top_drivers(demo_result, product) == set(STRONGEST_DRIVERS)


def test_temperature_npp_model_top_drivers(demo_result):
    assert top_drivers(demo_result, "SYN-TEMPNPP") == {"temperature", "npp"}


def test_copy_of_an_observation_product_scores_about_one(demo_result):
    assert score(demo_result, "OBS-COPY", "importance") >= 0.95
    assert score(demo_result, "OBS-COPY", "response") >= 0.95


def test_leave_one_out_ceiling_reported_for_every_product(demo_result):
    ceiling = demo_result.ceiling
    regions = demo_result.regions.set_index("region")
    for region, products in regions["products"].items():
        for product in filter(None, (p.strip() for p in products.split(","))):
            rows = ceiling[(ceiling["product"] == product) & (ceiling.region == region)]
            assert set(rows.metric) >= {"overall", "importance", "response", "stock_bias", "spatial_distribution"}
            assert rows.value.notna().any()
    assert {"HWSD-like", "SoilGrids-like", "GSOCmap-like"} <= set(ceiling[ceiling.region == "global"]["product"])
    # the circumpolar product joins only northern regions
    assert "NCSCD-like" in regions.loc["Tundra", "products"]
    assert "NCSCD-like" not in regions.loc["global", "products"]


def test_driver_scores_do_not_change_when_soc_is_multiplied_by_a_constant(demo_result):
    scores = demo_result.scores
    drivers = scores[scores.metric.isin(DRIVER_METRICS)]
    faithful = drivers[drivers.model == "SYN-FAITHFUL"].set_index(["region", "metric"])["value"]
    scaled = drivers[drivers.model == "SCALED"].set_index(["region", "metric"])["value"]
    assert len(faithful) > 20
    np.testing.assert_allclose(scaled.loc[faithful.index].values, faithful.values, atol=1e-6)
    # ... while its stock is 4 times larger, which the stock score sees
    assert score(demo_result, "SCALED", "stock_bias") < 0.2 < score(demo_result, "SYN-FAITHFUL", "stock_bias")


def test_every_score_is_between_zero_and_one(demo_result):
    scores = demo_result.scores
    bounded = scores[scores.metric.isin(["overall", "importance", "response", "stock_bias", "spatial_distribution"])]
    values = bounded["value"].dropna()
    assert len(values) > 100
    assert ((values >= 0) & (values <= 1)).all()


def test_demo_scores_regression(demo_result, dataframe_regression):
    """Any change of a demo score shows up here; regenerate with --force-regen and explain it."""
    scores = demo_result.scores[demo_result.scores.model.isin(DEMO_MODELS)]
    ceiling = demo_result.ceiling.rename(columns={"product": "model"}).assign(model=lambda t: "ceiling:" + t.model)
    table = pd.concat([scores, ceiling], ignore_index=True)
    table = table.sort_values(["model", "region", "metric"]).reset_index(drop=True)
    table["value"] = table["value"].astype(float)
    dataframe_regression.check(table, default_tolerance={"atol": 1e-6, "rtol": 0})
