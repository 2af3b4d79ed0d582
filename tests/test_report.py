"""Tests of the report stage: files, escaping, CMEC bundle, CSVs, atomic writes."""

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

from socbench import plots, report
from socbench.errors import SocbenchError
from socbench.results import (
    CEILING_COLUMNS,
    EMULATOR_COLUMNS,
    FAILURE_COLUMNS,
    REGION_COLUMNS,
    RESPONSE_COLUMNS,
    SCORE_COLUMNS,
)

try:
    from fake_result import FAILURE, HOSTILE_MODEL, MODELS, PRODUCTS, REGIONS, make_fake_result
except ImportError:  # tests collected as a package
    from tests.fake_result import FAILURE, HOSTILE_MODEL, MODELS, PRODUCTS, REGIONS, make_fake_result

EXPECTED_FILES = [
    "index.html", "scores.json", "scores.csv", "ceiling.csv", "importances.csv", "responses.csv",
    "emulators.csv", "regions.csv", "failures.csv", "provenance.json",
]
CSV_COLUMNS = {
    "scores.csv": SCORE_COLUMNS,
    "ceiling.csv": CEILING_COLUMNS,
    "importances.csv": ["dataset", "region", "covariate", "share", "share_low", "share_high", "kind"],
    "responses.csv": RESPONSE_COLUMNS,
    "emulators.csv": EMULATOR_COLUMNS,
    "regions.csv": REGION_COLUMNS,
    "failures.csv": FAILURE_COLUMNS,
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
    return [out_dir / "index.html", *sorted((out_dir / "models").glob("*.html"))]


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


def test_no_script_elements_anywhere(out_dir):
    for page in _html_pages(out_dir):
        assert "<script" not in page.read_text(encoding="utf-8").lower(), page.name


def test_failure_reason_escaped_and_prominent(index_html):
    dataset, _, reason = FAILURE
    assert str(escape(reason)) in index_html
    assert "<b>not bold</b>" not in index_html
    assert index_html.index("Failed datasets") < index_html.index('id="scores"')
    assert dataset in index_html


def test_no_external_resources(out_dir):
    external = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)
    for page in _html_pages(out_dir):
        text = page.read_text(encoding="utf-8")
        assert not external.search(text), page.name
        assert "<link" not in text.lower()


def test_score_numbers_and_tooltips_appear(result, index_html):
    overall = result.scores[result.scores["metric"] == "overall"]
    for row in overall.itertuples(index=False):
        title = html.escape(f"{row.model}, {row.region}, overall: {row.value:.2f}")
        assert f'title="{title}">{row.value:.2f}</td>' in index_html


def test_missing_score_is_grey_dash(result, index_html):
    missing = result.scores[result.scores["value"].isna()].iloc[0]
    title = html.escape(f"{missing.model}, {missing.region}, {missing.metric}: not available")
    assert re.search(r'<td class="score missing"[^>]*title="' + re.escape(title) + '">–</td>', index_html)


def test_ceiling_rows_for_each_product(index_html):
    for product in PRODUCTS:
        assert f"ceiling: {product}" in index_html
    assert index_html.count('<tbody class="ceiling">') == 5  # overall + 4 components


def test_regions_in_display_order(result, index_html):
    header = re.search(r'<table class="scores" id="scores-overall">.*?</thead>', index_html, re.S).group(0)
    positions = [header.index(f">{html.escape(region)}</th>") for region in REGIONS]
    assert positions == sorted(positions)


def test_unreliable_emulator_flagged(index_html):
    assert 'class="num unreliable"' in index_html


def test_model_links_resolve(out_dir, index_html):
    links = set(re.findall(r'href="(models/[^"]+)"', index_html))
    assert len(links) == len(MODELS)
    for link in links:
        assert (out_dir / html.unescape(link)).is_file()


def test_model_pages_have_figures_and_back_link(out_dir):
    for page in sorted((out_dir / "models").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert 'href="../index.html"' in text
        assert text.count("<svg") == 1 + len(REGIONS)  # importance + one figure per region
        assert 'src="data:image/png;base64,' in text


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
    assert structure == ["model", "region", "metric"]
    assert list(dimensions["model"]) == MODELS
    assert set(dimensions["region"]) == set(REGIONS)
    assert {"overall", "importance", "response", "stock_bias", "spatial_distribution"} <= set(dimensions["metric"])
    assert bundle["PROVENANCE"]["definition_hash"] == result.provenance["definition_hash"]
    _assert_nesting(bundle["RESULTS"], structure, dimensions)


def _assert_nesting(node, structure, dimensions):
    if not structure:
        assert node is None or isinstance(node, float)
        return
    assert isinstance(node, dict)
    for key, child in node.items():
        assert key in dimensions[structure[0]]
        _assert_nesting(child, structure[1:], dimensions)


def test_scores_json_values_equal_scores_table(out_dir, result):
    results = _strict_json(out_dir / "scores.json")["RESULTS"]
    for row in result.scores.itertuples(index=False):
        value = results[row.model][row.region][row.metric]
        if math.isnan(row.value):
            assert value is None
        else:
            assert value == row.value
    assert sum(len(m) for r in results.values() for m in r.values()) == len(result.scores)


def test_provenance_json(out_dir, result):
    assert _strict_json(out_dir / "provenance.json") == result.provenance


# ---------------------------------------------------------------- CSVs


@pytest.mark.parametrize("file_name", sorted(CSV_COLUMNS))
def test_csv_columns_exact(out_dir, file_name):
    assert list(pd.read_csv(out_dir / file_name).columns) == CSV_COLUMNS[file_name]


@pytest.mark.parametrize(("file_name", "attribute"), [
    ("scores.csv", "scores"), ("ceiling.csv", "ceiling"), ("importances.csv", "importances"),
    ("responses.csv", "responses"),
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
    real = plots.response_curves_svgs

    def fails_on_second_page(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # midway: the first model page is already in the staging directory
            raise RuntimeError("plotting failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "response_curves_svgs", fails_on_second_page)
    with pytest.raises(RuntimeError, match="plotting failed"):
        report.write_report(make_fake_result(), target)
    assert _snapshot(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "difference_map_png", lambda *a, **k: 1 / 0)
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
    assert report.safe_filename(name) == safe


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
