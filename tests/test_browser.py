"""The scorecard in a real browser: headless Chromium driven by Playwright.

The pages are written from the small fake result (tests/fake_result.py) and
opened from disk with every request that is not a ``file://`` URL aborted.
Each test checks that the page logged no console error and tried no network
access. axe-core (vendored in tests/fixtures/axe.min.js, MPL-2.0) checks
accessibility. Screenshots go to ``$SOCBENCH_ARTIFACTS`` (default
``.artifacts``) under ``browser/``.

Skipped when Playwright or Debian's chromium (/usr/bin/chromium) is missing;
.ci/run installs both.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from socbench import report
from socbench.report import model_page
from socbench.results import METRICS

try:
    from fake_result import HOSTILE_MODEL, MODELS, make_fake_result
except ImportError:  # tests collected as a package
    from tests.fake_result import HOSTILE_MODEL, MODELS, make_fake_result

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("SOCBENCH_CHROMIUM", "/usr/bin/chromium"))
sync_api = pytest.importorskip("playwright.sync_api", reason="the browser tests need the playwright package")
if not CHROMIUM.is_file():
    pytest.skip(f"the browser tests need chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).parent / "fixtures" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("SOCBENCH_ARTIFACTS", ".artifacts")) / "browser"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def scorecards(tmp_path_factory) -> dict[str, Path]:
    """A baseline scorecard and a second run compared with it."""
    root = tmp_path_factory.mktemp("browser")
    base = root / "baseline"
    report.write_report(make_fake_result(seed=0), base)
    current = root / "current"
    report.write_report(make_fake_result(seed=5), current, baseline=base)
    return {"baseline": base, "current": current}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageLog:
    """Console errors, uncaught exceptions, dialogs and network attempts of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.network: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        page.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith("file://"):
            route.continue_()
        else:
            self.network.append(url)
            route.abort()

    def assert_clean(self):
        assert self.errors == [], self.errors
        assert self.network == [], self.network
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    tab = context.new_page()
    tab.log = PageLog(tab)
    yield tab
    tab.log.assert_clean()
    context.close()


def _open(page, path: Path, fragment: str = "") -> None:
    page.goto(path.as_uri() + fragment)
    page.wait_for_load_state("load")
    expected = page.locator(".chart").count()
    if expected:
        page.wait_for_function(f"document.querySelectorAll('.chart svg').length >= {expected}", timeout=15_000)
        page.wait_for_function(f"document.querySelectorAll('details.chart-values[data-listed]').length >= {expected}")


def _screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path.resolve()}")


def _pages(directory: Path) -> list[Path]:
    return [directory / "index.html", directory / "compare.html", *sorted((directory / "models").glob("*.html"))]


def _visible_column(page, column: int) -> list[float | None]:
    return page.evaluate(
        """column => Array.from(document.querySelectorAll('section.score-table:not([hidden]) tbody.models tr'))
             .map(row => row.children[column].getAttribute('data-sort'))
             .map(value => value === null ? null : parseFloat(value))""", column)


# ---------------------------------------------------------------- index


def test_index_sorts_by_a_column(page, scorecards):
    _open(page, scorecards["current"] / "index.html")
    ranked = _visible_column(page, 2)
    assert ranked == sorted(ranked, reverse=True)  # ranked by overall in "global" by default
    tundra = page.locator("section.score-table:not([hidden]) button.sort", has_text="Tundra")
    tundra.click()
    descending = _visible_column(page, 4)
    finite = [v for v in descending if v is not None]
    assert finite == sorted(finite, reverse=True) and descending[: len(finite)] == finite
    tundra.click()
    ascending = [v for v in _visible_column(page, 4) if v is not None]
    assert ascending == sorted(ascending)
    assert tundra.locator("xpath=..").get_attribute("aria-sort") == "ascending"
    _screenshot(page, "index-sorted")


def test_index_component_picker_and_colour_toggle(page, scorecards):
    _open(page, scorecards["current"] / "index.html")
    overall = page.locator("section.score-table:not([hidden])").inner_text()
    page.select_option("#metric-picker", "response")
    visible = page.locator("section.score-table:not([hidden])")
    assert visible.count() == 1 and visible.get_attribute("data-metric") == "response"
    assert visible.inner_text() != overall
    cell = visible.locator("td.score.scored").first
    absolute = cell.evaluate("c => getComputedStyle(c).backgroundColor")
    page.check("input[name=colour-mode][value=relative]")
    assert cell.evaluate("c => getComputedStyle(c).backgroundColor") != absolute
    _screenshot(page, "index-response-relative")


def test_withheld_reason_shown_on_keyboard_focus(page, scorecards):
    _open(page, scorecards["current"] / "index.html")
    page.select_option("#metric-picker", "response")  # withheld in Tundra (fake_result.WITHHELD)
    withheld = page.locator("section.score-table:not([hidden]) td.score.withheld a").first
    tip = page.locator("section.score-table:not([hidden]) td.score.withheld .tip").first
    assert not tip.is_visible()
    withheld.focus()
    assert tip.is_visible() and "Not assessable" in tip.inner_text()
    page.mouse.move(0, 0)
    page.keyboard.press("Tab")
    assert not tip.is_visible()


def test_keyboard_reaches_every_control(page, scorecards):
    _open(page, scorecards["current"] / "index.html")
    controls = page.evaluate("""() => Array.from(document.querySelectorAll(
        'select, input, button, [tabindex="0"], a[href]')).filter(e => e.offsetParent !== null)
        .map((e, i) => { e.dataset.kb = i; return e.tagName + (e.type === 'radio' && !e.checked ? ':other' : ''); })""")
    reached = set()
    for _ in range(len(controls) + 10):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement.dataset.kb"))
    # The unchecked radio of a group is reached with the arrow keys, as browsers do.
    missed = [tag for i, tag in enumerate(controls) if str(i) not in reached and tag != "INPUT:other"]
    assert missed == []
    assert {"SELECT", "INPUT", "BUTTON", "DIV", "A"} <= set(controls)  # picker, radios, sorting, scroll boxes


def test_cell_leads_to_the_model_page_at_that_region_and_back(page, scorecards):
    index = scorecards["current"] / "index.html"
    _open(page, index)
    link = page.locator("section.score-table:not([hidden]) tbody.models tr").first.locator("td.score a").nth(1)
    href = link.get_attribute("href")
    assert "#region-" in href
    link.click()
    page.wait_for_load_state("load")
    page.wait_for_function("document.querySelectorAll('.chart svg').length > 0")
    assert page.url.endswith(href.split("/", 1)[1])
    assert page.eval_on_selector("#region-picker", "s => s.value") == "Tropical forest"
    _screenshot(page, "model-page-at-region")
    page.go_back()
    page.wait_for_load_state("load")
    assert page.url == index.as_uri()


def test_model_page_region_picker_and_series_toggles_redraw_charts(page, scorecards):
    _open(page, scorecards["current"] / "models" / "CESM2.html")
    chart = page.locator("#detail .chart").nth(1)
    before = chart.inner_html()
    page.select_option("#region-picker", "Tundra")
    page.wait_for_function("html => document.querySelectorAll('#detail .chart')[1].innerHTML !== html", arg=before)
    assert chart.inner_html() != before
    paths = chart.locator("path").count()
    page.locator("input.series-toggle").nth(1).check()
    page.wait_for_function(
        "n => document.querySelectorAll('#detail .chart')[1].querySelectorAll('path').length > n", arg=paths)
    assert chart.locator("path").count() > paths


def test_chart_marks_show_their_value_on_hover(page, scorecards):
    _open(page, scorecards["current"] / "models" / "CESM2.html")
    point = page.locator("#wrong .chart").first.locator("path[aria-roledescription='point']").first
    point.hover(force=True)
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "Response" in tooltip.inner_text()


def _number(text: str) -> str:
    """A number as the pages print it (a true minus sign)."""
    return text.replace("-", "\u2212")


def _tab_until(page, selector: str, limit: int = 400) -> None:
    """Press Tab (keyboard only) until the focused element matches ``selector``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_reads_a_chart_value(page, scorecards):
    result = make_fake_result(seed=5)  # the run behind scorecards["current"]
    pair = model_page.worst_pairs(result, "CESM2")[0]
    _open(page, scorecards["current"] / "models" / "CESM2.html")
    _tab_until(page, "#wrong details.chart-values summary")
    page.keyboard.press("Enter")  # opens the values table
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.tagName, document.activeElement.getAttribute('aria-label')]")
    assert focused[0] == "TR"
    label = focused[1]
    assert label.startswith(f"CESM2, {pair['label']} at "), label
    at, value = re.search(r" at (\S+): response (\S+) ", label).groups()
    curve = result.responses[(result.responses["dataset"] == "CESM2") & (result.responses["region"] == pair["region"])
                             & (result.responses["covariate"] == pair["covariate"])]
    shown = {(_number(f"{float(f'{x:.3g}'):g}"), _number(f"{y:.3f}")) for x, y in zip(curve["x"], curve["value"])}
    assert (at, value) in shown
    # The focused row rings its point in the chart.
    chart = page.eval_on_selector("#wrong details.chart-values", "d => d.getAttribute('data-chart')")
    page.wait_for_function("id => document.querySelectorAll('#' + id + ' g.values_marks path[stroke]').length === 1",
                           arg=chart)
    _screenshot(page, "model-value-focused")


# ---------------------------------------------------------------- comparison page


def test_comparison_page_of_a_baseline_run(page, scorecards):
    _open(page, scorecards["current"] / "models" / "CESM2.html")
    page.click("text=Compare with its baseline version")
    page.wait_for_load_state("load")
    page.wait_for_function("document.querySelectorAll('.chart svg').length === document.querySelectorAll('.chart').length")
    assert page.eval_on_selector("#pick-a", "s => s.value") == "CESM2 (baseline)"
    assert page.eval_on_selector("#pick-b", "s => s.value") == "CESM2"
    rows = page.locator("#compare-table tbody tr")
    assert rows.count() == len(METRICS)  # overall and every component
    header = page.locator("#compare-table thead").inner_text()
    page.select_option("#pick-b", "IPSL-CM6A-LR")
    assert page.locator("#compare-table thead").inner_text() != header
    assert "IPSL-CM6A-LR" in page.locator("#compare-table thead").inner_text()
    _screenshot(page, "compare")


# ---------------------------------------------------------------- every page


def test_axe_finds_no_violation_on_any_page(page, scorecards):
    source = AXE.read_text(encoding="utf-8")
    for path in _pages(scorecards["current"]):
        _open(page, path)
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")  # values tables too
        page.add_script_tag(content=source)
        # preload off: axe would otherwise fetch the style sheet itself, which file:// pages may not do.
        violations = page.evaluate("""() => axe.run(document, {preload: false}).then(r => r.violations.map(
            v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')))""")
        assert violations == [], (path.name, violations)


def test_no_horizontal_scroll_on_a_phone(browser, scorecards):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    tab = context.new_page()
    tab.log = PageLog(tab)
    try:
        for path in _pages(scorecards["current"]):
            _open(tab, path)
            tab.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], (path.name, width)
            _screenshot(tab, f"phone-{path.stem}")
        tab.log.assert_clean()
    finally:
        context.close()


def test_hostile_model_name_is_text_everywhere(page, scorecards):
    hostile_page = scorecards["current"] / "models" / report.page_names(MODELS)[HOSTILE_MODEL]
    for path, selector in ((scorecards["current"] / "index.html", "tbody.models th.name a"),
                           (hostile_page, "h1"), (scorecards["current"] / "compare.html", "#pick-a option")):
        _open(page, path)
        assert HOSTILE_MODEL in page.locator(selector).all_text_contents(), path.name
        assert page.locator("body script:not([src]):not([type])").count() == 0
    page.goto((scorecards["current"] / "compare.html").as_uri() + "#b=" + HOSTILE_MODEL.replace("/", "%2F"))
    page.wait_for_load_state("load")
    assert HOSTILE_MODEL in page.locator("#compare-table thead").inner_text()
