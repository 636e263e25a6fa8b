"""The meeting pack (PPTX, HTML, PDF) and meeting mode."""
import html
import re
from html.parser import HTMLParser

import pytest
from conftest import ROOT
from pptx import Presentation
from streamlit.testing.v1 import AppTest
from test_browser import BROWSER_ARGS, CHROMIUM, SHOTS

from stls.cli import main
from stls.filters import Filters
from stls.present import pack, report

F = Filters(2016, 2025)


@pytest.fixture(scope="module")
def deck(demo_db):
    from io import BytesIO
    return Presentation(BytesIO(pack.build(demo_db, F, "pptx", ("E07000113",))))


def _table_column(slide, name: str) -> list[str]:
    """The cells of the column headed ``name`` in the slide's table."""
    table = next(sh.table for sh in slide.shapes if sh.has_table)
    rows = [[c.text for c in row.cells] for row in table.rows]
    return [row[rows[0].index(name)] for row in rows[1:]]


def _alt_texts(slide):
    return [s._element.xpath("./*[1]/p:cNvPr")[0].get("descr") for s in slide.shapes
            if s._element.xpath("./*[1]/p:cNvPr")[0].get("descr")]


def test_pptx_slides_titles_charts_alt_and_notes(deck):
    slides = list(deck.slides)
    assert len(slides) == 1 + 6 + 1 + 1    # the impact slide's table continues on a slide of its own
    assert slides[0].shapes.title.text.startswith("STLS performance: Kent")
    assert "Synthetic districts, real county" in slides[0].placeholders[1].text
    sections = [s.shapes[0].text_frame.text for s in slides[1:]]
    assert sections == ["HEADLINE SCORECARD: ACCESS, TIMELINESS AND QUALITY",
                        "HEADLINE SCORECARD: OUTCOMES, EQUITY AND VALUE FOR MONEY", "EXCEPTIONS", "ACTIVITY AND OUTCOMES", "IMPACT OF SUPPORT", "IMPACT OF SUPPORT (TABLE)", "AREAS OF NEED",
                        "SPOTLIGHT: SWALE"]
    titles = [s.shapes[1].text_frame.text for s in slides[1:]]
    # each half of the headline scorecard: its title is the count of its own table's RAG column
    # (the demo's figures for 2016/17 to 2025/26: one KPI with a target in the first half, seven
    # in the second, none red)
    assert titles[:2] == ["Target met by 1 of 1 KPI; none red", "Targets met by 3 of 7 KPIs; none red"], titles[:2]
    for slide, (rows, met, with_target, red) in zip(slides[1:3], [(8, 1, 1, 0), (7, 3, 7, 0)]):   # 15 KPIs
        rag = _table_column(slide, "RAG")
        assert len(rag) == rows, rag
        assert (sum("Green" in c for c in rag), sum(c != "[z]" for c in rag), sum("Red" in c for c in rag)) \
            == (met, with_target, red), rag
    charts = [sh for s in slides for sh in s.shapes if sh.has_chart]
    assert len(charts) == 4            # scatter, event study, need mix, spotlight outcomes
    for s in slides[1:]:
        assert _alt_texts(s), "every chart and table has alt text"
        assert s.notes_slide.notes_text_frame.text.strip()
    assert "Referrals to STLS" in slides[1].notes_slide.notes_text_frame.text   # about this indicator


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sections, self.figures, self.h2, self._in_h2 = 0, 0, [], False

    def handle_starttag(self, tag, attrs):
        self.sections += tag == "section"
        self.figures += tag == "figure"
        self._in_h2 = tag == "h2"

    def handle_data(self, data):
        if self._in_h2 and data.strip():
            self.h2.append(data.strip())
            self._in_h2 = False


def test_html_pack_sections_figures_and_offline(demo_db, tmp_path):
    page = pack.build(demo_db, F, "html", ("E07000113",)).decode("utf-8")
    parser = _Sections()
    parser.feed(page)
    assert parser.sections == 7 and parser.figures == 4
    assert '<script src=' not in page and "Plotly" in page      # plotly.js embedded: opens offline
    assert "@media print" in page and 'lang="en-GB"' in page
    path = tmp_path / "pack.html"
    path.write_text(page, encoding="utf-8")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        view = browser.new_page(viewport={"width": 1200, "height": 1600})
        view.goto(path.as_uri())
        view.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3", timeout=60_000)
        SHOTS.mkdir(parents=True, exist_ok=True)
        view.screenshot(path=str(SHOTS / "pack-html.png"), full_page=True)
        browser.close()


def test_disclosure_holds_in_the_pack(demo_db, demo_sql):
    """A district's small post-16 referral count: the pack shows the cell key method's figure
    (recomputed in tests/cellkey.py), here [c], never the true count."""
    from cellkey import protect
    small = demo_sql("""SELECT district_code::VARCHAR, need_area::VARCHAR, sum(count), sum(record_key) FROM activity
                        WHERE phase = 'post_16' AND activity_type = 'referral' AND need_area IS NOT NULL
                        AND activity_date BETWEEN '2025-09-01' AND '2026-08-31' GROUP BY ALL ORDER BY 1, 2""")
    found = [(d, a, n, k) for d, a, n, k in small if 0 < n < 5 and protect(n, k)[1]]
    assert found, "the scenario needs a small count shown as [c]"
    d, area, n, _ = found[0]
    page = pack.build(demo_db, Filters(2025, 2025, (d,), area, "post_16"), "html").decode("utf-8")
    row = page.split("<td>Referrals</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>[c]</td>" in row and f"<td>{n}</td>" not in row
    assert "parts may not add up exactly" in page


def test_pdf_where_chromium_exists(demo_db):
    data = pack.build(demo_db, F, "pdf")
    assert data[:5] == b"%PDF-" and len(data) > 20_000


def test_pdf_without_chromium_says_so(monkeypatch):
    monkeypatch.setattr(report, "chromium", lambda: None)
    with pytest.raises(report.PdfUnavailable, match="print it to PDF from a browser"):
        report.pdf("<html></html>")


@pytest.mark.parametrize("args,message", [
    (["--district", "Medway"], "unknown district 'Medway'"),
    (["--year", "2040/41"], "no data for 2040/41"),
    (["--spotlight", "Nowhere"], "unknown district 'Nowhere'"),
])
def test_cli_refuses_unknown_district_or_year(demo_path, tmp_path, capsys, args, message):
    assert main(["pack", "--db", str(demo_path), "--out", str(tmp_path / "p.pptx"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.pptx").exists()


def test_cli_writes_each_format(demo_path, tmp_path, capsys):
    for ext in ("pptx", "html"):
        assert main(["pack", "--db", str(demo_path), "--district", "Thanet", "--out", str(tmp_path / f"p.{ext}")]) == 0
        assert (tmp_path / f"p.{ext}").stat().st_size > 10_000
    assert main(["pack", "--db", str(demo_path), "--out", str(tmp_path / "p.docx")]) == 2


def test_meeting_mode_walks_the_agenda(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update({"mode": "meeting", "spotlight": "E07000114"})
    at.run()
    assert not at.exception
    titles = [at.title[0].value]
    for _ in range(6):
        at.button(key="mt_next").click().run()
        assert not at.exception
        titles.append(at.title[0].value)
    assert len(set(titles)) == 7 and titles[-1].startswith("Thanet")
    assert at.button(key="mt_next").disabled
    assert "Slide 7 of 7" in at.get("progress")[0].proto.text


# --- the packs as they are drawn: LibreOffice renders the PowerPoint, poppler reads the PDFs ----

def _words(pdf_path) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word of every page as (x0, y0, x1, y1, text) in points (pdftotext -bbox)."""
    import re
    import subprocess
    out = subprocess.run(["pdftotext", "-bbox", str(pdf_path), "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        pages.append([(float(a), float(b), float(c), float(d), html.unescape(t)) for a, b, c, d, t in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page)])
    return pages


def _page_size(pdf_path) -> tuple[int, float, float]:
    import re
    import subprocess
    info = subprocess.run(["pdfinfo", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    w, h = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()
    return int(re.search(r"Pages:\s+(\d+)", info).group(1)), float(w), float(h)


def _shots(pdf_path, name: str) -> None:
    import subprocess
    SHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(pdf_path), str(SHOTS / name)], check=True)


@pytest.fixture(scope="module")
def rendered_deck(demo_db, tmp_path_factory):
    import shutil
    import subprocess
    if not shutil.which("soffice") or not shutil.which("pdftotext"):
        pytest.fail("LibreOffice and poppler-utils are needed to render the pack (test.sh installs them)")
    tmp = tmp_path_factory.mktemp("deck")
    src = tmp / "pack.pptx"
    src.write_bytes(pack.build(demo_db, F, "pptx", ("E07000113",)))
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/lo-profile", "--convert-to", "pdf",
                    "--outdir", str(tmp), str(src)], check=True, capture_output=True, timeout=180)
    return src, tmp / "pack.pdf"


def test_every_pptx_shape_lies_inside_its_slide_and_above_the_source_line(rendered_deck):
    """Drawn by LibreOffice: every word inside its slide; on every content slide nothing runs
    under the source line (the scorecard table did), and the title slide's subtitle is whole in
    its box (it was cut). In the file, every shape's box lies inside the slide."""
    from io import BytesIO
    src, pdf_path = rendered_deck
    deck = Presentation(BytesIO(src.read_bytes()))
    width, height = deck.slide_width, deck.slide_height
    for n, slide in enumerate(deck.slides, start=1):
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (n, shape.name)
            assert shape.left + shape.width <= width and shape.top + shape.height <= height, (n, shape.name)
    pages, w, h = _page_size(pdf_path)
    assert pages == len(deck.slides)
    words = _words(pdf_path)
    _shots(pdf_path, "pack-pptx")
    for n, page in enumerate(words, start=1):
        assert page, n
        for x0, y0, x1, y1, text in page:
            assert x0 >= 0 and y0 >= 0 and x1 <= w + 0.5 and y1 <= h + 0.5, (n, text)
        if n == 1:
            sub = deck.slides[0].placeholders[1]
            bottom = (sub.top + sub.height) / 914400 * 72
            assert max(y1 for *_, y1, _t in page) <= bottom + 1, "the title slide's subtitle runs out of its box"
            assert page[-1][4] in deck.slides[0].placeholders[1].text_frame.text.split()[-1]
            continue
        foot = max(y0 for x0, y0, x1, y1, t in page if t == "Source:")
        above = [(t, y1) for x0, y0, x1, y1, t in page if y0 < foot - 1]
        assert all(y1 <= foot + 0.5 for _, y1 in above), (n, [a for a in above if a[1] > foot + 0.5][:5])


def test_the_pptx_scatter_is_points_without_a_line(deck):
    """The activity-and-outcomes scatter was drawn as a zig-zag line through the districts in order."""
    from pptx.enum.chart import XL_CHART_TYPE
    scatters = [sh.chart for s in deck.slides for sh in s.shapes
                if sh.has_chart and sh.chart.chart_type in (XL_CHART_TYPE.XY_SCATTER, XL_CHART_TYPE.XY_SCATTER_LINES)]
    assert len(scatters) == 1
    series = scatters[0].plots[0].series[0]
    assert series._element.xpath("./c:spPr/a:ln/a:noFill"), "the scatter series draws a line"
    assert series.marker.style is not None


def _page_text(words, section: str) -> str:
    """The words of the first rendered page whose section line is ``section``, in reading order."""
    for page in words:
        text = " ".join(t for *_, t in page)
        if text.startswith(section.upper()) or f" {section.upper()} " in f" {text[:60]} ":
            return text
    raise AssertionError(f"no page for {section}")


def test_the_rendered_pptx_charts_can_be_read(rendered_deck, demo_db):
    """Drawn by LibreOffice and read back: the scatter names every district beside its point, with
    both axis titles and the fitted line in the legend (it was 12 unlabelled dots); the impact chart
    titles its axes, marks where support begins, and draws the interval as error bars whose
    lengths are the slide's limits (it drew three joined lines); the slide says the effect, its
    interval and its robustness in one sentence."""
    from io import BytesIO

    from stls.present import meeting
    src, pdf_path = rendered_deck
    words = _words(pdf_path)
    slides = meeting.agenda(demo_db, F, ("E07000113",))
    scatter = _page_text(words, "Activity and outcomes")
    native = slides[3].native
    for name in native.categories:
        assert name in scatter, name
    assert native.x_title in scatter and "Fitted line (least squares)" in scatter
    assert " ".join(native.y_title.split()[:3]) in scatter
    effect = _page_text(words, "Impact of support")
    assert "0 (support begins)" in effect and "Years since first Intensive Specialist Support" in effect
    assert "Difference (percentage points)" in effect
    assert slides[4].bullets[0] in effect and "95% interval" in slides[4].bullets[0]
    deck = Presentation(BytesIO(src.read_bytes()))
    chart = next(sh.chart for sh in deck.slides[5].shapes if sh.has_chart)
    bars = chart.plots[0].series[0]._element.xpath("./c:errBars")
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    assert len(bars) == 1 and bars[0].xpath("./c:errValType/@val", namespaces=ns) == ["cust"]
    plus = [float(v) for v in bars[0].xpath("./c:plus//c:v/text()", namespaces=ns)]
    minus = [float(v) for v in bars[0].xpath("./c:minus//c:v/text()", namespaces=ns)]
    effects = list(slides[4].native.series.values())[0]
    low, high = slides[4].native.interval
    assert plus == pytest.approx([h - e for e, h in zip(effects, high)], abs=1e-4)
    assert minus == pytest.approx([e - lo for e, lo in zip(effects, low)], abs=1e-4)
    assert effects and chart.value_axis.minimum_scale <= min(low) and chart.value_axis.maximum_scale >= max(high)


def test_the_pdf_pack_is_a4_one_page_per_slide_and_every_word_on_its_page(demo_db, tmp_path):
    """US Letter with two stray overflow pages before: now A4, the cover and one page per slide."""
    from stls.present import meeting
    path = tmp_path / "pack.pdf"
    path.write_bytes(pack.build(demo_db, F, "pdf", ("E07000113",)))
    slides = meeting.agenda(demo_db, F, ("E07000113",))
    pages, w, h = _page_size(path)
    assert (round(w), round(h)) == (595, 842), (w, h)
    assert pages == 1 + len(slides)
    _shots(path, "pack-pdf")
    for n, page in enumerate(_words(path), start=1):
        for x0, y0, x1, y1, text in page:
            assert x0 >= 0 and y0 >= 0 and x1 <= w and y1 <= h, (n, text)
        if n > 1:   # each slide's finding is on its own page
            first = slides[n - 2].title.split()[:3]
            assert " ".join(first) in " ".join(t for *_, t in page), (n, first)


def test_no_chart_text_is_cut_off_in_the_printed_pack(demo_db, tmp_path):
    """Every title, label and source line of every chart lies inside its chart when printed on A4
    (the activity chart's title and labels were clipped)."""
    from playwright.sync_api import sync_playwright
    path = tmp_path / "pack.html"
    path.write_bytes(pack.build(demo_db, F, "html", ("E07000113",)))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        view = browser.new_page(viewport={"width": 794, "height": 1123})
        view.emulate_media(media="print")
        view.goto(path.as_uri())
        view.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4", timeout=60_000)
        outside = view.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
            const box = plot.querySelector('.main-svg').getBoundingClientRect();
            return [...plot.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => [t.textContent,
                t.getBoundingClientRect()]).filter(([_, r]) => r.width > 0 && (r.left < box.left - 1 ||
                r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1 || r.right > 794))
                .map(([text, r]) => text); })""")
        # no tick label overlaps the legend (the Areas of need labels, rotated, ran into it)
        overlaps = view.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
            const legend = plot.querySelector('.legend');
            if (!legend) return [];
            const l = legend.getBoundingClientRect();
            return [...plot.querySelectorAll('.xtick text')].map(t => [t.textContent, t.getBoundingClientRect()])
                .filter(([_, r]) => r.width > 0 && r.bottom > l.top && r.top < l.bottom && r.right > l.left && r.left < l.right)
                .map(([text]) => text); })""")
        browser.close()
    assert outside == []
    assert overlaps == []


def test_a_spotlight_heading_names_the_measure_its_unit_and_the_pupils(demo_db):
    """The spotlight slide's heading said 'Swale: SEN support pupils below Kent by 7.4', naming
    neither the measure nor the unit."""
    from stls.present import meeting
    slide = meeting.agenda(demo_db, F, ("E07000113",))[-1]
    t = slide.chart.table.set_index("Academic year")
    last = t[t["Swale"] != "[x]"].iloc[-1]
    gap = float(last["Swale"]) - float(last["Kent"])
    assert slide.title == (f"Swale: KS2 reading, writing and maths: % at expected standard, pupils on SEN support, "
                           f"{abs(gap):.1f} percentage points {'above' if gap >= 0 else 'below'} Kent in {last.name}")
