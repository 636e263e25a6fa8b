"""The meeting pack (PPTX, HTML, PDF) and meeting mode."""
from html.parser import HTMLParser

import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from stls import pack, report
from stls.cli import main
from stls.filters import Filters

from conftest import ROOT
from test_browser import BROWSER_ARGS, CHROMIUM, SHOTS

F = Filters(2016, 2025)


@pytest.fixture(scope="module")
def deck(demo_db):
    from io import BytesIO
    return Presentation(BytesIO(pack.build(demo_db, F, "pptx", ("E07000113",))))


def _alt_texts(slide):
    return [s._element.xpath("./*[1]/p:cNvPr")[0].get("descr") for s in slide.shapes
            if s._element.xpath("./*[1]/p:cNvPr")[0].get("descr")]


def test_pptx_slides_titles_charts_alt_and_notes(deck):
    slides = list(deck.slides)
    assert len(slides) == 1 + 6 + 1
    assert slides[0].shapes.title.text.startswith("STLS performance: Kent")
    assert "Synthetic districts, real county" in slides[0].placeholders[1].text
    sections = [s.shapes[0].text_frame.text for s in slides[1:]]
    assert sections == ["HEADLINE SCORECARD: ACCESS, TIMELINESS AND QUALITY",
                        "HEADLINE SCORECARD: OUTCOMES, EQUITY AND VALUE FOR MONEY", "EXCEPTIONS", "ACTIVITY AND OUTCOMES", "IMPACT OF SUPPORT", "AREAS OF NEED",
                        "SPOTLIGHT: SWALE"]
    titles = [s.shapes[1].text_frame.text for s in slides[1:]]
    assert titles[0].endswith("met it; none red") or "KPIs with a target met it" in titles[0]
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
    f = Filters(2025, 2025, ("E07000111",), "SP", "post_16")
    n = demo_sql("SELECT count(*) FROM activity WHERE district_code = 'E07000111' AND need_area = 'SP' AND "
                 "phase = 'post_16' AND activity_type = 'referral' AND activity_date BETWEEN '2025-09-01' AND '2026-08-31'")[0][0]
    assert 0 < n < 5, "the scenario needs a small count"
    page = pack.build(demo_db, f, "html").decode("utf-8")
    row = page.split("<td>Referrals</td>", 1)[1].split("</tr>", 1)[0]
    assert "<td>[c]</td>" in row and f"<td>{n}</td>" not in row


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
