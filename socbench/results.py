"""The result of a benchmark run: tidy tables, kept apart from rendering.

Every table is a pandas DataFrame in long ("tidy") form, one value per row,
so that the report writers, the CI gate and users' notebooks read them the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import xarray as xr

#: Score components, in the order they are shown.
COMPONENTS = (
    "importance", "response", "sensitivity", "explained_variance", "total_stock", "ilamb_bias", "spatial_distribution",
)
#: Components read from the emulators' explanations (set to 0, below the null's where a model's emulator is unreliable).
DRIVER_COMPONENTS = ("importance", "response", "sensitivity")
#: Components read from the SOC field.
FIELD_COMPONENTS = ("total_stock", "ilamb_bias", "spatial_distribution")
#: All score metrics, the weighted overall score first.
METRICS = ("overall",) + COMPONENTS

SCORE_COLUMNS = ["model", "region", "metric", "value"]
CEILING_COLUMNS = ["product", "region", "metric", "value"]
NULL_COLUMNS = ["reference", "region", "metric", "value"]
ASSESSMENT_COLUMNS = ["model", "region", "metric", "status", "reason", "overall_weight"]
PRODUCT_FLAG_COLUMNS = ["product", "region", "flag", "detail"]
STOCK_COLUMNS = ["dataset", "kind", "region", "stock_pg", "area_km2"]
EMULATOR_COLUMNS = [
    "dataset", "kind", "region", "n_cells", "cv_r2", "fit_r2", "cv_block_size", "boosting_rounds", "reliable",
]
DRIVER_COLUMNS = [
    "dataset", "kind", "region", "covariate", "share", "observed_share", "shape_correlation", "sensitivity_ratio",
    "shape_score", "sensitivity_score", "observed_ratio_low", "observed_ratio_high", "judged",
]
IMPORTANCE_COLUMNS = ["dataset", "kind", "region", "covariate", "share", "share_low", "share_high"]
RESPONSE_COLUMNS = ["dataset", "kind", "region", "covariate", "point", "x", "value", "value_low", "value_high"]
ENVELOPE_IMPORTANCE_COLUMNS = ["region", "covariate", "centre", "low", "high"]
ENVELOPE_RESPONSE_COLUMNS = ["region", "covariate", "point", "x", "centre", "low", "high"]
REGION_COLUMNS = ["region", "n_cells", "area_km2", "status", "products"]
FAILURE_COLUMNS = ["dataset", "kind", "reason"]
SKIPPED_COLUMNS = ["dataset", "kind", "region", "reason"]


def empty_table(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class RunResult:
    """Everything a report needs, computed by :func:`socbench.pipeline.run`.

    Attributes
    ----------
    name : str
        Benchmark name.
    scores : DataFrame
        ``model, region, metric, value``; metric in :data:`METRICS` plus
        ``overall_components`` (how many components overall rests on) and the
        diagnostics ``importance_kendall_tau``, ``model_cv_r2`` and the raw
        distances ``importance_distance``, ``response_distance`` and
        ``explained_variance_distance`` (lower is better). Scores are in
        [0, 1], higher is better; NaN where withheld (see ``assessments``).
    ceiling : DataFrame
        ``product, region, metric, value``: each observation product scored
        exactly as a model is, against the same envelope: the observational ceiling.
    nulls : DataFrame
        ``reference, region, metric, value``: the null reference (equal shares,
        flat responses, no explained variance, uniform field) scored alike.
    assessments : DataFrame
        ``model, region, metric, status, reason, overall_weight``: for each
        component, ``"scored"``, ``"capped"`` or ``"withheld"`` with a reason
        code (:data:`socbench.score.REASONS`), and its weight in ``overall``
        there (0 where withheld; below the definition's weight where the
        products tell the null apart only in part).
    product_flags : DataFrame
        ``product, region, flag, detail``: ``outlier`` (driver shares or curves
        far from every other product's; left out of the consensus) and
        ``suspect_units`` (stock implausible next to the others'; left out of
        the stock and field consensus).
    stocks : DataFrame
        ``dataset, kind, region, stock_pg, area_km2`` over each dataset's valid cells.
    emulators : DataFrame
        ``dataset, kind, region, n_cells, cv_r2, fit_r2, cv_block_size,
        boosting_rounds, reliable``; kind is ``"model"`` or ``"observation"``;
        ``cv_r2`` over the region's cells, ``fit_r2`` over all the dataset's
        land (one emulator per dataset); ``boosting_rounds`` the weighted mean
        round of a boosted emulator (:func:`socbench.emulate.select_rounds`,
        NaN for other learners); ``reliable`` is the rule scoring uses
        (:func:`socbench.envelope.emulator_reliable`).
    importances : DataFrame
        ``dataset, kind, region, covariate, share, share_low, share_high``.
    responses : DataFrame
        ``dataset, kind, region, covariate, point, x, value, value_low, value_high``
        (centred, ln SOC units, on the shared quantile grid ``x``).
    envelope_importance, envelope_response : DataFrame
        The observational envelope per region, exactly as scored: centre = the
        consensus of the products that form it (flagged and unreliable ones
        left out); low/high = their range, widened by bootstrap spread.
    drivers : DataFrame
        ``dataset, kind, region, covariate, share, observed_share,
        shape_correlation, sensitivity_ratio, shape_score, sensitivity_score,
        observed_ratio_low, observed_ratio_high, judged``: per driver, the
        model's (or product's, against the others) response shape correlation
        and amplitude ratio with the observed consensus, each scored alone with
        its component's map, and the products' own range of ratios.
    regions : DataFrame
        ``region, n_cells, area_km2, status, products`` (products: comma-separated
        names of the observation products in that region's envelope).
    failures : DataFrame
        ``dataset, kind, reason`` for every dataset that could not be scored.
    difference_maps : dict of str to DataArray
        Model minus observation-centre SOC (kg m-2) on the analysis grid.
    covariates : list of str
        Covariate names, in definition order.
    skipped : DataFrame
        ``dataset, kind, region, reason`` for every (dataset, region) not
        emulated: too few valid cells, or coverage below ``coverage_min``.
    provenance : dict
        Versions, definition hash, input checksums, seeds.
    """

    name: str
    scores: pd.DataFrame
    ceiling: pd.DataFrame
    emulators: pd.DataFrame
    importances: pd.DataFrame
    responses: pd.DataFrame
    envelope_importance: pd.DataFrame
    envelope_response: pd.DataFrame
    regions: pd.DataFrame
    failures: pd.DataFrame
    nulls: pd.DataFrame = field(default_factory=lambda: empty_table(NULL_COLUMNS))
    assessments: pd.DataFrame = field(default_factory=lambda: empty_table(ASSESSMENT_COLUMNS))
    product_flags: pd.DataFrame = field(default_factory=lambda: empty_table(PRODUCT_FLAG_COLUMNS))
    stocks: pd.DataFrame = field(default_factory=lambda: empty_table(STOCK_COLUMNS))
    drivers: pd.DataFrame = field(default_factory=lambda: empty_table(DRIVER_COLUMNS))
    difference_maps: dict[str, xr.DataArray] = field(default_factory=dict)
    covariates: list[str] = field(default_factory=list)
    skipped: pd.DataFrame = field(default_factory=lambda: empty_table(SKIPPED_COLUMNS))
    provenance: dict[str, Any] = field(default_factory=dict)
    #: The observation side of the run (:class:`socbench.pipeline.Reference`), for bundles.
    reference: Any = field(default=None, repr=False)

    @property
    def models(self) -> list[str]:
        """Scored model names, in order of first appearance."""
        return list(dict.fromkeys(self.scores["model"]))

    @property
    def region_names(self) -> list[str]:
        return list(self.regions["region"])

    @property
    def status(self) -> str:
        """``"ok"``, ``"partial"`` (some datasets failed) or ``"failed"`` (nothing scored)."""
        if self.scores.empty:
            return "failed"
        return "partial" if len(self.failures) else "ok"

    def score_matrix(self, metric: str = "overall") -> pd.DataFrame:
        """Models x regions table of one metric."""
        table = self.scores[self.scores["metric"] == metric]
        return table.pivot(index="model", columns="region", values="value").reindex(
            index=self.models, columns=self.region_names
        )
