"""Vega-Lite chart specifications, written with altair, without data.

Each spec reads named datasets (``importance``, ``response``,
``envelope_importance``, ``envelope_response``) that the page supplies at
run time from the data scripts in ``data/``, and Vega-Lite parameters that
the page's controls set: ``region`` (region picker), ``hidden`` (series the
reader switched off) and, on the comparison page, ``a`` and ``b`` (the two
series compared). Every mark carries a tooltip with its values.

Keyboard users cannot focus Vega's SVG marks, so every spec also names the
layers whose items are the figure's values (``values``: the datasets'
points, ``envelope``: the observed range) and describes them in
``usermeta.values`` (see :func:`values_descriptor`). The page script reads
those items from the rendered view and lists them in a focusable values
table beside the chart; the ``focus`` parameter (``"<series>|<key>"``)
rings the point whose row has the keyboard focus.

Whiskers and bands are the 5-95 % range of the bootstrap replicates
*re-centred on the point estimate* (``low``/``high`` columns, see
:func:`socbench.report.pagedata.recentred`): the replicates refit the
emulator on resampled cells, so their raw percentiles need not contain the
estimate from all cells; their width is what they tell.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import altair as alt

MODEL_COLOUR = "#0072B2"
COMPARED_COLOUR = "#D55E00"
#: Okabe-Ito colours for further series (observation products), colour-blind safe.
OTHER_COLOURS = ("#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
ENVELOPE_COLOUR = "#8c959f"
CENTRE_COLOUR = "#1f2328"
_FONT = "system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif"
_CONFIG = {
    "font": _FONT,
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "labelColor": "#1f2328", "titleColor": "#1f2328",
             "labelLimit": 260},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom", "labelLimit": 220},
    "view": {"stroke": None},
}

SERIES_FILTER = "indexof(hidden, datum.series) < 0"
#: A product flagged in the region (outlier, unreliable emulator, suspect units): drawn dashed and faded.
FLAGGED = "datum.flag"
FLAGGED_DASH = [5, 3]
FLAGGED_OPACITY = 0.5
PAIR_FILTER = "(datum.series == a || datum.series == b)"
#: Names of the layers whose scenegraph items the values table lists (Vega names them ``<name>_marks``).
VALUES_LAYER = "values"
ENVELOPE_LAYER = "envelope"
FOCUS_PARAM = "focus"


def series_colours(series: list[str]) -> dict[str, list[str]]:
    """Colour scale of a model page: the model first in blue, the products in Okabe-Ito colours."""
    palette = [MODEL_COLOUR, *OTHER_COLOURS]
    return {"domain": list(series), "range": [palette[i % len(palette)] for i in range(len(series))]}


def importance_chart(covariate_labels: dict[str, str], colours: dict[str, list[str]] | None,
                     *, compare: bool = False) -> dict[str, Any]:
    """Driver shares per covariate in the picked region (see :func:`_importance_chart`)."""
    spec = _importance_chart(tuple(covariate_labels.values()), compare)
    return with_colours(spec, colours)


def response_chart(covariate: str, x_title: str, colours: dict[str, list[str]] | None,
                   *, compare: bool = False, region: str | None = None) -> dict[str, Any]:
    """Response curves of one covariate against the observed envelope.

    ``region`` fixes the region; without it the ``region`` parameter (the
    page's region picker) chooses. ``colours`` is the series colour scale
    (None on the comparison page, which colours by role A/B).
    """
    return with_colours(_response_chart(covariate, x_title, compare, region), colours)


def with_colours(spec: dict[str, Any], colours: dict[str, list[str]] | None) -> dict[str, Any]:
    """A copy of a cached spec with the series colour scale set (altair is slow: specs are built once)."""
    copy = json.loads(json.dumps(spec))
    if colours is None:
        return copy
    for layer in copy.get("layer", []):
        colour = layer.get("encoding", {}).get("color")
        if colour and colour.get("field") == "series":
            colour["scale"] = {"domain": list(colours["domain"]), "range": list(colours["range"])}
    return copy


@functools.lru_cache(maxsize=64)
def _importance_chart(order_labels: tuple[str, ...], compare: bool) -> dict[str, Any]:
    """Series points with whiskers on the observed range (grey bar) and centre (tick).

    Parameters
    ----------
    order_labels : tuple of str
        Axis labels (description and units) of the covariates, in display order.
    compare : bool
        Show only the series chosen by the ``a``/``b`` parameters, coloured by role.
    """
    order = list(order_labels)
    y = alt.Y("label:N", title=None, sort=order, scale=alt.Scale(domain=order))
    envelope = alt.Chart(alt.NamedData("envelope_importance")).transform_filter("datum.region == region")
    band = envelope.mark_bar(color=ENVELOPE_COLOUR, opacity=0.45, height=14).encode(
        y=y, x=alt.X("low:Q", title="Share of the explanation", scale=alt.Scale(zero=True)),
        x2="high:Q", tooltip=_tooltip("Observed range", ["low", "high"], extra=["centre"])
    ).properties(name=ENVELOPE_LAYER)
    centre = envelope.mark_tick(color=CENTRE_COLOUR, thickness=2, size=16).encode(
        y=y, x="centre:Q", tooltip=_tooltip("Observed centre", ["centre"]))
    series = _series_base("importance", compare)
    colour, offset = _colour(compare), alt.YOffset("series:N", title=None)
    whiskers = series.mark_rule(strokeWidth=1.5).encode(y=y, yOffset=offset, x="low:Q", x2="high:Q", color=colour,
                                                        **_flagged_style())
    points = series.mark_point(filled=True).encode(
        y=y, yOffset=offset, x="share:Q", color=colour, **_focus_ring("label", size=60), **_flagged_style(line=False),
        shape=alt.condition(FLAGGED, alt.value("diamond"), alt.value("circle")),
        tooltip=[alt.Tooltip("series:N", title="Dataset"), alt.Tooltip("flag:N", title="Flagged"),
                 alt.Tooltip("label:N", title="Driver"),
                 alt.Tooltip("share:Q", title="Share", format=".3f"),
                 alt.Tooltip("raw_low:Q", title="5 % of replicates", format=".3f"),
                 alt.Tooltip("raw_high:Q", title="95 % of replicates", format=".3f")]
    ).properties(name=VALUES_LAYER)
    chart = alt.layer(band, centre, whiskers, points).properties(
        width="container", height=34 * max(len(order), 1))
    return _finish(chart, compare, region=True,
                   values=values_descriptor(key="label", value="share", value_title="Share"))


@functools.lru_cache(maxsize=256)
def _response_chart(covariate: str, x_title: str, compare: bool, region: str | None) -> dict[str, Any]:
    where = f"datum.covariate == {_js(covariate)} && " + (f"datum.region == {_js(region)}" if region is not None
                                                          else "datum.region == region")
    x = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False, nice=False), axis=alt.Axis(tickCount=4))
    envelope = alt.Chart(alt.NamedData("envelope_response")).transform_filter(where)
    band = envelope.mark_area(color=ENVELOPE_COLOUR, opacity=0.35).encode(
        x=x, y=alt.Y("low:Q", title="Centred response of ln SOC"), y2="high:Q",
        tooltip=_tooltip("Observed range", ["x", "low", "high"])).properties(name=ENVELOPE_LAYER)
    centre = envelope.mark_line(color=CENTRE_COLOUR, strokeDash=[4, 3], strokeWidth=1.5).encode(
        x=x, y="centre:Q")
    series = _series_base("response", compare, where)
    colour = _colour(compare)
    lines = series.mark_line(strokeWidth=2.2).encode(x=x, y="y:Q", color=colour, detail="series:N", **_flagged_style())
    points = series.mark_point(filled=True).encode(
        x=x, y="y:Q", color=colour, **_focus_ring("x", size=22), **_flagged_style(line=False),
        tooltip=[alt.Tooltip("series:N", title="Dataset"), alt.Tooltip("flag:N", title="Flagged"),
                 alt.Tooltip("x:Q", title=x_title, format=".3g"),
                 alt.Tooltip("y:Q", title="Response", format=".3f"),
                 alt.Tooltip("raw_low:Q", title="5 % of replicates", format=".3f"),
                 alt.Tooltip("raw_high:Q", title="95 % of replicates", format=".3f")]
    ).properties(name=VALUES_LAYER)
    chart = alt.layer(band, centre, lines, points).properties(width="container", height=190)
    return _finish(chart, compare, region=region is None,
                   values=values_descriptor(key="x", value="y", value_title="Response", driver=x_title))


def values_descriptor(key: str, value: str, value_title: str, driver: str | None = None) -> dict[str, Any]:
    """How the page script lists a chart's values (``usermeta.values`` of the spec).

    Parameters
    ----------
    key : str
        Field that tells a dataset's points apart: ``label`` (driver, importance
        chart) or ``x`` (driver value, response chart).
    value, value_title : str
        Field of the plotted value and its column title.
    driver : str, optional
        The driver's label when the whole chart shows one driver; else each
        point's ``label`` names it.
    """
    return {"marks": {"series": f"{VALUES_LAYER}_marks", "envelope": f"{ENVELOPE_LAYER}_marks"},
            "key": key, "value": value, "value_title": value_title, "driver": driver,
            "focus": FOCUS_PARAM}


def _flagged_style(line: bool = True) -> dict[str, Any]:
    """Encodings that draw a flagged product's marks faded (and its lines dashed)."""
    style = {"opacity": alt.condition(FLAGGED, alt.value(FLAGGED_OPACITY), alt.value(1.0))}
    if line:
        style["strokeDash"] = alt.condition(FLAGGED, alt.value(FLAGGED_DASH), alt.value([1, 0]))
    return style


def _focus_ring(key: str, size: int) -> dict[str, Any]:
    """Encodings that ring the point named by the ``focus`` parameter (its values-table row has focus)."""
    test = f"datum.series + '|' + datum.{key} == {FOCUS_PARAM}"  # never true for "": keys hold a '|'
    return {"size": alt.condition(test, alt.value(size * 4), alt.value(size)),
            "stroke": alt.condition(test, alt.value(CENTRE_COLOUR), alt.value(None)),
            "strokeWidth": alt.condition(test, alt.value(2), alt.value(0))}


def _series_base(name: str, compare: bool, where: str = "datum.region == region") -> alt.Chart:
    condition = f"{where} && {SERIES_FILTER}" + (f" && {PAIR_FILTER}" if compare else "")
    chart = alt.Chart(alt.NamedData(name)).transform_filter(condition)
    if compare:
        chart = chart.transform_calculate(role="datum.series == a ? 'A' : 'B'")
    return chart


def _colour(compare: bool) -> alt.Color:
    if compare:
        return alt.Color("role:N", title=None, scale=alt.Scale(domain=["A", "B"], range=[MODEL_COLOUR, COMPARED_COLOUR]),
                         legend=alt.Legend(labelExpr="datum.label == 'A' ? 'A: ' + a : 'B: ' + b"))
    return alt.Color("series:N", title=None)  # scale set per page by with_colours


def _tooltip(title: str, fields: list[str], extra: tuple[str, ...] | list[str] = ()) -> list[alt.Tooltip]:
    """Tooltip of an envelope mark: region, driver (or driver value) and the named values."""
    names = {"low": f"{title}: low", "high": f"{title}: high", "centre": "Observed centre", "x": "Driver value"}
    driver = [] if "x" in fields else [alt.Tooltip("label:N", title="Driver")]
    return [alt.Tooltip("region:N", title="Region"), *driver,
            *[alt.Tooltip(f"{f}:Q", title=names.get(f, f), format=".3g") for f in [*fields, *extra]]]


def _finish(chart: alt.TopLevelMixin, compare: bool, region: bool, values: dict[str, Any]) -> dict[str, Any]:
    params = [alt.param(name="hidden", value=[]), alt.param(name=FOCUS_PARAM, value="")]
    if region:
        params.append(alt.param(name="region", value=""))
    if compare:
        params += [alt.param(name="a", value=""), alt.param(name="b", value="")]
    spec = chart.add_params(*params).to_dict(validate=True)
    spec.pop("$schema", None)  # a URL; the bundled Vega-Lite needs no schema to compile the spec
    spec["config"] = {**spec.get("config", {}), **_CONFIG}
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    spec["usermeta"] = {"params": [p.name for p in params if p.name != FOCUS_PARAM], "values": values}
    return spec


def _js(value: str) -> str:
    """A string literal for a Vega expression (JSON string syntax is valid there)."""
    return json.dumps(str(value))
