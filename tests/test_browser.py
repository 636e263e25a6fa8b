"""The real app in headless Chromium: every page renders its heading and charts.

Screenshots go to artifacts/screenshots/ for a person to look at.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT

SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


KEY = "browser test import key"
KEY_HASH = __import__("hashlib").sha256(KEY.encode()).hexdigest()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_db(server):
    return server_db_path["db"]


server_db_path: dict = {}


@pytest.fixture(scope="module")
def server(demo_path, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "stls.duckdb"
    shutil.copyfile(demo_path, db)
    port = _free_port()
    env = {**os.environ, "STLS_DB": str(db), "STLS_IMPORT_KEY_SHA256": KEY_HASH}
    log = open(tmp_path_factory.mktemp("browser-log") / "server.log", "w+b")   # a file: a full pipe would block the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "stls", "serve", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("streamlit did not start: " + log.read().decode()[-2000:])
    server_db_path["db"] = db
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is not installed (apt-get install chromium); test.sh installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# Markup that Streamlit itself renders (not ours): reported in the accessibility statement.
STREAMLIT_OWN = ("metric_chart_", "data-baseweb", "stSidebarNav", "stToolbar", "stHeader", "stDecoration",
                 "stMainMenu", "glideDataEditor", "gdg-")
PAGES = {  # url path → (main heading, number of Plotly charts)
    "": ("STLS overview", 2),
    "scorecard": ("KPI scorecard", 1),
    "district?district=E07000113&profile=E07000113": ("District profile: Swale", 4),
    "activity_and_outcomes": ("Activity and outcomes", 2),   # the scatter and the statistical neighbours
    "impact": ("Impact of support", 1),   # the event study
    "areas_of_need": ("Areas of need", 3),
    "data": ("Data", 1),
    "meeting?mode=meeting&slide=4": (None, 1),   # meeting mode: the heading is the slide's finding
    "accessibility": ("Accessibility statement", 0),
}


# What a page shows, in numbers that change while it is still being drawn or laid out: its height,
# its elements, its drawn charts, Streamlit's stale elements and its running-script widget.
_LAYOUT = """() => { const m = document.querySelector('[data-testid=stMain]');
  return [m ? m.scrollHeight : -1, document.getElementsByTagName('*').length,
          document.querySelectorAll('.js-plotly-plot .main-svg').length,
          document.querySelectorAll('[data-stale=true]').length,
          document.querySelectorAll('[data-testid=stStatusWidget]').length]; }"""


def quiet(page, probe: str = _LAYOUT, checks: int = 3, every: int = 250, timeout: float = 30):
    """Wait until ``probe`` (a JavaScript function) gives the same answer ``checks`` times in a row,
    ``every`` ms apart, and return that answer: the page has stopped changing (a fixed pause was
    either too long on a quiet machine or too short on a busy one)."""
    seen: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = (seen + [page.evaluate(probe)])[-checks:]
        if len(seen) == checks and all(s == seen[0] for s in seen):
            return seen[0]
        page.wait_for_timeout(every)
    pytest.fail(f"the page was still changing after {timeout:.0f} s: {seen}")


def _drawn(page, charts: int) -> None:
    """Every chart drawn (each plot holds several .main-svg layers: counting those passed early)."""
    if charts:
        page.wait_for_function(f"[...document.querySelectorAll('.js-plotly-plot')].filter(p => p.querySelector("
                               f"'.main-svg')).length >= {charts}", timeout=60_000)


def open_page(browser, url: str, height: int = 2400, charts: int = 1):
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.goto(url)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0", timeout=90_000)
    _drawn(page, charts)
    quiet(page)
    return page


def settled(page, locator, checks: int = 4) -> None:
    """Wait until the element has stopped moving: an opening expander and the data grid inside it
    keep shifting what is below them for a moment, and a click there could land on something else."""
    locator.scroll_into_view_if_needed(timeout=30_000)
    boxes = []
    for _ in range(60):
        boxes = (boxes + [locator.bounding_box()])[-checks:]
        if len(boxes) == checks and all(b == boxes[0] for b in boxes):
            return
        page.wait_for_timeout(250)
    pytest.fail(f"element still moving after 15 s: {boxes}")


def axe_violations(page) -> tuple[list, list]:
    """(ours, Streamlit's) serious or critical WCAG 2.2 AA violations on the page, and any
    heading-order finding (moderate in axe, but a screen reader user's map of the page)."""
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("""async () => await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})""")
    ours, theirs = [], []
    for v in result["violations"]:
        if v["impact"] not in ("serious", "critical") and v["id"] != "heading-order":
            continue
        for node in v["nodes"]:
            where = node["html"] + " " + " ".join(map(str, node["target"]))
            (theirs if any(s in where for s in STREAMLIT_OWN) else ours).append((v["id"], node["html"][:120]))
    return ours, theirs


# Words cut with an ellipsis or clipped (KPI names, card comparisons "on 2025/26 …", district
# buttons "Folkestone and Hy…", template buttons "activity te…"), and data grids of up to 40 rows
# that scroll (twelve districts showed ten rows).
_CUT = """() => {
  const cut = [...document.querySelectorAll('[data-testid=stMain] *')].filter(e => {
    const s = getComputedStyle(e);
    return e.innerText && e.innerText.trim() && e.scrollWidth > e.clientWidth + 1 && e.getBoundingClientRect().width > 0
      && !e.closest('.stls-text-table')   // the grids' tables as text: for screen readers and print only
      && (s.overflowX == 'hidden' || s.textOverflow == 'ellipsis');
  }).map(e => e.innerText.slice(0, 60));
  const scrolled = [...document.querySelectorAll('[data-testid=stDataFrame] .dvn-scroller')]
    .filter(e => e.scrollHeight > e.clientHeight + 2 && e.scrollHeight < 1500)   // 40 rows of 35 px and a header
    .map(e => e.closest('[data-testid=stDataFrame]').innerText.slice(0, 60));
  return {cut, scrolled};
}"""


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_and_passes_axe(server, browser, path):
    heading, charts = PAGES[path]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, f"{server}/{path}", height=3400, charts=charts)
    title = page.locator("h1").first.inner_text()
    assert title == heading if heading else title.startswith("In 20")
    assert page.locator(".js-plotly-plot").count() == charts
    assert page.locator("[data-testid=stException]").count() == 0
    shown = page.evaluate(_CUT)
    assert shown == {"cut": [], "scrolled": []}, shown
    nav = {"": "Overview", "scorecard": "KPI scorecard", "district": "District profile", "data": "Data",
           "activity_and_outcomes": "Activity and outcomes", "impact": "Impact of support", "areas_of_need": "Areas of need",
           "meeting": "Meeting mode", "accessibility": "Accessibility"}
    assert page.title() == f"{nav[path.split('?')[0]]} – STLS Insight"   # every page was titled "STLS Insight"
    name = (path.split("?")[0] or "overview")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    ours, theirs = axe_violations(page)
    (SHOTS / f"{name}-axe.txt").write_text(
        "ours:\n" + "\n".join(map(str, ours)) + "\nstreamlit:\n" + "\n".join(map(str, theirs)) + "\n")
    assert ours == [], ours
    assert theirs == [], theirs   # Streamlit's own markup too (its sparklines had no text alternative)
    page.close()


def test_keyboard_focus_is_clearly_visible(server, browser):
    """WCAG 2.4.7/2.4.13: the focused control has a 3 px near-black ring and a yellow halo (the
    framework's own ring was a faint tint); checked on a button, a link and the year slider."""
    page = open_page(browser, f"{server}/data", height=1600, charts=1)
    seen = {}
    for _ in range(60):
        page.keyboard.press("Tab")
        style = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            let ring = s; if (e.type === 'range') ring = getComputedStyle(e.parentElement.parentElement);
            return {tag: e.tagName, type: e.type || '', width: ring.outlineWidth, style: ring.outlineStyle,
                    colour: ring.outlineColor, halo: ring.boxShadow}; }""")
        kind = "slider" if style["type"] == "range" else style["tag"]
        if kind in ("A", "BUTTON", "slider") and kind not in seen:
            seen[kind] = style
        if len(seen) == 3:
            break
    assert set(seen) == {"A", "BUTTON", "slider"}, seen
    for kind, style in seen.items():
        assert style["style"] == "solid" and style["width"] == "3px", (kind, style)
        assert style["colour"] == "rgb(11, 12, 12)" and "rgb(255, 221, 0)" in style["halo"], (kind, style)
    page.screenshot(path=str(SHOTS / "focus-ring.png"))
    page.close()


def test_clicking_a_district_point_opens_its_profile(server, browser):
    page = open_page(browser, f"{server}/activity_and_outcomes?view=same_year", height=1600)
    point = page.locator(".js-plotly-plot .scatterlayer .trace").first.locator("path.point").nth(8)
    point.click(force=True)
    page.wait_for_url("**/district**", timeout=30_000)
    page.wait_for_selector("h1:has-text('District profile')", timeout=60_000)
    assert page.locator("h1").first.inner_text().startswith("District profile: ")
    # the address is written at the end of the profile's run, after its heading is drawn
    page.wait_for_url(lambda url: "profile=" in url, timeout=30_000)
    page.close()


def test_overview_url_state(server, browser):
    page = open_page(browser, f"{server}/?district=E07000113&to=2024%2F25", charts=2)
    assert page.locator("h1").first.inner_text() == "STLS overview"
    assert page.get_by_text("Synthetic districts, real county.").count() == 1
    assert page.locator("[data-testid=stMetric]").count() == 5
    assert "Swale · 2016/17 to 2024/25" in page.content()
    assert "district=E07000113" in page.url
    page.close()


def test_upload_through_the_data_page(server, browser, server_db):
    import duckdb
    page = open_page(browser, f"{server}/data", height=2000, charts=1)
    page.get_by_label("Import key").fill(KEY)
    page.get_by_label("Import key").press("Enter")
    page.wait_for_selector("text=Kind of file", timeout=30_000)
    page.locator("input[type=file]").set_input_files(str(ROOT / "tests" / "data" / "good" / "budget_2027.csv"))
    page.wait_for_selector("text=checked (dry run)", timeout=60_000)
    page.get_by_role("button", name="Load into the draft").click()
    page.wait_for_selector("text=loaded 3 rows as import", timeout=60_000)
    page.get_by_text("What changes when it is published:").wait_for(timeout=60_000)
    page.get_by_role("button", name="Publish", exact=True).click()
    page.get_by_text("Every page now shows its figures.").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "data-upload.png"), full_page=True)
    con = duckdb.connect(str(server_db), read_only=True)
    assert con.execute("SELECT sum(allocation_gbp) FROM budget WHERE financial_year = 2027").fetchall()[0][0] == 1_760_000
    con.close()
    page.close()


def test_table_download_is_the_table_as_shown(server, browser, demo_db):
    """The CSV download is the table alternative exactly as shown, with its title, filters line
    and symbol key."""
    from stls.filters import Filters
    from stls.present import export
    from stls.present.views import overview
    from stls.store import queries
    from stls.ui.state import default_last_year
    extent = queries.data_extent(demo_db)
    f = Filters(extent["first_year"], default_last_year(extent))
    chart = overview.district_comparison(demo_db, f, overview.COMPARISON_KPIS[0])
    page = open_page(browser, server, charts=2)
    from stls.store.releases import Releases
    release = Releases(server_db_path["db"]).current()   # recorded when the server first opened the copy
    expected = export.to_csv(chart.table, chart.title, f.caption(), release=release.figures_as_at)
    expander = page.locator("[data-testid=stExpander]").filter(has_text="Table alternative for this chart").nth(1)
    expander.get_by_text("Table alternative for this chart").click()
    expander.locator("[data-testid=stDataFrame]").wait_for(timeout=30_000)
    button = expander.locator("[data-testid=stDownloadButton] button")
    settled(page, button)
    with page.expect_download(timeout=30_000) as download:
        button.click()
    got = open(download.value.path(), "rb").read()
    assert got == expected
    assert got.decode("utf-8-sig").splitlines()[0] == f'"{chart.title}"'
    page.close()


@pytest.mark.parametrize("path", ["", "scorecard"])
def test_year_slider_url_and_figures_agree_after_quick_key_presses(server, browser, path):
    """Two quick ArrowLeft presses on the end-year thumb: the slider, the address and the figures
    (the caption every page prints from its filters) all end at the same year. Before the fix a
    press 150-300 ms after the first left the figures at the address the browser still showed."""
    for delay in (150, 300):
        page = open_page(browser, f"{server}/{path}", height=1600, charts=1)
        end = page.locator("[data-testid=stSlider] input[type=range]").nth(1)
        assert end.get_attribute("aria-valuetext") == "2026/27"   # the year holding the latest month
        end.focus()
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(delay)
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(800)
        page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0",
                               timeout=90_000)
        page.wait_for_timeout(2000)
        caption = page.locator("[data-testid=stMain] [data-testid=stCaptionContainer]").nth(1).inner_text()   # after the release line
        assert end.get_attribute("aria-valuetext") == "2024/25", delay
        assert "to=2024%2F25" in page.url, (delay, page.url)
        assert caption.startswith("Kent · 2016/17 to 2024/25"), (delay, caption)
        page.close()


def test_clicking_a_districts_bar_on_the_overview_opens_its_profile(server, browser):
    """The Overview's districts chart did not drill down: a click on a bar opens that district's
    profile (the bar's own district, read from the bar's label)."""
    page = open_page(browser, f"{server}/", height=2400, charts=2)
    chart = page.locator(".js-plotly-plot").nth(1)
    settled(page, chart)
    bar = chart.locator(".barlayer .point").last          # sorted: the last bar is the highest
    name = chart.evaluate("el => el.data[0].y[el.data[0].y.length - 1]")   # the highest bar's district
    bar.click(force=True)
    page.wait_for_selector("h1:has-text('District profile')", timeout=60_000)
    assert page.locator("h1").first.inner_text() == f"District profile: {name}"
    page.close()


def test_one_click_on_a_district_opens_its_profile_in_the_same_tab(server, browser):
    page = open_page(browser, f"{server}/scorecard?to=2024%2F25", height=2400, charts=1)
    button = page.get_by_role("button", name="Swale", exact=True)
    settled(page, button)
    button.click()
    page.wait_for_selector("h1:has-text('District profile: Swale')", timeout=60_000)
    assert len(page.context.pages) == 1                     # no new tab
    page.wait_for_url(lambda url: "profile=E07000113" in url and "to=2024%2F25" in url, timeout=30_000)
    page.get_by_text("One month", exact=True).wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "district-from-scorecard.png"), full_page=True)
    page.close()


SCREEN = {"width": 1280, "height": 720}   # a shared screen in a LIFT Executive meeting
_MEASURE_SLIDE = """() => {
    const main = document.querySelector('[data-testid=stMain]');
    const shown = [...document.querySelectorAll('[data-testid=stMainBlockContainer] [data-testid=stElementContainer]')]
        .map(e => e.getBoundingClientRect()).filter(r => r.height > 0);
    const header = document.querySelector('[data-testid=stHeader]').getBoundingClientRect();
    const alert = document.querySelector('[data-testid=stMain] [data-testid=stAlert]');
    const chart = document.querySelector('[data-testid=stMain] .js-plotly-plot');
    const tick = chart && chart.querySelector('.xtick text, .ytick text');
    const table = document.querySelector('[data-testid=stMain] [data-testid=stTable] table');
    return {scroll: main.scrollHeight, client: main.clientHeight, bottom: Math.max(...shown.map(r => r.bottom)),
            top: Math.min(...shown.map(r => r.top)), header: header.bottom,
            banner: alert ? alert.getBoundingClientRect().top : null,
            chart: chart ? [chart.getBoundingClientRect().top, chart.getBoundingClientRect().bottom] : null,
            tick: tick ? parseFloat(getComputedStyle(tick).fontSize) : null,
            h1: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize),
            rows: table ? table.querySelectorAll('tbody tr').length : null,
            slide: document.querySelector('[data-testid=stMain] [data-testid=stProgress]').innerText};
}"""


def _open_slide(browser, url: str):
    """A page asked for, not waited for: it loads while the test does something else."""
    page = browser.new_page(viewport=SCREEN)
    page.goto(url, wait_until="commit")
    return page


def _slide_measured(page, charts: int = 0):
    # the slide's own furniture (a heading alone can be an earlier run's, while the page moves to its slide)
    page.wait_for_selector("[data-testid=stMain] [data-testid=stProgress]", timeout=90_000)
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0", timeout=90_000)
    _drawn(page, charts)
    # measured once nothing moves: the page's layout and the slide's own measures alike
    probe = f"() => [({_LAYOUT})(), ({_MEASURE_SLIDE})()]"
    return quiet(page, probe)[1]


def _slide_at_screen_size(browser, url: str, charts: int = 0):
    page = _open_slide(browser, url)
    return page, _slide_measured(page, charts)


def test_every_meeting_slide_is_whole_on_a_1280_by_720_screen(server, browser, demo_db):
    """One idea per screen, whole: nothing needs scrolling or sits under the header bar, a chart
    is wholly on screen with text at least 16 px (the heading at most 2.5 times it), a table
    shows every row. Before: content ended 957-1,603 px down and the scorecard showed 10 of 15 KPIs."""
    from stls.filters import Filters
    from stls.present import meeting
    from stls.store import queries
    from stls.ui.state import default_last_year
    spotlights = ("E07000113",)
    # every slide's page asked for at once, then each measured in turn: the server and the browser
    # draw the slides while this process works out what each should show
    pages = [_open_slide(browser, f"{server}/meeting?mode=meeting&slide={i}&spotlight=E07000113")
             for i in range(1, meeting.agenda_length(spotlights) + 1)]
    extent = queries.data_extent(demo_db)
    f = Filters(extent["first_year"], default_last_year(extent))
    slides = meeting.agenda(demo_db, f, spotlights)
    assert len(slides) == len(pages)
    tabled = 0
    for i, (slide, page) in enumerate(zip(slides, pages), start=1):
        got = _slide_measured(page, charts=int(slide.chart is not None))
        page.screenshot(path=str(SHOTS / f"meeting-1280x720-slide{i}.png"))
        where = (i, slide.section, got)
        said = page.inner_text("[data-testid=stMain]")
        for bullet in slide.bullets:   # the impact slide's one sentence: its effect, interval and robustness
            assert bullet in said, (where, bullet)
        assert got["slide"].startswith(f"Slide {i} of {len(slides)}"), where
        assert got["scroll"] <= got["client"] + 1 and got["bottom"] <= SCREEN["height"], where
        assert got["banner"] is None or got["banner"] >= got["header"] - 1, where
        if slide.chart is not None:
            assert got["chart"][0] < SCREEN["height"] and got["chart"][1] <= SCREEN["height"], where
            assert got["tick"] >= 16 and got["h1"] <= 2.5 * got["tick"], where
        else:
            assert got["rows"] == len(slide.table), where
            tabled += len(slide.table)
        page.close()
    assert tabled >= 15   # both halves of the headline scorecard: every KPI is on a screen
    assert slides[4].bullets and "95% interval" in slides[4].bullets[0]   # it was dropped on screen


@pytest.mark.parametrize("path, slide", [("areas_of_need", "Areas of need"), ("impact", "Impact of support"),
                                         ("activity_and_outcomes", "Activity and outcomes"),
                                         ("district?profile=E07000113", "Spotlight: Swale")])
def test_meeting_mode_on_a_page_opens_that_pages_slide(server, browser, path, slide):
    """?mode=meeting on any page opened slide 1; it opens that page's own slide."""
    joiner = "&" if "?" in path else "?"
    page, got = _slide_at_screen_size(browser, f"{server}/{path}{joiner}mode=meeting")
    assert f"· {slide} ·" in got["slide"], got["slide"]
    page.wait_for_url(lambda url: "meeting" in url and "slide=" in url, timeout=30_000)
    page.close()


@pytest.mark.parametrize("path", ["", "scorecard"])
def test_printing_a_page_on_a4_gives_the_whole_page_and_nothing_cut(server, browser, path, tmp_path):
    """Ctrl+P on a page: A4, the page's content only (no sidebar or controls), every section
    (it printed one clipped screen beside the sidebar), every chart within the page's width."""
    import re
    import subprocess

    from stls.ui.widgets import PRINT_WIDTH_PX
    page = open_page(browser, f"{server}/{path}", height=1000, charts=1)
    # every data grid has its table as text beside it (a canvas is read only as far as the rows in
    # view, and prints as a picture): captioned, with every row
    pairs = page.evaluate("""() => [...document.querySelectorAll('[data-testid=stDataFrame]')].map(g => {
        const block = g.closest('[data-testid=stElementContainer]').nextElementSibling;
        const t = block && block.querySelector('.stls-text-table table');
        return t ? [t.querySelector('caption').textContent, t.querySelectorAll('tbody tr').length] : g.innerText.slice(0, 80); })""")
    assert pairs and all(isinstance(p, list) and p[0] for p in pairs), pairs
    # Ctrl+P: the browser fires beforeprint on the page as it is on screen, then lays it out on
    # paper without redrawing the charts; each is scaled there to the page's width
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    widths = page.evaluate("[...document.querySelectorAll('.stPlotlyChart .main-svg')]"
                           ".map(svg => svg.getBoundingClientRect().width)")   # as drawn, after the scaling
    assert widths and max(widths) <= PRINT_WIDTH_PX + 1, widths
    grids = page.evaluate("[...document.querySelectorAll('[data-testid=stDataFrame]')]"
                          ".map(g => g.getBoundingClientRect().width)")   # a canvas is not redrawn either
    assert max(grids, default=0) <= PRINT_WIDTH_PX + 1, grids
    page.emulate_media(media="print")
    page.wait_for_timeout(500)
    out = tmp_path / "page.pdf"
    page.pdf(path=str(out), prefer_css_page_size=True, print_background=True)
    page.close()
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert (round(w), round(h)) == (595, 842)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    boxes = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True, check=True).stdout
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes))
    assert right <= w, right   # no word runs off the paper
    assert "Districts (none = all of Kent)" not in text and "Meeting mode" not in text
    last = "Districts compared" if path == "" else "Districts and KPIs"
    assert last in text
    if path == "scorecard":   # the districts grid printed clipped, its last two districts missing
        from stls import reference as ref
        raw = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True, check=True).stdout
        flat = re.sub(r"\s+", "", raw)   # words in the order printed; a wrapped cell's lines joined
        matrix = flat[flat.index("DistrictsandKPIs"):]
        missing = [n for n in ref.DISTRICT_NAMES.values() if n.replace(" ", "") not in matrix]
        assert missing == [], missing
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "2", str(out),
                    str(SHOTS / f"print-{path or 'overview'}")], check=True)


_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const r = e.getBoundingClientRect();
  let hidden = false;
  for (let p = e; p && p.nodeType === 1; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (parseFloat(s.opacity) === 0 || s.visibility === 'hidden' || s.display === 'none') hidden = true;
  }
  return {what: (e.getAttribute('aria-label') || e.innerText || e.tagName).slice(0, 40),
          off: r.right <= 0 || r.left >= innerWidth || r.width === 0 || r.height === 0, hidden};
}"""


@pytest.mark.parametrize("path, width", [("meeting?mode=meeting&slide=1", 1280), ("scorecard", 700)])
def test_every_tab_stop_is_on_screen_and_visible(server, browser, path, width):
    """WCAG 2.4.11/2.4.7 by hand: with the sidebar collapsed (meeting mode; 768 px or less) its 19
    controls stayed in the Tab order off screen, and data-grid toolbar buttons took focus at
    opacity 0. Forty presses of Tab: every stop is on screen and visible."""
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(f"{server}/{path}")
    page.wait_for_selector("h1", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=stStatusWidget]').length == 0", timeout=90_000)
    # the state under test: the sidebar collapsed (on a busy machine it can still be closing), and
    # the page and the sidebar's box no longer moving
    page.wait_for_selector('[data-testid=stSidebar][data-collapsed="true"]', state="attached", timeout=30_000)
    quiet(page, _LAYOUT.replace("return [", "return [JSON.stringify(document.querySelector("
                                "'[data-testid=stSidebar]').getBoundingClientRect()), "))
    bad = []
    for _ in range(40):
        page.keyboard.press("Tab")
        got = page.evaluate(_FOCUSED)
        if got and (got["off"] or got["hidden"]):
            bad.append(got)
    page.close()
    assert bad == [], bad
