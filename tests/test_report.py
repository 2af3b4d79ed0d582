"""Tests of the report stage: files, escaping, CMEC bundle, CSVs, atomic writes, view data.

The pages' behaviour in a browser (sorting, pickers, charts, accessibility) is
tested in tests/test_browser.py.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from socbench import report
from socbench.errors import InputDataError, SocbenchError, SocbenchWarning
from socbench.report import baseline as baseline_module
from socbench.report import cmec
from socbench.report import model_page, pagedata, values
from socbench.report import write as write_module
from socbench.report.tables import flag_text, null_label, reason_text
from socbench import results

try:
    from fake_result import (
        CAPPED, COVARIATE_INFO, FAILURE, HOSTILE_MODEL, INPUT_NOTES, METRICS, MODELS, NONFINITE_CELLS,
        NULL_REFERENCES, PRODUCT_FLAGS, PRODUCTS, REGIONS, SKIPPED, WITHHELD, make_fake_result, plant_driver,
    )
except ImportError:  # tests collected as a package
    from tests.fake_result import (
        CAPPED, COVARIATE_INFO, FAILURE, HOSTILE_MODEL, INPUT_NOTES, METRICS, MODELS, NONFINITE_CELLS,
        NULL_REFERENCES, PRODUCT_FLAGS, PRODUCTS, REGIONS, SKIPPED, WITHHELD, make_fake_result, plant_driver,
    )

EXPECTED_FILES = [
    "index.html", "compare.html", "scores.json", "scores.csv", "ceiling.csv", "importances.csv", "responses.csv",
    "envelope_importance.csv", "envelope_response.csv", "emulators.csv", "regions.csv", "failures.csv",
    "assessments.csv", "nulls.csv", "product_flags.csv", "stocks.csv", "skipped.csv", "drivers.csv", "provenance.json",
    "assets/vega-bundle.js", "assets/scorecard.js", "assets/scorecard.css", "data/envelope.js", "output.json",
]
CSV_COLUMNS = {
    "scores.csv": results.SCORE_COLUMNS,
    "ceiling.csv": results.CEILING_COLUMNS,
    "importances.csv": ["dataset", "region", "covariate", "share", "share_low", "share_high", "kind"],
    "responses.csv": results.RESPONSE_COLUMNS,
    "emulators.csv": results.EMULATOR_COLUMNS,
    "regions.csv": results.REGION_COLUMNS,
    "failures.csv": results.FAILURE_COLUMNS,
    "assessments.csv": results.ASSESSMENT_COLUMNS,
    "nulls.csv": results.NULL_COLUMNS,
    "product_flags.csv": results.PRODUCT_FLAG_COLUMNS,
    "stocks.csv": results.STOCK_COLUMNS,
    "skipped.csv": results.SKIPPED_COLUMNS,
    "drivers.csv": results.DRIVER_COLUMNS,
}
SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")
NASTY_NAMES = [
    "", " ", ".", "..", "...", "../../etc/passwd", "/abs/path", "a/b", "a\\b", ".hidden", "-rf",
    "CON", "nul.txt", "ünïcødé-modèl", "模型", "x" * 500, "a\x00b\nc", "<script>alert(1)</script>/../x",
    "name with spaces", "..\\..\\windows", "a..b", "model.", "%2e%2e%2f",
]


@pytest.fixture(scope="module")
def result():
    return make_fake_result()


@pytest.fixture(scope="module")
def out_dir(result, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("report") / "out"
    index = report.write_report(result, directory)
    assert index == directory / "index.html"
    return directory


@pytest.fixture(scope="module")
def index_html(out_dir) -> str:
    return (out_dir / "index.html").read_text(encoding="utf-8")


def _html_pages(out_dir: Path) -> list[Path]:
    pages = [out_dir / "index.html", *sorted((out_dir / "models").glob("*.html"))]
    return pages + ([out_dir / "compare.html"] if (out_dir / "compare.html").exists() else [])


# ---------------------------------------------------------------- files


def test_all_files_written(out_dir):
    for name in EXPECTED_FILES:
        assert (out_dir / name).is_file(), name
    assert len(list((out_dir / "models").glob("*.html"))) == len(MODELS)


def test_no_temporary_directories_left(out_dir):
    leftovers = [p.name for p in out_dir.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


# ---------------------------------------------------------------- HTML content and escaping


def test_index_lists_every_model_escaped(index_html):
    for model in MODELS:
        assert html.escape(model) in index_html
    assert HOSTILE_MODEL not in index_html


def test_scripts_only_local_and_data_inline_json(out_dir):
    for page in _html_pages(out_dir):
        text = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<script[^>]*>", text, re.I):
            source = re.search(r'src="([^"]+)"', tag)
            if source:
                assert not re.match(r"[a-z]+:|//", source.group(1)), (page.name, tag)
                assert (page.parent / source.group(1)).resolve().is_file(), (page.name, tag)
            else:
                assert 'type="application/json"' in tag, (page.name, tag)


def test_vega_bundle_written_once(out_dir):
    bundles = [p for p in out_dir.rglob("*.js") if p.stat().st_size > 500_000]
    assert bundles == [out_dir / "assets" / "vega-bundle.js"]


def test_failure_reason_escaped_and_prominent(index_html):
    dataset, _, reason = FAILURE
    assert str(escape(reason)) in index_html
    assert "<b>not bold</b>" not in index_html
    assert index_html.index("Failed datasets") < index_html.index('id="scores"')
    assert dataset in index_html


def test_no_external_resources(out_dir):
    external = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:|//)|@import|url\(""", re.I)
    for page in [*_html_pages(out_dir), out_dir / "assets" / "scorecard.css"]:
        text = page.read_text(encoding="utf-8")
        assert not external.search(text), page.name


def _table(index_html: str, metric: str) -> str:
    return re.search(rf'<section class="score-table" id="table-{metric}".*?</section>', index_html, re.S).group(0)


def test_one_table_per_metric_with_every_cell(result, index_html):
    for metric in METRICS:
        table = _table(index_html, metric)
        scored = result.scores[(result.scores["metric"] == metric)]
        for row in scored.itertuples(index=False):
            if np.isfinite(row.value):
                assert f">{row.value:.2f}</a>" in table, (metric, row.model, row.region)


def test_models_ranked_by_global_overall(result, index_html):
    overall = result.scores.query("metric == 'overall' and region == 'global'").sort_values("value", ascending=False)
    body = re.search(r'<tbody class="models">.*?</tbody>', _table(index_html, "overall"), re.S).group(0)
    positions = [body.index(f">{html.escape(model)}</a></th>") for model in overall["model"]]
    assert positions == sorted(positions)


def test_cells_link_to_model_page_at_region(out_dir, index_html):
    links = set(re.findall(r'<td class="score[^"]*"[^>]*><a href="(models/[^"#]+)#(region-[^"]+)"', index_html))
    assert {link for link, _ in links} == {f"models/{html.escape(f)}" for f in report.page_names(MODELS).values()}
    for link, anchor in links:
        page = (out_dir / html.unescape(link)).read_text(encoding="utf-8")
        assert f'id="{anchor}"' in page and f'data-anchor="{anchor}"' in page


def test_withheld_cells_carry_their_reason(index_html):
    _, _, metrics, reason = WITHHELD[0]
    table = _table(index_html, metrics[0])
    cell = re.search(r'<td class="score withheld">.*?</td>', table, re.S).group(0)
    tip = re.search(r'aria-describedby="([^"]+)"', cell).group(1)
    assert f'id="{tip}"' in cell and 'role="tooltip"' in cell
    assert str(escape(reason_text(reason))) in cell
    assert ">n/a<" in cell


def test_missing_score_is_grey_dash(index_html):
    assert re.search(r'<td class="score missing"><a [^>]*>–</a>', _table(index_html, "spatial_distribution"))


def test_ceiling_and_null_rows_in_every_table(index_html):
    for metric in METRICS:
        references = re.search(r'<tbody class="references">.*?</tbody>', _table(index_html, metric), re.S).group(0)
        for product in PRODUCTS:
            assert f"ceiling: {product}" in references
        for reference in NULL_REFERENCES:
            assert f">{null_label(reference)}</th>" in references


def test_regions_in_display_order(index_html):
    header = re.search(r"<thead>.*?</thead>", _table(index_html, "overall"), re.S).group(0)
    positions = [header.index(f">{html.escape(region)}</button>") for region in REGIONS]
    assert positions == sorted(positions)


def test_unreliable_emulator_flagged(index_html):
    unreliable = make_fake_result().emulators.query("not reliable")
    assert len(unreliable)
    flagged = re.findall(r'<td class="num unreliable" title="([^"]*)"', index_html)
    expected = {f"{html.escape(r.dataset)}, {html.escape(r.region)}" for r in unreliable.itertuples()}
    assert {title.split(": CV")[0] for title in flagged} == expected


def test_product_flags_and_unused_products_warned(tmp_path):
    result = make_fake_result()
    result.regions["products"] = "HWSD-like"  # NCSCD-like is read but in no region's envelope
    text = report.write_report(result, tmp_path / "r").read_text(encoding="utf-8")
    warnings = re.search(r'<section class="alert warnings".*?</section>', text, re.S).group(0)
    assert "NCSCD-like" in warnings and "used in no region" in warnings
    for product, region, flag, detail in PRODUCT_FLAGS:
        row = re.search(rf"<tr><td>{region}</td><th scope=\"row\">{product}</th>.*?</tr>", warnings).group(0)
        assert str(escape(flag_text(flag))) in row and str(escape(detail)) in row
    assert "used in no region" in report.summary_table(result)


def test_region_without_observations_marked(tmp_path):
    result = make_fake_result(region_without_observations="Antarctica")
    out = tmp_path / "r"
    text = report.write_report(result, out).read_text(encoding="utf-8")
    regions = pd.read_csv(out / "regions.csv").set_index("region")
    assert regions.loc["Antarctica", "status"] == "no observations"
    assert re.search(r'>Antarctica</button><br><small class="region-flag">no observations</small>', text)
    assert "Antarctica has no observation product" in report.summary_table(result)
    assert _strict_json(out / "scores.json")["DIMENSIONS"]["region"]["Antarctica"]["status"] == "no observations"


def _page_config(text: str) -> dict:
    block = re.search(r'<script type="application/json" id="page-config">(.*?)</script>', text, re.S).group(1)
    return json.loads(block)


def test_model_pages_have_charts_csvs_and_links(out_dir):
    for model, file_name in report.page_names(MODELS).items():
        text = (out_dir / "models" / file_name).read_text(encoding="utf-8")
        assert 'href="../index.html"' in text
        config = _page_config(text)
        ids = [chart["id"] for chart in config["charts"]]
        assert ids and all(f'id="{chart_id}"' in text for chart_id in ids)
        stem = file_name.removesuffix(".html")
        for suffix in ("-importances.csv", "-responses.csv", "-difference.png"):
            assert (out_dir / "models" / f"{stem}{suffix}").is_file()
            assert f'"{stem}{suffix}"' in text
        written = pd.read_csv(out_dir / "models" / f"{stem}-responses.csv")
        assert set(written["dataset"]) == {model}
        for key in config["data"]:
            assert (out_dir / "data" / f"{key}.js").is_file()


def test_model_pages_link_previous_and_next_by_rank(out_dir, result):
    ranked = result.scores.query("metric == 'overall' and region == 'global'").sort_values(
        "value", ascending=False)["model"].tolist()
    pages = report.page_names(MODELS)
    middle = (out_dir / "models" / pages[ranked[1]]).read_text(encoding="utf-8")
    assert f'href="{html.escape(pages[ranked[0]])}" rel="prev"' in middle
    assert f'href="{html.escape(pages[ranked[2]])}" rel="next"' in middle


def test_axis_titles_carry_covariate_description_and_units(out_dir):
    text = (out_dir / "models" / report.page_names(MODELS)["CESM2"]).read_text(encoding="utf-8")
    titles = json.dumps(_page_config(text))
    for info in COVARIATE_INFO.values():
        assert f"{info['description']} [{info['units']}]" in titles


def test_every_page_shows_run_date_hash_and_version(out_dir, result):
    for page in _html_pages(out_dir):
        text = page.read_text(encoding="utf-8")
        assert result.provenance["run_date"] in text, page.name
        assert result.provenance["definition_sha256"] in text, page.name
        assert f"socbench {result.provenance['socbench_version']}" in text, page.name


def test_distances_explained_on_model_pages(out_dir):
    text = (out_dir / "models" / report.page_names(MODELS)["CESM2"]).read_text(encoding="utf-8")
    for title in ("Importance distance", "Response shape distance", "Sensitivity distance"):
        assert f"{title}</dt><dd>" in text


def test_element_ids_unique_per_page(out_dir):
    for page in _html_pages(out_dir):
        ids = re.findall(r'\sid="([^"]+)"', page.read_text(encoding="utf-8"))
        assert len(ids) == len(set(ids)), page.name


def test_hostile_model_page_escaped(out_dir):
    page = out_dir / "models" / report.page_names(MODELS)[HOSTILE_MODEL]
    text = page.read_text(encoding="utf-8")
    assert f"<h1>{html.escape(HOSTILE_MODEL)}</h1>" in text


def test_model_pages_stay_inside_out_dir(out_dir):
    models_dir = (out_dir / "models").resolve()
    for file_name in report.page_names(MODELS).values():
        path = (models_dir / file_name).resolve()
        assert path.parent == models_dir
        assert path.is_file()
        assert SAFE_NAME.fullmatch(file_name)


# ---------------------------------------------------------------- CMEC bundle


def _strict_json(path: Path):
    def reject(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def test_scores_json_is_cmec_bundle(out_dir, result):
    bundle = _strict_json(out_dir / "scores.json")
    assert bundle["SCHEMA"] == {"name": "CMEC", "version": "v1", "package": "socbench"}
    dimensions = bundle["DIMENSIONS"]
    structure = dimensions["json_structure"]
    assert structure == cmec.STRUCTURE and "model" not in dimensions
    assert list(dimensions["source_id"]) == MODELS
    assert list(dimensions["kind"]) == ["model", "reference"]
    assert list(dimensions["reference_source_id"]) == [cmec.ENVELOPE, *PRODUCTS]
    assert dimensions["reference_source_id"][cmec.ENVELOPE]["products"] == PRODUCTS
    assert set(dimensions["region"]) == set(REGIONS)
    assert {cmec.split_metric(m)[0] for m in METRICS} <= set(dimensions["metric"])
    # every diagnostic is a statistic of a declared metric: no distance reads as a metric's "score"
    diagnostics = set(result.scores.metric) - set(METRICS)
    assert diagnostics and {cmec.split_metric(m)[1] for m in diagnostics} <= {"distance", "kendall_tau", "cv_r2", "n_components"}
    assert {cmec.split_metric(m)[0] for m in diagnostics} <= set(dimensions["metric"]) | {"emulator"}
    assert bundle["PROVENANCE"]["definition_sha256"] == result.provenance["definition_sha256"]
    _assert_nesting(bundle["RESULTS"], structure, dimensions)


def _assert_nesting(node, structure, dimensions):
    if not structure:
        assert node is None or isinstance(node, float)
        return
    assert isinstance(node, dict)
    if len(structure) > 1:  # CMEC: every value of a dimension above the last one
        assert set(node) == set(dimensions[structure[0]])
    for key, child in node.items():
        if key == "attributes":
            assert len(structure) == 1 and set(child) == {"status", "reason", "explanation"}
            continue
        assert key in dimensions[structure[0]]
        _assert_nesting(child, structure[1:], dimensions)


def _leaf(results, model, kind, reference, region, metric):
    """The ``{statistic: value}`` entry of a model (facets unknown: the fake read no CMIP files)."""
    unknown = cmec.UNKNOWN
    return results[model][unknown][unknown][unknown][kind][reference][region][metric]


def test_scores_json_values_equal_scores_table(out_dir, result):
    results = _strict_json(out_dir / "scores.json")["RESULTS"]
    for row in result.scores.itertuples(index=False):
        metric, statistic = cmec.split_metric(row.metric)
        value = _leaf(results, row.model, "model", cmec.ENVELOPE, row.region, metric)[statistic]
        if math.isnan(row.value):
            assert value is None
        else:
            assert value == row.value
    for model in MODELS:
        for row in result.ceiling.itertuples(index=False):
            metric, statistic = cmec.split_metric(row.metric)
            value = _leaf(results, model, "reference", row.product, row.region, metric)[statistic]
            assert value == (None if math.isnan(row.value) else row.value)


def test_scores_json_withheld_scores_are_null_with_their_reason(out_dir, result):
    results = _strict_json(out_dir / "scores.json")["RESULTS"]
    withheld = result.assessments[result.assessments["status"] == "withheld"]
    assert len(withheld)
    for row in withheld.itertuples(index=False):
        leaf = _leaf(results, row.model, "model", cmec.ENVELOPE, row.region, row.metric)
        assert leaf["score"] is None
        assert leaf["attributes"]["reason"] == row.reason and leaf["attributes"]["explanation"]
    scored = result.assessments[result.assessments["status"] == "scored"].iloc[0]
    assert "attributes" not in _leaf(results, scored.model, "model", cmec.ENVELOPE, scored.region, scored.metric)


def test_output_json_lists_every_page_and_table(out_dir):
    bundle = _strict_json(out_dir / "output.json")
    assert bundle["index"] == "index.html"
    listed = {entry["filename"] for section in ("html", "plots", "data") for entry in bundle[section].values()}
    written = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file() and not p.name.startswith(".")}
    written.discard("output.json")
    assert listed == written
    assert {"index.html", "compare.html"} <= set(bundle["html"]) and "scores.csv" in bundle["data"]
    assert bundle["provenance"]["obsdata"].keys() == set(PRODUCTS)


def test_provenance_json(out_dir, result):
    assert _strict_json(out_dir / "provenance.json") == result.provenance


# ---------------------------------------------------------------- CSVs


@pytest.mark.parametrize("file_name", sorted(CSV_COLUMNS))
def test_csv_columns_exact(out_dir, file_name):
    assert list(pd.read_csv(out_dir / file_name).columns) == CSV_COLUMNS[file_name]


@pytest.mark.parametrize(("file_name", "attribute"), [
    ("scores.csv", "scores"), ("ceiling.csv", "ceiling"), ("importances.csv", "importances"),
    ("responses.csv", "responses"), ("drivers.csv", "drivers"),
])
def test_csv_floats_round_trip(out_dir, result, file_name, attribute):
    written = pd.read_csv(out_dir / file_name)
    original = getattr(result, attribute)
    for column in original.select_dtypes("float").columns:
        np.testing.assert_array_equal(written[column].to_numpy(), original[column].to_numpy())


def test_failures_csv(out_dir):
    failures = pd.read_csv(out_dir / "failures.csv")
    assert list(failures.itertuples(index=False, name=None)) == [FAILURE]


# ---------------------------------------------------------------- atomic write


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_failed_write_leaves_existing_report_untouched(tmp_path, monkeypatch):
    target = tmp_path / "report"
    (target / "models").mkdir(parents=True)
    (target / "index.html").write_text("previous scorecard")
    (target / ".socbench-output").write_text("")
    (target / "models" / "old.html").write_text("previous model page")
    before = _snapshot(target)

    calls = []
    real = write_module.difference_map_png

    def fails_on_second_page(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # midway: the first model page is already in the staging directory
            raise RuntimeError("plotting failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(write_module, "difference_map_png", fails_on_second_page)
    with pytest.raises(RuntimeError, match="plotting failed"):
        report.write_report(make_fake_result(), target)
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(write_module, "difference_map_png", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        report.write_report(make_fake_result(), tmp_path / "report")
    assert list(tmp_path.iterdir()) == []


def test_successful_write_replaces_old_report(tmp_path):
    target = tmp_path / "nested" / "report"
    target.mkdir(parents=True)
    (target / ".socbench-output").write_text("")  # an earlier report: socbench may replace it
    (target / "stale.txt").write_text("from an earlier run")
    report.write_report(make_fake_result(with_failure=False), target)
    assert not (target / "stale.txt").exists()
    assert (target / "index.html").is_file()
    assert sorted(p.name for p in target.parent.iterdir()) == ["report"]


def test_refuses_to_replace_a_file(tmp_path):
    target = tmp_path / "report"
    target.write_text("not a directory")
    with pytest.raises(SocbenchError, match="not a directory"):
        report.write_report(make_fake_result(), target)
    assert target.read_text() == "not a directory"


def test_no_failures_section_when_all_succeeded(tmp_path):
    index = report.write_report(make_fake_result(with_failure=False), tmp_path / "ok")
    text = index.read_text(encoding="utf-8")
    assert 'id="failures"' not in text
    assert "status-ok" in text


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize("name", NASTY_NAMES)
def test_safe_filename_properties(name):
    safe = report.safe_filename(name)
    assert SAFE_NAME.fullmatch(safe)
    assert not safe.startswith((".", "-"))
    assert ".." not in safe
    assert len(safe) <= 96
    assert safe.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL"}
    assert report.safe_filename(safe) == safe  # idempotent


def test_safe_filename_keeps_ordinary_names():
    assert report.safe_filename("IPSL-CM6A-LR") == "IPSL-CM6A-LR"
    assert report.safe_filename("CESM2.1_r1i1p1f1") == "CESM2.1_r1i1p1f1"


def test_page_names_deduplicate_collisions():
    models = ["a/b", "a_b", "A_B", "a?b", "a/b"]
    pages = report.page_names(models)
    assert list(pages) == ["a/b", "a_b", "A_B", "a?b"]
    stems = [name.lower() for name in pages.values()]
    assert len(set(stems)) == len(stems)
    assert all(SAFE_NAME.fullmatch(name) and name.endswith(".html") for name in pages.values())


# ---------------------------------------------------------------- colours


def test_score_colours_palette_and_contrast():
    low_background, low_text = report.score_colours(0.0)
    high_background, high_text = report.score_colours(1.0)
    assert (low_background, low_text) == ("#440154", "#ffffff")
    assert (high_background, high_text) == ("#fde725", "#000000")
    assert report.score_colours(float("nan"))[0] == "#d9d9d9"
    assert report.score_colours(1.7) == report.score_colours(1.0)


# ---------------------------------------------------------------- terminal summary


def test_summary_table(result):
    text = report.summary_table(result)
    for product in PRODUCTS:
        assert f"ceiling: {product}" in text
    assert "CESM2" in text and "IPSL-CM6A-LR" in text
    assert FAILURE[0] in text
    assert "partial" in text
    assert max(len(line) for line in text.splitlines()) <= 120
    global_overall = result.scores.query("model == 'CESM2' and region == 'global' and metric == 'overall'")
    assert f"{global_overall['value'].iloc[0]:.2f}" in text


def test_summary_table_without_scores():
    result = make_fake_result()
    result.scores = result.scores.iloc[0:0]
    result.ceiling = result.ceiling.iloc[0:0]
    text = report.summary_table(result)
    assert "No scores." in text and "failed" in text


def test_summary_table_strips_terminal_escapes():
    result = make_fake_result(models=["evil\x1b[31mred", "plain"])
    assert "\x1b" not in report.summary_table(result)


def test_hostile_region_and_covariate_names_escaped_in_figures(tmp_path):
    result = make_fake_result(
        regions=["global", "<img src=x onerror=alert(1)>", "a $x$ & b"], covariates=["<i>t</i>", "p$", "c"]
    )
    report.write_report(result, tmp_path / "report")
    for page in _html_pages(tmp_path / "report"):
        text = page.read_text(encoding="utf-8")
        assert "<img src=x" not in text and "<i>t</i>" not in text, page.name
    for script in (tmp_path / "report" / "data").glob("*.js"):
        assert script.read_text(encoding="ascii").isascii()


def test_hostile_model_name_is_text_on_every_page(out_dir):
    raw = HOSTILE_MODEL.split("/")[0]
    for page in _html_pages(out_dir):
        text = page.read_text(encoding="utf-8")
        assert raw not in text, page.name
    assert html.escape(HOSTILE_MODEL) in (out_dir / "compare.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- spreadsheet formulas


def test_csv_cells_cannot_run_as_spreadsheet_formulas(tmp_path):
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-cmd", "@SUM(A1)", "plain"]
    result = make_fake_result(models=hostile)
    out = tmp_path / "r"
    report.write_report(result, out)
    written = pd.read_csv(out / "scores.csv")
    names = set(written["model"])
    assert names == {"'=HYPERLINK(\"http://x\")", "'+1", "'-cmd", "'@SUM(A1)", "plain"}
    np.testing.assert_array_equal(written["value"].to_numpy(), result.scores["value"].to_numpy())  # numbers kept
    assert set(baseline_module.load_baseline(out).models) == set(hostile)  # read back as they were


def test_negative_numbers_stay_numbers():
    table = pd.DataFrame({"name": ["-x", "ok"], "value": [-0.5, 1.0]})
    from socbench.report.files import neutralise_formulas

    safe = neutralise_formulas(table)
    assert list(safe["name"]) == ["'-x", "ok"] and list(safe["value"]) == [-0.5, 1.0]


# ---------------------------------------------------------------- stocks


def test_stocks_csv_from_the_stocks_table(out_dir, result):
    written = pd.read_csv(out_dir / "stocks.csv")
    np.testing.assert_array_equal(written["stock_pg"].to_numpy(), result.stocks["stock_pg"].to_numpy())
    assert list(written["dataset"]) == list(result.stocks["dataset"])


# ---------------------------------------------------------------- baseline and comparison


@pytest.fixture(scope="module")
def baseline_out(out_dir, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("with-baseline") / "out"
    report.write_report(make_fake_result(seed=5), directory, baseline=out_dir)
    return directory


def test_changes_since_baseline_regressions_first(baseline_out, out_dir):
    changes = pd.read_csv(baseline_out / "changes.csv")
    deltas = changes["delta"].dropna().to_numpy()
    assert len(deltas) > 0 and np.all(np.diff(deltas) >= 0)
    new, old = pd.read_csv(baseline_out / "scores.csv"), pd.read_csv(out_dir / "scores.csv")
    row = changes.iloc[0]

    def pick(table: pd.DataFrame) -> float:
        match = (table["model"] == row["model"]) & (table["region"] == row["region"]) & (table["metric"] == row["metric"])
        return float(table.loc[match, "value"].iloc[0])

    assert row["delta"] == pytest.approx(pick(new) - pick(old))
    index = (baseline_out / "index.html").read_text(encoding="utf-8")
    assert 'id="changes"' in index and "delta-down" in index and "delta-up" in index


def test_model_page_shows_changes_and_links_the_version_comparison(baseline_out):
    text = (baseline_out / "models" / "CESM2.html").read_text(encoding="utf-8")
    assert 'id="changes"' in text
    assert 'href="../compare.html#a=CESM2%20%28baseline%29&amp;b=CESM2"' in text


def test_comparison_page_offers_both_versions(baseline_out):
    text = (baseline_out / "compare.html").read_text(encoding="utf-8")
    config = _page_config(text)
    assert config["compare"]["a"] == f"{config['compare']['b']} (baseline)"
    assert set(config["compare"]["scores"]["values"]) >= {*MODELS, *(f"{m} (baseline)" for m in MODELS)}
    for key in config["data"]:
        assert (baseline_out / "data" / f"{key}.js").is_file()
    assert any(key.startswith("baseline-") for key in config["data"])


def test_bare_scores_csv_baseline(out_dir, tmp_path):
    new = make_fake_result(seed=5)
    report.write_report(new, tmp_path / "r", baseline=out_dir / "scores.csv")
    changes = pd.read_csv(tmp_path / "r" / "changes.csv").set_index(["model", "region", "metric"])
    old = pd.read_csv(out_dir / "scores.csv").set_index(["model", "region", "metric"])["value"]
    now = new.scores.set_index(["model", "region", "metric"])["value"]
    key = ("CESM2", "global", "overall")
    assert changes.loc[key, "delta"] == pytest.approx(now[key] - old[key], abs=1e-9) and changes.loc[key, "delta"] != 0


@pytest.mark.parametrize("content", ["model,region\nx,y\n", "\x00\x01binary"])
def test_bad_baseline_is_one_line_error_before_writing(tmp_path, content):
    bad = tmp_path / "scores.csv"
    bad.write_text(content)
    with pytest.raises(InputDataError) as caught:
        report.write_report(make_fake_result(), tmp_path / "r", baseline=bad)
    message = str(caught.value)
    assert "\n" not in message and str(bad) in message
    assert not (tmp_path / "r").exists()


# ---------------------------------------------------------------- view data


def _scored_terms(result, model: str) -> dict[tuple[str, str], float]:
    """Each judged (region, driver) pair's terms of the model's scored shape and sensitivity distances, by hand."""
    drivers = result.drivers[(result.drivers["dataset"] == model) & result.drivers["judged"].astype(bool)]
    withheld = {(r, m) for mo, r, m, s in result.assessments[["model", "region", "metric", "status"]].itertuples(
        index=False, name=None) if mo == model and s == "withheld"}
    terms = {}
    for row in drivers.itertuples(index=False):
        weight = row.observed_share / drivers.loc[drivers["region"] == row.region, "observed_share"].sum()
        shape = weight * (1 - row.shape_correlation) / 2 if (row.region, "response") not in withheld else 0.0
        ratio = row.sensitivity_ratio if np.isfinite(row.sensitivity_ratio) else 1.0
        sensitivity = weight * (1 - min(ratio, 1 / ratio)) if (row.region, "sensitivity") not in withheld else 0.0
        terms[(row.region, row.covariate)] = shape + sensitivity
    return terms


def test_worst_pairs_follow_the_scored_distances():
    """Issue 15 item 5: ranked by each pair's terms of the scored shape and sensitivity distances."""
    result = make_fake_result()
    plant_driver(result, "CESM2", "global", "clay", shape_correlation=-0.9, observed_share=0.6)
    worst = model_page.worst_pairs(result, "CESM2", n=100)
    assert (worst[0]["region"], worst[0]["covariate"]) == ("global", "clay")
    terms = _scored_terms(result, "CESM2")
    assert [(w["region"], w["covariate"]) for w in worst] == sorted(
        (key for key, cost in terms.items() if cost > 0), key=lambda key: -terms[key])
    assert all(w["cost"] == pytest.approx(terms[(w["region"], w["covariate"])]) for w in worst)
    assert len(model_page.worst_pairs(result, "CESM2")) == 3


def test_worst_pairs_skip_withheld_regions():
    result = make_fake_result()
    _, region_index, components, _ = WITHHELD[0]
    assert set(components) == {"response", "sensitivity"}
    for model in MODELS:
        assert REGIONS[region_index] not in {w["region"] for w in model_page.worst_pairs(result, model, n=100)}


def test_opposite_sign_response_is_named_on_the_model_page(tmp_path):
    """Issue 14: a mirrored precipitation response is said in words, with its correlation."""
    result = make_fake_result()
    plant_driver(result, "CESM2", "Tropical forest", "precipitation", shape_correlation=-0.93)
    out = tmp_path / "r"
    report.write_report(result, out)
    page = (out / "models" / report.page_names(result.models)["CESM2"]).read_text(encoding="utf-8")
    sentence = "precipitation: SOC responds with the opposite sign to the observations' (r = \u22120.93)"
    opposite = re.search(r'<ul class="opposite".*?</ul>', page, re.S).group(0)
    assert f"<strong>Tropical forest</strong>, {escape(sentence)}" in opposite
    assert opposite.count("<li>") == int((result.drivers.query("dataset == 'CESM2'")["shape_correlation"] < -0.5).sum())
    other = (out / "models" / report.page_names(result.models)["IPSL-CM6A-LR"]).read_text(encoding="utf-8")
    assert 'class="opposite"' not in other


def test_a_nearly_flat_response_is_not_called_of_the_opposite_sign(tmp_path):
    """The sign of a flat curve's correlation is noise: say it is flat instead."""
    result = make_fake_result()
    plant_driver(result, "CESM2", "Tropical forest", "precipitation", shape_correlation=-0.93,
                 sensitivity_ratio=0.03)
    (row,) = [r for r in model_page.drivers.driver_table(result, "CESM2", REGIONS)
              if (r["region"], r["covariate"]) == ("Tropical forest", "precipitation")]
    assert row["shape"] == "\u22120.93 (nearly flat)"
    assert ("Tropical forest", "precipitation") not in {
        (o["region"], o["covariate"]) for o in model_page.drivers.opposite_signs(result, "CESM2")}


def test_every_judged_driver_shows_its_sensitivity_ratio_and_the_observed_range(tmp_path):
    result = make_fake_result()
    plant_driver(result, "CESM2", "global", "clay", sensitivity_ratio=4.8, observed_ratio_low=0.9,
                 observed_ratio_high=1.1)
    result.drivers.loc[(result.drivers["dataset"] == "CESM2") & (result.drivers["region"] == "global")
                       & (result.drivers["covariate"] == "temperature"), "judged"] = False
    out = tmp_path / "r"
    index = report.write_report(result, out).read_text(encoding="utf-8")
    page = (out / "models" / "CESM2.html").read_text(encoding="utf-8")
    table = re.search(r'<table class="drivers">.*?</table>', page, re.S).group(0)
    judged = result.drivers.query("dataset == 'CESM2' and judged")
    assert table.count('<tr><th scope="row">') == len(judged)
    assert "clay sensitivity 4.8× observed (products 0.9–1.1×)" in table
    assert '<tr><th scope="row">global</th><td>temperature</td>' not in table  # not judged: not shown
    assert '<tr><th scope="row">global</th><td>clay</td>' in table
    # the scorecard's sensitivity cell names the ratio farthest from 1
    row = re.search(r'<th scope="row" class="name"[^>]*><a [^>]*>CESM2</a></th>.*?</tr>',
                    _table(index, "sensitivity"), re.S).group(0)
    cell = re.findall(r'<td class="score.*?</td>', row, re.S)[REGIONS.index("global")]
    assert "Largest ratio: clay sensitivity 4.8× observed (products 0.9–1.1×)." in cell


def test_capped_cells_are_scored_with_a_marker_and_the_reason(result, index_html, out_dir):
    """A model whose emulator is unreliable keeps its driver scores, capped at the null's: not shown as withheld."""
    model, region = MODELS[CAPPED[0]], REGIONS[CAPPED[1]]
    for metric in ("importance", "response", "sensitivity"):
        body = re.search(r'<tbody class="models">.*?</tbody>', _table(index_html, metric), re.S).group(0)
        row = re.search(rf'<th scope="row" class="name"[^>]*><a [^>]*>{model}</a></th>.*?</tr>', body, re.S).group(0)
        cell = re.findall(r'<td class="score.*?</td>', row, re.S)[REGIONS.index(region)]
        value = result.scores.query("model == @model and region == @region and metric == @metric")["value"].iloc[0]
        assert cell.startswith('<td class="score scored capped"'), cell
        assert f">{value:.2f}</a>" in cell and '<small class="capped-mark" aria-hidden="true">≤null</small>' in cell
        assert str(escape(f"Capped: {reason_text('model_emulator_unreliable', sentence=False)}.")) in cell
    written = pd.read_csv(out_dir / "assessments.csv").query("status == 'capped'")
    assert set(zip(written["model"], written["region"], written["reason"])) == {
        (model, region, "model_emulator_unreliable")}


def test_an_overall_capped_at_the_null_is_marked_too(index_html):
    """Its overall is at most the null reference's (docs/method.md): the reader sees why it is that low."""
    model, region = MODELS[CAPPED[0]], REGIONS[CAPPED[1]]
    body = re.search(r'<tbody class="models">.*?</tbody>', _table(index_html, "overall"), re.S).group(0)
    row = re.search(rf'<th scope="row" class="name"[^>]*><a [^>]*>{model}</a></th>.*?</tr>', body, re.S).group(0)
    cells = re.findall(r'<td class="score.*?</td>', row, re.S)
    assert '<small class="capped-mark" aria-hidden="true">≤null</small>' in cells[REGIONS.index(region)]
    assert sum("capped-mark" in cell for cell in cells) == 1


def test_null_reference_is_not_defined_on_the_field_components(index_html):
    for metric in ("total_stock", "ilamb_bias", "spatial_distribution"):
        references = re.search(r'<tbody class="references">.*?</tbody>', _table(index_html, metric), re.S).group(0)
        null_row = re.search(r'<tr class="null">.*?</tr>', references, re.S).group(0)
        assert null_row.count('class="score withheld"') == len(REGIONS)
        assert str(escape(reason_text("not_defined"))) in null_row


def test_region_wide_withheld_reason_shown_on_the_reference_rows(index_html):
    _, region_index, components, reason = WITHHELD[0]
    references = re.search(r'<tbody class="references">.*?</tbody>', _table(index_html, components[0]), re.S).group(0)
    for row in re.findall(r"<tr class=.*?</tr>", references, re.S):
        cell = re.findall(r'<td class="score.*?</td>', row, re.S)[region_index]
        assert 'class="score withheld"' in cell and str(escape(reason_text(reason))) in cell


def test_flagged_products_are_marked_in_the_chart_data(out_dir):
    """Issue 15 item 5: flagged products carry their flag in the region, so the charts draw them apart."""
    for product, region, flag, _ in PRODUCT_FLAGS:
        script = (out_dir / "data" / f"product-{product}.js").read_text(encoding="utf-8")
        payload = json.loads(script.split("]=", 1)[1].rstrip(";\n"))
        for name in ("importance", "response"):
            columns = payload[name]["columns"]
            rows = [dict(zip(columns, row)) for row in payload[name]["rows"]]
            flagged = {r["region"] for r in rows if r["flag"]}
            assert region in flagged
            assert all(flag.replace("_", " ") in r["flag"] for r in rows if r["region"] == region)
    spec = json.dumps(_page_config((out_dir / "models" / "CESM2.html").read_text(encoding="utf-8")))
    assert '"strokeDash": {"condition": {"test": "datum.flag"' in spec


def test_plotted_interval_contains_the_estimate(result):
    payload = pagedata.dataset_payload("CESM2", "model", result.importances, result.responses, {})
    for name, value_column in (("importance", "share"), ("response", "y")):
        columns = payload[name]["columns"]
        rows = [dict(zip(columns, row)) for row in payload[name]["rows"]]
        assert all(r["low"] <= r[value_column] <= r["high"] for r in rows)
        # the raw 5-95 % range is kept for the tooltip, its width unchanged
        assert all(r["high"] - r["low"] == pytest.approx(r["raw_high"] - r["raw_low"], abs=2e-3)
                   for r in rows if r["low"] > 0)


def test_relative_colours_follow_the_column():
    column = [0.2, 0.4, 0.6]
    low, high = values.relative_colours(0.2, column), values.relative_colours(0.6, column)
    assert low != high
    assert values.relative_colours(0.5, [0.5]) == values.relative_colours(0.9, [0.9])  # one model: neutral
    for background, text in (low, high):
        assert values.contrast_ratio(background, text) >= 4.5


def test_ok_badge_contrast_meets_wcag_aa():
    from socbench.resources import resource_dir

    css = (resource_dir("templates") / "assets" / "scorecard.css").read_text()
    good = re.search(r"--good:\s*(#[0-9a-f]{6})", css).group(1)
    background = re.search(r"\.status-ok \{ background: (#[0-9a-f]{6})", css).group(1)
    assert values.contrast_ratio(background, good) >= 4.5


# ---------------------------------------------------------------- command line and CI summary


def test_run_refuses_an_unreadable_baseline_before_running(tmp_path, capsys):
    from socbench.cli import EXIT_FAILED, main
    from socbench.resources import benchmark_path

    missing = tmp_path / "no-such-scorecard"
    code = main(["run", str(benchmark_path("demo")), "--data-root", str(tmp_path), "--out", str(tmp_path / "out"),
                 "--baseline", str(missing), "--quiet", "--no-cache"])
    error = capsys.readouterr().err
    assert code == EXIT_FAILED
    assert str(missing) in error and "baseline" in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_check_summary_markdown_escapes_untrusted_text():
    from socbench.check import COMPARISON_COLUMNS, CheckResult, markdown_summary

    result = make_fake_result()
    comparison = pd.DataFrame([["<img src=x onerror=alert(1)>", "a|b", "overall", 0.5, 0.4, -0.1, "regressed"]],
                              columns=COMPARISON_COLUMNS)
    summary = markdown_summary(CheckResult(result=result, comparison=comparison, baseline="base", tolerance=0.02))
    assert "<img" not in summary and "<b>not bold</b>" not in summary
    assert "&lt;b&gt;not bold&lt;/b&gt;" in summary
    table_rows = [line for line in summary.splitlines() if line.startswith("| &lt;img")]
    assert table_rows and all(line.count(" | ") == 6 for line in table_rows)  # the "|" in a name stays in its cell


# ---------------------------------------------------------------- run notes: skipped, non-finite cells, input notes


def test_skipped_datasets_listed_and_written(out_dir, index_html):
    dataset, kind, region, reason = SKIPPED
    section = re.search(r'<section id="skipped".*?</section>', index_html, re.S).group(0)
    row = re.search(rf'<tr><th scope="row">{dataset}</th>.*?</tr>', section, re.S).group(0)
    assert all(str(escape(v)) in row for v in (kind, region, reason))
    assert list(pd.read_csv(out_dir / "skipped.csv").itertuples(index=False, name=None)) == [SKIPPED]
    assert 'href="#skipped"' in index_html and 'href="skipped.csv"' in index_html


def test_skipped_product_explains_its_missing_ceiling_cell(index_html):
    dataset, _, region, reason = SKIPPED
    references = re.search(r'<tbody class="references">.*?</tbody>', _table(index_html, "overall"), re.S).group(0)
    assert f'title="{dataset}, {region}, Overall: Not scored for coverage: {escape(reason)}."' in references


def test_no_skipped_section_without_skipped_datasets(tmp_path):
    result = make_fake_result()
    result.skipped = result.skipped.iloc[0:0]
    text = report.write_report(result, tmp_path / "r").read_text(encoding="utf-8")
    assert 'id="skipped"' not in text


def test_nonfinite_counts_and_input_notes_shown(index_html):
    section = re.search(r'<section id="inputs".*?</section>', index_html, re.S).group(0)
    counts = re.search(r'<ul class="nonfinite">.*?</ul>', section, re.S).group(0)
    shown = {name: count for name, count in NONFINITE_CELLS.items() if count}
    assert shown and all(f"<strong>{name}</strong>: {count} cell(s)" in counts for name, count in shown.items())
    assert not any(f"<strong>{name}</strong>" in counts for name, count in NONFINITE_CELLS.items() if not count)
    for note in INPUT_NOTES:
        assert f"<li>{escape(note)}</li>" in section


def test_no_inputs_section_when_nothing_was_masked(tmp_path):
    result = make_fake_result()
    result.provenance["nonfinite_cells"] = {name: 0 for name in NONFINITE_CELLS}
    result.provenance["input_notes"] = []
    text = report.write_report(result, tmp_path / "r").read_text(encoding="utf-8")
    assert 'id="inputs"' not in text


# ---------------------------------------------------------------- overall resting on fewer components


def test_overall_marks_how_many_components_it_rests_on(result, index_html):
    model_index, region_index, components, reason = WITHHELD[0]
    model, region = MODELS[model_index or 0], REGIONS[region_index]
    count = int(result.scores.query("model == @model and region == @region and metric == 'overall_components'")
                ["value"].iloc[0])
    assert count < 7
    body = re.search(r'<tbody class="models">.*?</tbody>', _table(index_html, "overall"), re.S).group(0)
    row = re.search(rf'<th scope="row" class="name"[^>]*><a [^>]*>{model}</a></th>.*?</tr>', body, re.S).group(0)
    cell = re.findall(r'<td class="score.*?</td>', row, re.S)[REGIONS.index(region)]
    assert f'<small class="rests-on" aria-hidden="true">{count}/7</small>' in cell
    tip = re.search(r'role="tooltip"[^>]*>(.*?)</span>', cell, re.S).group(1)
    assert f"Rests on {count} of the 7 components" in tip
    assert str(escape(reason_text(reason, sentence=False))) in tip


def test_full_overall_has_no_marker(result, index_html):
    full = result.scores.query("metric == 'overall_components' and value == 7")
    assert len(full) > 0
    assert index_html.count('class="rests-on"') < len(result.scores.query("metric == 'overall'"))


# ---------------------------------------------------------------- model page


def test_model_page_shows_benchmark_description(out_dir, result):
    text = (out_dir / "models" / report.page_names(MODELS)["CESM2"]).read_text(encoding="utf-8")
    assert f'<p class="description">{escape(result.provenance["definition_description"])}</p>' in text


# ---------------------------------------------------------------- terminal summary of withheld scores


def test_summary_marks_withheld_scores_and_lists_null_and_skipped():
    result = make_fake_result()
    model = MODELS[0]
    withheld = (result.assessments["model"] == model) & (result.assessments["region"] == "global") & (
        result.assessments["metric"] == "importance")
    result.assessments.loc[withheld, ["status", "reason"]] = ["withheld", "products_unreliable"]
    score = (result.scores["model"] == model) & (result.scores["region"] == "global") & (
        result.scores["metric"] == "importance")
    result.scores.loc[score, "value"] = np.nan
    text = report.summary_table(result)
    components = text[text.index("Component scores"):]
    header, *rows = components.splitlines()[1:]
    row = next(line for line in rows if line.startswith(model))
    assert row.split()[2] == "n/a"  # columns: name, overall, importance, ...
    assert "nan" not in text.lower().replace("financ", "")
    for title in ("importance", "response", "sensitivity", "explained_v"):
        assert title in header
    for title in ("total_stock", "ilamb_bias", "spatial_dis"):  # the field components, in a second block
        assert title in components.split("\n\n")[0]
    null_row = next(line for line in components.splitlines() if line.startswith("null reference") and "n/a" in line)
    assert null_row  # the null reference is not defined on the field components
    assert "null reference" in components
    assert "Not scored for coverage (1;" in text and SKIPPED[0] in text
    for product, region, flag, _ in PRODUCT_FLAGS:
        assert f"Warning: product {product} flagged {flag} in 1 region(s): {region}" in text


# ---------------------------------------------------------------- a real pipeline result


@pytest.fixture(scope="module")
def real_report(small_world, small_definition, tmp_path_factory):
    """A scorecard of a real run of the small world, with one infinite value in a product.

    GSOCmap-like's SOC values are shuffled in space: its stock is unchanged,
    but no driver explains it, so its emulator is unreliable and it is left
    out of the envelope (a flagged product).
    """
    import shutil

    import xarray as xr

    from socbench.pipeline import run

    world = tmp_path_factory.mktemp("real-world") / "world"
    shutil.copytree(small_world, world)
    path = next(world.glob("obs/soc/HWSD-like/*.nc"))
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    ds["soc"][10, 20] = np.inf
    ds.to_netcdf(path)
    path = next(world.glob("obs/soc/GSOCmap-like/*.nc"))
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    values = ds["soc_stock"].values
    valid = np.isfinite(values) & (values > 0)
    values[valid] = np.random.default_rng(3).permutation(values[valid])
    ds["soc_stock"].values = values
    ds.to_netcdf(path)
    with pytest.warns(SocbenchWarning, match="1 infinite value"):
        result = run(small_definition, world, workers=1)
    out = tmp_path_factory.mktemp("real-report") / "out"
    report.write_report(result, out)
    return result, out


def test_real_result_renders_components_withheld_ceiling_and_null(real_report):
    from socbench.results import COMPONENTS
    from socbench.report.tables import metric_title

    result, out = real_report
    index = (out / "index.html").read_text(encoding="utf-8")
    for metric in ("overall", *COMPONENTS):
        assert f'<h3 id="title-{metric}">{escape(metric_title(metric))}</h3>' in index
    capped = result.assessments[result.assessments["status"] == "capped"]
    assert len(capped) > 0  # the small world's unrelated model has an unreliable emulator
    model, region, metric, _, reason, _ = capped.iloc[0]
    cells = re.findall(r'<td class="score scored capped".*?</td>', _table(index, metric), re.S)
    assert any(str(escape(reason_text(reason, sentence=False))) in cell for cell in cells), (model, region, metric)
    for model, region, metric, _, reason, _ in result.assessments[result.assessments["status"] == "withheld"].head(5).itertuples(index=False):
        cells = re.findall(r'<td class="score withheld">.*?</td>', _table(index, metric), re.S)
        assert any(str(escape(reason_text(reason))) in cell for cell in cells), (model, region, metric, reason)
    references = re.search(r'<tbody class="references">.*?</tbody>', _table(index, "overall"), re.S).group(0)
    for product in result.ceiling["product"].unique():
        assert f">ceiling: {product}</th>" in references
    assert ">null reference</th>" in references
    assert re.search(r'class="rests-on" aria-hidden="true">[0-6]/7<', index) or "/7<" not in index
    assert "<strong>HWSD-like</strong>: 1 cell(s)" in index
    assert list(pd.read_csv(out / "skipped.csv").columns) == results.SKIPPED_COLUMNS
    assert "nan" not in report.summary_table(result).lower()


def _data_rows(path: Path, name: str) -> pd.DataFrame:
    """One table of a chart data script (``data/<key>.js``) as the page script expands it."""
    payload = json.loads(path.read_text(encoding="utf-8").split("]=", 1)[1].rstrip(";\n"))
    return pd.DataFrame(payload[name]["rows"], columns=payload[name]["columns"])


def test_charted_envelope_is_the_scored_consensus_of_the_unflagged_products(real_report):
    """Issue 15 item 5: the observed range and centre drawn are those of the products the scores use."""
    result, out = real_report
    emulators = result.emulators[result.emulators["kind"] == "observation"]
    left_out = {(d, r) for d, r, ok in emulators[["dataset", "region", "reliable"]].itertuples(index=False, name=None)
                if not ok}
    left_out |= {(p, r) for p, r, f in result.product_flags[["product", "region", "flag"]].itertuples(
        index=False, name=None) if f == "outlier"}
    assert ("GSOCmap-like", "global") in left_out  # the shuffled product
    charted = _data_rows(out / "data" / "envelope.js", "envelope_importance").set_index(["region", "covariate"])
    products = result.importances[result.importances["kind"] == "observation"]
    observed = result.drivers[result.drivers["kind"] == "model"].drop_duplicates(["region", "covariate"])
    compared = 0
    for (region, covariate), group in products.groupby(["region", "covariate"]):
        kept = group[[(d, region) not in left_out for d in group["dataset"]]]
        row = charted.loc[(region, covariate)]
        assert row["centre"] == pytest.approx(kept["share"].mean(), abs=1e-4)
        assert row["low"] == pytest.approx(min(kept["share"].min(), kept["share_low"].min()), abs=1e-4)
        assert row["high"] == pytest.approx(max(kept["share"].max(), kept["share_high"].max()), abs=1e-4)
        scored = observed[(observed["region"] == region) & (observed["covariate"] == covariate)]["observed_share"]
        assert row["centre"] == pytest.approx(float(scored.iloc[0]), abs=1e-4)  # the consensus the scores use
        compared += 1
    assert compared >= len(result.covariates) * 3
    flagged = _data_rows(out / "data" / "product-GSOCmap-like.js", "response")
    assert flagged["flag"].str.contains("unreliable emulator").all()
    assert not _data_rows(out / "data" / "product-HWSD-like.js", "response")["flag"].astype(bool).any()


def test_shape_and_sensitivity_terms_add_up_to_the_scored_distances(real_report):
    """The worst pairs are ranked by terms that sum, per region, to the scores' own distances."""
    result, _ = real_report
    checked = 0
    for model in result.models:
        table = model_page.drivers.model_drivers(result, model)
        scores = result.scores[result.scores["model"] == model].set_index(["region", "metric"])["value"]
        for region, group in table.groupby("region"):
            for metric, column in (("response_distance", "shape_distance"),
                                   ("sensitivity_distance", "sensitivity_distance")):
                if (region, metric) in scores.index and np.isfinite(scores[(region, metric)]):
                    assert group[column].sum() == pytest.approx(scores[(region, metric)], abs=1e-9), (model, region)
                    checked += 1
    assert checked >= 4


def test_difference_summary_uses_the_runs_cell_weights_not_cos_latitude():
    """Issue 11 item 7: a half-land cell counts half, as it does in every score and stock."""
    import xarray as xr

    from socbench.report.maps import difference_summary

    values = np.array([[1.0, 3.0]])
    weight = np.array([[1.0, 0.25]])  # same latitude: cos-latitude weights would be equal
    difference = xr.DataArray(values, dims=("lat", "lon"), coords={"lat": [10.0], "lon": [0.0, 1.0],
                                                                   "weight": (("lat", "lon"), weight)})
    summary = difference_summary(difference)
    assert summary["mean"] == pytest.approx((1.0 * 1.0 + 3.0 * 0.25) / 1.25)
    with pytest.raises(ValueError, match="weight"):
        difference_summary(difference.drop_vars("weight"))


# ---------------------------------------------------------------- values tables of the charts


def test_every_chart_names_the_marks_its_values_table_lists(out_dir):
    """The page script finds a figure's values by mark name: each must exist in the compiled Vega spec."""
    vl_convert = pytest.importorskip("vl_convert")
    text = (out_dir / "models" / "CESM2.html").read_text(encoding="utf-8")
    specs = [chart["spec"] for chart in _page_config(text)["charts"]]
    assert specs
    for spec in specs:
        described = spec["usermeta"]["values"]
        compiled = {mark.get("name") for mark in vl_convert.vegalite_to_vega(spec)["marks"]}
        assert set(described["marks"].values()) <= compiled
        assert described["focus"] in {param["name"] for param in spec["params"]}


def _chromium_page(playwright):
    chromium = Path("/usr/bin/chromium")
    if not chromium.is_file():
        pytest.skip(f"needs chromium at {chromium}")
    browser = playwright.chromium.launch(executable_path=str(chromium), args=["--headless", "--no-sandbox"])
    return browser, browser.new_page(viewport={"width": 1280, "height": 900})


@pytest.mark.browser
def test_values_table_holds_one_entry_per_plotted_mark(out_dir, result):
    """Importance figure of CESM2 in Tundra with HWSD-like switched on: one row per point and per observed bar."""
    sync_api = pytest.importorskip("playwright.sync_api")
    shown = ["CESM2", "HWSD-like"]
    region = "Tundra"
    series = result.importances[result.importances["dataset"].isin(shown) & (result.importances["region"] == region)]
    envelope = result.envelope_importance[result.envelope_importance["region"] == region]
    labels = model_page.covariate_labels(result)
    with sync_api.sync_playwright() as playwright:
        browser, page = _chromium_page(playwright)
        try:
            page.goto((out_dir / "models" / "CESM2.html").as_uri())
            page.wait_for_function("document.querySelectorAll('details.chart-values[data-listed]').length"
                                   " === document.querySelectorAll('.chart').length", timeout=15_000)
            page.select_option("#region-picker", region)
            page.check("input.series-toggle[value='HWSD-like']")
            figure = page.eval_on_selector("#importance ~ details.chart-values", "d => d.getAttribute('data-chart')")
            rows_selector = f"details[data-chart='{figure}'] tbody tr"
            page.wait_for_function("([s, n]) => document.querySelectorAll(s).length === n",
                                   arg=[rows_selector, len(series) + len(envelope)], timeout=10_000)
            rows = page.eval_on_selector_all(rows_selector, "rows => rows.map(r => [r.tabIndex,"
                                             " Array.from(r.cells, c => c.textContent)])")
            marks = page.evaluate("id => ['values_marks', 'envelope_marks'].map(name =>"
                                  " document.querySelectorAll('#' + id + ' g.' + name + ' path').length)", figure)
        finally:
            browser.close()
    assert marks == [len(series), len(envelope)]  # the SVG draws exactly the rows listed
    assert all(tab_index == 0 for tab_index, _ in rows)
    expected = {(r.dataset, labels[r.covariate]): r.share for r in series.itertuples()}
    expected |= {("Observed range", labels[r.covariate]): r.centre for r in envelope.itertuples()}
    listed = {(cells[0], cells[1]): float(cells[2].replace("\u2212", "-")) for _, cells in rows}
    assert listed.keys() == expected.keys()
    assert all(abs(listed[key] - value) <= 6e-4 for key, value in expected.items())  # printed to 3 decimals


def test_emulator_table_reports_the_cv_block_size(tmp_path):
    """Issue 7 item 5: the block size used is reported, in emulators.csv and in the scorecard."""
    result = make_fake_result()
    index = report.write_report(result, tmp_path / "out").read_text()
    row = result.emulators.dropna(subset=["cv_block_size"]).iloc[0]
    assert f"CV blocks of {int(round(row.cv_block_size))}°" in index
    emulators = pd.read_csv(tmp_path / "out" / "emulators.csv")
    assert "cv_block_size" in emulators.columns
