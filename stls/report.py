"""The meeting pack: PowerPoint (native charts, alt text, speaker notes), one self-contained HTML
file (Plotly embedded, works offline, prints cleanly), and PDF where a Chromium is installed.

Slides come from ``stls.meeting.agenda``, so the pack shows exactly what the screen shows,
after the same disclosure control.
"""
from __future__ import annotations

import html
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import plotly.io as pio

from stls import charts, disclosure, published
from stls.charts import PALETTE
from stls.meeting import Slide

# python-pptx is imported inside the PowerPoint functions: it takes about half a second, which
# every page would otherwise pay on a server's first run (the frame imports the meeting module).

SOURCE = ("Source: KCC STLS activity tracker; DfE school census and attainment statistics; Kent and England "
          "results: DfE via LAIT (OGL v3.0).")
NAVY = "12436D"


@dataclass
class PackInfo:
    title: str            # 'STLS performance: Kent, 2025/26'
    filters: str          # the filters' caption
    data_date: str        # 'activity to 28 Oct 2026'
    synthetic: bool


def _text(frame, text: str, size: int, bold: bool = False, colour: str | None = None) -> None:
    from pptx.dml.color import RGBColor
    from pptx.util import Pt
    frame.text = text
    for p in frame.paragraphs:
        for run in p.runs:
            run.font.size, run.font.bold = Pt(size), bold
            if colour is not None:
                run.font.color.rgb = RGBColor.from_string(colour)


def _alt(shape, text: str) -> None:
    """Alt text (the 'description' PowerPoint reads aloud) on any shape or chart frame."""
    shape._element.xpath("./*[1]/p:cNvPr")[0].set("descr", text[:1500])


def _native_chart(slide, s: Slide, left, top, width, height):
    from pptx.chart.data import CategoryChartData, XyChartData
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.util import Pt
    n = s.native
    assert n is not None, "a native chart needs the slide's chart as data"
    data: XyChartData | CategoryChartData
    if n.kind == "scatter":
        data = XyChartData()
        series = data.add_series(list(n.series)[0])
        for x, y in list(n.series.values())[0]:
            series.add_data_point(x, y)
        kind = XL_CHART_TYPE.XY_SCATTER
    else:
        data = CategoryChartData()
        data.categories = n.categories
        for name, values in n.series.items():
            data.add_series(name, values)
        kind = XL_CHART_TYPE.LINE_MARKERS if n.kind == "line" else XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = slide.shapes.add_chart(kind, left, top, width, height, data)
    chart = frame.chart
    chart.has_legend = len(n.series) > 1
    if chart.has_legend:
        chart.legend.position, chart.legend.include_in_layout = XL_LEGEND_POSITION.BOTTOM, False
    chart.font.size = Pt(12)
    for i, plot_series in enumerate(chart.plots[0].series):
        fmt = plot_series.format
        colour = RGBColor.from_string(PALETTE[i % len(PALETTE)].lstrip("#"))
        if n.kind == "bar":
            fmt.fill.solid()
            fmt.fill.fore_color.rgb = colour
        else:
            fmt.line.color.rgb = colour
    _alt(frame, s.chart.alt if s.chart else s.title)
    return frame


def _table(slide, frame, left, top, width, max_rows: int = 14):
    from pptx.util import Emu, Inches
    shown = frame.head(max_rows)
    rows, cols = len(shown) + 1, len(shown.columns)
    shape = slide.shapes.add_table(rows, cols, left, top, width, Emu(int(Inches(0.32)) * rows))
    table = shape.table
    for j, col in enumerate(shown.columns):
        _text(table.cell(0, j).text_frame, str(col), 11, bold=True)
    for i, row in enumerate(shown.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            _text(table.cell(i, j).text_frame, str(value), 10)
    _alt(shape, f"Table with {len(shown)} rows: {', '.join(map(str, shown.columns))}.")
    return shape


def pptx(slides: list[Slide], info: PackInfo) -> bytes:
    """A 16:9 deck: title slide, then one slide per agenda item."""
    from pptx import Presentation
    from pptx.util import Inches
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    blank = prs.slide_layouts[6]
    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = info.title
    first.placeholders[1].text = (f"{info.filters}\nData: {info.data_date}"
                                  + (f"\n{published.DEMO_SHORT}" if info.synthetic else ""))
    first.notes_slide.notes_text_frame.text = "Agenda: " + " → ".join(s.section for s in slides)
    for s in slides:
        slide = prs.slides.add_slide(blank)
        box = slide.shapes.add_textbox(Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.5))
        _text(box.text_frame, s.section.upper(), 12, bold=True, colour=NAVY)
        title = slide.shapes.add_textbox(Inches(0.5), Inches(0.7), Inches(12.3), Inches(1.0))
        title.text_frame.word_wrap = True
        _text(title.text_frame, s.title, 24, bold=True)
        top = Inches(1.9)
        if s.native is not None:
            _native_chart(slide, s, Inches(0.5), top, Inches(7.4) if s.table is not None else Inches(12.3), Inches(4.9))
            if s.table is not None:
                _table(slide, s.table, Inches(8.1), top, Inches(4.8), max_rows=10)
        elif s.table is not None:
            _table(slide, s.table, Inches(0.5), top, Inches(12.3))
        foot = slide.shapes.add_textbox(Inches(0.5), Inches(6.95), Inches(12.3), Inches(0.4))
        foot.text_frame.word_wrap = True
        used = disclosure.symbols_in(s.table) if s.table is not None else set()
        key = " Symbols: " + "; ".join(f"{k} {v}" for k, v in disclosure.symbol_key(used)) + "." if used else ""
        _text(foot.text_frame, SOURCE + (" Synthetic districts, real county." if info.synthetic else "") + key, 9 if key else 10)
        slide.notes_slide.notes_text_frame.text = s.notes or s.title
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def html_pack(slides: list[Slide], info: PackInfo) -> str:
    """One self-contained page: Plotly's script once, each figure, its table and its notes."""
    sections = []
    for i, s in enumerate(slides):
        figure = "" if s.chart is None else (
            f'<figure role="group" aria-label="{html.escape(s.chart.alt)}">'
            + pio.to_html(charts.standalone(s.chart.figure), full_html=False, include_plotlyjs=False, config={"displayModeBar": False})
            + f"<figcaption>{html.escape(s.chart.alt)}</figcaption></figure>")
        table = "" if s.table is None else s.table.to_html(index=False, border=0, classes="data", escape=True)
        bullets = "".join(f"<li>{html.escape(b)}</li>" for b in s.bullets)
        sections.append(f'<section id="s{i + 1}"><p class="section">{html.escape(s.section)}</p>'
                        f"<h2>{html.escape(s.title)}</h2>{f'<ul>{bullets}</ul>' if bullets else ''}{figure}{table}"
                        f'<details><summary>Notes</summary><p>{html.escape(s.notes).replace(chr(10), "<br>")}</p></details>'
                        f"</section>")
    key = "".join(f"<li><code>{html.escape(k)}</code> {html.escape(v)}</li>" for k, v in disclosure.symbol_key())
    banner = f'<p class="synthetic">{html.escape(published.DEMO_SHORT)}.</p>' if info.synthetic else ""
    return f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{html.escape(info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>{_plotly_js()}</script>
<style>body{{font-family:Arial,Helvetica,sans-serif;color:#0B0C0C;max-width:1100px;margin:2rem auto;padding:0 1rem;line-height:1.45}}
h1{{font-size:2rem}} h2{{font-size:1.45rem}} .section{{color:#12436D;font-weight:bold;text-transform:uppercase;margin-bottom:0}}
.synthetic{{background:#FFF4CE;padding:.6rem;border-left:6px solid #F46A25}}
table.data{{border-collapse:collapse;margin:1rem 0;font-size:.95rem}} table.data th,table.data td{{border-bottom:1px solid #B1B4B6;padding:.3rem .6rem;text-align:left}}
section{{border-top:3px solid #12436D;padding-top:.5rem;margin-top:2rem}} figcaption{{font-size:.85rem;color:#505A5F}}
@media print{{section{{page-break-before:always}} details{{display:none}} body{{margin:0}}}}</style></head>
<body><header><h1>{html.escape(info.title)}</h1><p>{html.escape(info.filters)} · data: {html.escape(info.data_date)}</p>{banner}</header>
<main>{''.join(sections)}</main><footer><p>{html.escape(SOURCE)}</p><h2>Symbols</h2><ul>{key}</ul></footer></body></html>"""


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs
    return get_plotlyjs()


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class PdfUnavailable(RuntimeError):
    """No Chromium on this server, so no PDF; the message says what to do instead."""


def pdf(html_text: str) -> bytes:
    browser = chromium()
    if browser is None:
        raise PdfUnavailable("PDF needs Chromium on the server (Debian package 'chromium'), which is not installed; "
                             "download the HTML pack and print it to PDF from a browser instead")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "pack.html", Path(tmp) / "pack.pdf"
        src.write_text(html_text, encoding="utf-8")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update", "--disable-sync",
                        f"--user-data-dir={tmp}/profile", "--no-pdf-header-footer", "--virtual-time-budget=15000",
                        f"--print-to-pdf={out}", src.as_uri()], check=True, capture_output=True, timeout=120)
        return out.read_bytes()
