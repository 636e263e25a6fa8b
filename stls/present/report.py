"""The meeting pack: PowerPoint (native charts, alt text, speaker notes), one self-contained HTML
file (Plotly embedded, works offline, prints cleanly), and PDF where a Chromium is installed.

Slides come from ``stls.present.meeting.agenda``, so the pack shows exactly what the screen shows,
after the same disclosure control.
"""
from __future__ import annotations

import html
import io
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import plotly.io as pio

from stls.present import charts
from stls.present.charts import PALETTE
from stls.present.meeting import Slide
from stls.store import disclosure, published

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
    release: str = ""     # 'Figures as at release 14, published 3 December 2026': on the title slide and every footer


def _text(frame, text: str, size: float, bold: bool = False, colour: str | None = None) -> None:
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
    """The slide's chart as a native PowerPoint chart, as readable as the printed pack's: axis
    titles, tick labels at the bottom and left whatever the values' signs, districts named beside
    their points with the fitted line, an effect's 95% interval as error bars."""
    data, kind = _native_data(s)
    frame = slide.shapes.add_chart(kind, left, top, width, height, data)
    chart = frame.chart
    _native_layout(chart, s)
    for i, plot_series in enumerate(chart.plots[0].series):
        _native_series(chart, s, i, plot_series)
    _alt(frame, s.chart.alt if s.chart else s.title)
    return frame


def _native_data(s: Slide):
    """The slide's chart as python-pptx chart data, with its chart type: a scatter's points (and
    its fitted line across them), or a line or bar chart's series over its categories."""
    from pptx.chart.data import CategoryChartData, XyChartData
    from pptx.enum.chart import XL_CHART_TYPE
    n = s.native
    assert n is not None, "a native chart needs the slide's chart as data"
    if n.kind != "scatter":
        data = CategoryChartData()
        data.categories = n.categories
        for name, values in n.series.items():
            data.add_series(name, values)
        return data, XL_CHART_TYPE.LINE_MARKERS if n.kind == "line" else XL_CHART_TYPE.COLUMN_CLUSTERED
    xy = XyChartData()
    points = list(n.series.values())[0]
    series = xy.add_series(list(n.series)[0])
    for x, y in points:
        series.add_data_point(x, y)
    if n.fitted is not None and len(points) > 1:
        slope, intercept = n.fitted
        line = xy.add_series("Fitted line (least squares)")
        for x in (min(p[0] for p in points), max(p[0] for p in points)):
            line.add_data_point(x, intercept + slope * x)
    return xy, XL_CHART_TYPE.XY_SCATTER


def _native_layout(chart, s: Slide) -> None:
    """No chart title, a legend below when there is more than one series, 12 pt text, and axis
    titles with tick labels at the chart's edge."""
    from pptx.enum.chart import XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION
    from pptx.util import Pt
    n = s.native
    assert n is not None, "a native chart needs the slide's chart as data"
    chart.has_title = False                      # the slide's title states the finding
    chart.has_legend = len(chart.plots[0].series) > 1
    if chart.has_legend:
        chart.legend.position, chart.legend.include_in_layout = XL_LEGEND_POSITION.BOTTOM, False
    chart.font.size = Pt(12)
    for axis, title in ((chart.category_axis, n.x_title), (chart.value_axis, n.y_title)):
        axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW   # at the edge, not where zero crosses
        if title:
            axis.has_title = True
            _text(axis.axis_title.text_frame, title, 12)


def _native_series(chart, s: Slide, i: int, plot_series) -> None:
    """Series ``i``'s look: bars filled in the palette's colour; a scatter's points as named
    circles and its fitted line dashed; a line in the palette's colour, the first with its 95%
    interval as error bars."""
    from pptx.dml.color import RGBColor
    from pptx.enum.chart import XL_MARKER_STYLE
    n = s.native
    assert n is not None, "a native chart needs the slide's chart as data"
    fmt = plot_series.format
    colour = RGBColor.from_string(PALETTE[i % len(PALETTE)].lstrip("#"))
    if n.kind == "bar":
        fmt.fill.solid()
        fmt.fill.fore_color.rgb = colour
    elif n.kind == "scatter" and i == 0:   # points only: a line through them in district order meant nothing
        fmt.line.fill.background()
        plot_series.marker.style, plot_series.marker.size = XL_MARKER_STYLE.CIRCLE, 9
        plot_series.marker.format.fill.solid()
        plot_series.marker.format.fill.fore_color.rgb = colour
        _point_labels(plot_series, n.categories, list(n.series.values())[0])
    elif n.kind == "scatter":               # the fitted line: dashed, no markers
        from pptx.enum.dml import MSO_LINE_DASH_STYLE
        plot_series.marker.style = XL_MARKER_STYLE.NONE
        fmt.line.color.rgb, fmt.line.dash_style = RGBColor.from_string("801650"), MSO_LINE_DASH_STYLE.DASH
        plot_series.smooth = False
    else:
        fmt.line.color.rgb = colour
        if i == 0 and n.interval is not None:
            _interval_bars(chart, plot_series, n.series[list(n.series)[0]], n.interval)


def _interval_bars(chart, plot_series, values: list, interval: tuple[list, list]) -> None:
    """The value axis fitted to the interval (with a little room, on round steps) and each value's
    interval drawn as error bars."""
    low, high = min(interval[0]), max(interval[1])
    pad = 0.05 * (high - low or 1.0)
    chart.value_axis.minimum_scale, chart.value_axis.maximum_scale = _nice(low - pad, high + pad)
    _error_bars(plot_series, [v - lo for v, lo in zip(values, interval[0])], [hi - v for v, hi in zip(values, interval[1])])


def _nice(low: float, high: float) -> tuple[float, float]:
    """An axis range holding ``low`` to ``high``, its ends on a round step (1, 2 or 5 times a power of ten)."""
    import math
    raw = (high - low) / 6 or 1.0
    step = min((m * 10 ** math.floor(math.log10(raw)) for m in (1, 2, 5, 10)), key=lambda s: abs(s - raw))
    return math.floor(low / step) * step, math.ceil(high / step) * step


# plotly's text positions (charts.label_positions) as PowerPoint's data label positions
_LABEL_AT = {"top center": "ABOVE", "bottom center": "BELOW", "middle left": "LEFT", "middle right": "RIGHT"}


def _point_labels(plot_series, names: list[str], points: list[tuple[float, float]]) -> None:
    """Each point named beside it, on the side that keeps near neighbours' names apart (the same
    rule as the dashboard's chart)."""
    import numpy as np
    from pptx.enum.chart import XL_LABEL_POSITION
    from pptx.util import Pt
    where = charts.label_positions(np.array([p[0] for p in points], float), np.array([p[1] for p in points], float))
    for i, (name, pos) in enumerate(zip(names, where)):
        label = plot_series.points[i].data_label
        label.has_text_frame = True
        label.text_frame.text = name
        label.position = getattr(XL_LABEL_POSITION, _LABEL_AT[pos])
        label.font.size = Pt(10)


def _error_bars(plot_series, minus: list[float], plus: list[float]) -> None:
    """Vertical error bars of the given lengths below and above each point (python-pptx has no API
    for them: DrawingML's ``c:errBars`` with custom values, placed where the schema wants it)."""
    from lxml import etree
    ns = "http://schemas.openxmlformats.org/drawingml/2006/chart"

    def lit(values: list[float]) -> str:
        pts = "".join(f'<c:pt idx="{i}"><c:v>{max(float(v), 0.0):.4f}</c:v></c:pt>' for i, v in enumerate(values))
        return f'<c:numLit><c:formatCode>General</c:formatCode><c:ptCount val="{len(values)}"/>{pts}</c:numLit>'

    xml = (f'<c:errBars xmlns:c="{ns}"><c:errDir val="y"/><c:errBarType val="both"/><c:errValType val="cust"/>'
           f'<c:noEndCap val="0"/><c:plus>{lit(plus)}</c:plus><c:minus>{lit(minus)}</c:minus>'
           '<c:spPr><a:ln xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" w="19050">'
           '<a:solidFill><a:srgbClr val="0B0C0C"/></a:solidFill></a:ln></c:spPr></c:errBars>')
    ser = plot_series._element
    anchor = ser.find(f"{{{ns}}}cat") if ser.find(f"{{{ns}}}cat") is not None else ser.find(f"{{{ns}}}val")
    anchor.addprevious(etree.fromstring(xml))


# Slide geometry (inches, 16:9): the title area above TOP, the source line at FOOT.
SLIDE_W, SLIDE_H, MARGIN, TOP, FOOT = 13.333, 7.5, 0.5, 1.9, 6.95
CELL_PAD = 0.1           # a cell's top and bottom margins together (python-pptx's default 0.05 in each)
CHAR_W = 0.62            # average character width in ems (Arial/Liberation Sans, bold headings included), with room


def _column_widths(frame, width: float, size: float) -> list[float] | None:
    """Column widths (inches, summing to ``width``): each at least its longest word, so no word
    breaks, and the room left shared by how much more each column's text wants. None when the
    longest words alone do not fit at this size."""
    inch = CHAR_W * size / 72
    texts = [[str(col)] + [str(v) for v in frame[col]] for col in frame.columns]
    bold = [max((len(w) for w in str(col).split()), default=0) * 1.12 for col in frame.columns]   # headings are bold
    base = [max(max(len(w) for t in col for w in (t.split() or [""])), b) * inch + 0.25 for col, b in zip(texts, bold)]
    wants = [min(max(len(t) for t in col), 48) * inch + 0.25 for col in texts]
    if sum(base) > width:
        return None
    extra = [max(w - b, 0.0) for w, b in zip(wants, base)]
    spare = width - sum(base)
    if sum(extra) <= spare:   # everything fits on one line: share what is left evenly
        return [w + (spare - sum(extra)) / len(base) for w in wants]
    return [b + spare * e / sum(extra) for b, e in zip(base, extra)]


def _table_height(frame, widths: list[float], size: float) -> float:
    """The table's height once its text wraps (inches): each row as tall as its fullest cell."""
    import math
    line = size * 1.25 / 72
    def lines(text: str, w: float) -> int:
        per_line = max(int((w - 0.25) * 72 / (CHAR_W * size)), 1)
        return sum(max(math.ceil(len(part) / per_line), 1) for part in str(text).split("\n"))
    rows = [list(frame.columns)] + [list(r) for r in frame.itertuples(index=False)]
    return sum(max(lines(str(v), w) for v, w in zip(r, widths)) * line + CELL_PAD for r in rows)


def table_layout(frame, width: float, height: float) -> tuple[float, list[float]] | None:
    """(font size, column widths) for the table in a ``width`` × ``height`` box (inches): the
    largest size from 12 pt down to 9 pt at which every row fits, else None."""
    for size in (12, 11, 10, 9):
        widths = _column_widths(frame, width, size)
        if widths is not None and _table_height(frame, widths, size) <= height:
            return size, widths
    return None


def _table(slide, frame, left: float, top: float, width: float, size: float, widths: list[float]):
    from pptx.util import Inches, Pt
    rows, cols = len(frame) + 1, len(frame.columns)
    line = size * 1.2 / 72
    shape = slide.shapes.add_table(rows, cols, Inches(left), Inches(top), Inches(width),
                                   Inches(rows * (line + CELL_PAD)))
    table = shape.table
    for j, w in enumerate(widths):
        table.columns[j].width = Inches(w)
    for i in range(rows):
        table.rows[i].height = Inches(line + CELL_PAD)   # rows grow with their text, no taller
    for j, col in enumerate(frame.columns):
        _text(table.cell(0, j).text_frame, str(col), size, bold=True)
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        for j, value in enumerate(row):
            _text(table.cell(i, j).text_frame, str(value), size)
    for i in range(rows):
        for j in range(cols):
            cell = table.cell(i, j)
            cell.margin_top = cell.margin_bottom = Inches(CELL_PAD / 2)
            for p in cell.text_frame.paragraphs:
                p.font.size = Pt(size)
    _alt(shape, f"Table with {len(frame)} rows: {', '.join(map(str, frame.columns))}.")
    return shape


BULLET_PT, BULLET_CHARS = 14, 100   # a slide's sentences under its title: type size, characters a line


def _bullets(slide, s: Slide) -> float:
    """The slide's sentences (the impact slide's effect, interval and robustness) under its title,
    where the chart and table would start; returns where they start now (inches)."""
    from pptx.util import Inches, Pt
    if not s.bullets:
        return TOP
    lines = sum(-(-len(b) // BULLET_CHARS) for b in s.bullets)
    height = 0.3 * lines + 0.1
    box = slide.shapes.add_textbox(Inches(MARGIN), Inches(TOP - 0.1), Inches(SLIDE_W - 2 * MARGIN), Inches(height))
    box.text_frame.word_wrap = True
    box.text_frame.text = s.bullets[0]
    for b in s.bullets[1:]:
        box.text_frame.add_paragraph().text = b
    for p in box.text_frame.paragraphs:
        p.font.size = Pt(BULLET_PT)
    return TOP + height


def _place(s: Slide, top: float = TOP) -> list[tuple[str, float, float]]:
    """Where a slide's chart and table go, as (what, left, width) in inches: side by side when
    the table fits beside a chart of some width; else the chart alone and the table on a slide
    of its own after it ('table-next')."""
    room, full = FOOT - 0.1 - top, SLIDE_W - 2 * MARGIN
    if s.native is None:
        return [("table", MARGIN, full)] if s.table is not None else []
    if s.table is None:
        return [("chart", MARGIN, full)]
    for chart_w in (7.4, 6.6, 5.8):
        if table_layout(s.table, full - chart_w - 0.2, room) is not None:
            return [("chart", MARGIN, chart_w), ("table", MARGIN + chart_w + 0.2, full - chart_w - 0.2)]
    return [("chart", MARGIN, full), ("table-next", MARGIN, full)]


def _slide_frame(prs, section: str, title_text: str, info: PackInfo, table=None):
    """A blank slide with its section line, finding as title, source line and notes."""
    from pptx.util import Inches
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    box = slide.shapes.add_textbox(Inches(MARGIN), Inches(0.3), Inches(SLIDE_W - 2 * MARGIN), Inches(0.4))
    _text(box.text_frame, section.upper(), 12, bold=True, colour=NAVY)
    title = slide.shapes.add_textbox(Inches(MARGIN), Inches(0.7), Inches(SLIDE_W - 2 * MARGIN), Inches(1.1))
    title.text_frame.word_wrap = True
    _text(title.text_frame, title_text, 24 if len(title_text) <= 110 else 20, bold=True)
    foot = slide.shapes.add_textbox(Inches(MARGIN), Inches(FOOT), Inches(SLIDE_W - 2 * MARGIN), Inches(0.4))
    foot.text_frame.word_wrap = True
    used = disclosure.symbols_in(table) if table is not None else set()
    key = " Symbols: " + "; ".join(f"{k} {v}" for k, v in disclosure.symbol_key(used)) + "." if used else ""
    key += " " + disclosure.ADDITIVITY_NOTE if table is not None else ""
    _text(foot.text_frame, SOURCE + (" Synthetic districts, real county." if info.synthetic else "")
          + (f" {info.release}." if info.release else "") + key, 9 if key else 10)
    return slide


def _table_slides(prs, s: Slide, info: PackInfo, section: str, left: float, width: float, slide=None,
                  top: float = TOP) -> None:
    """The slide's table, on ``slide`` (from ``top``) or on slides of its own, split into parts that fit."""
    frame, part = s.table, 0
    while frame is not None and len(frame):
        at = top if slide is not None and part == 0 else TOP
        room, n = FOOT - 0.1 - at, len(frame)
        while n > 1 and table_layout(frame.head(n), width, room) is None:
            n -= 1
        shown = frame.head(n)
        fitted = table_layout(shown, width, room)
        size, widths = fitted if fitted else (9, [width / len(shown.columns)] * len(shown.columns))
        target = slide if slide is not None and part == 0 else _slide_frame(
            prs, section + (" (table)" if part == 0 else " (table, continued)"), s.title, info, shown)
        _table(target, shown, left, at, width, size, widths)
        if target is not slide:
            target.notes_slide.notes_text_frame.text = s.notes or s.title
        frame, part = frame.iloc[n:], part + 1


def pptx(slides: list[Slide], info: PackInfo) -> bytes:
    """A 16:9 deck: title slide, then one slide per agenda item (a table too long for its slide
    continues on the next). Every shape lies inside its slide and above the source line."""
    from pptx import Presentation
    from pptx.util import Inches, Pt
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    first = prs.slides.add_slide(prs.slide_layouts[0])
    # the default template's placeholders sit where a 4:3 slide has them: place them for 16:9
    heading, sub = first.shapes.title, first.placeholders[1]
    heading.left, heading.top, heading.width, heading.height = Inches(0.8), Inches(1.4), Inches(11.7), Inches(2.0)
    sub.left, sub.top, sub.width, sub.height = Inches(0.8), Inches(3.6), Inches(11.7), Inches(3.0)
    heading.text = info.title
    sub.text = (f"{info.filters}\nData: {info.data_date}" + (f"\n{info.release}" if info.release else "")
                + (f"\n{published.DEMO_SHORT}" if info.synthetic else ""))
    for p in heading.text_frame.paragraphs:
        p.font.size = Pt(36)
    for p in sub.text_frame.paragraphs:
        p.font.size = Pt(18)
    first.notes_slide.notes_text_frame.text = "Agenda: " + " → ".join(s.section for s in slides)
    for s in slides:
        slide = _slide_frame(prs, s.section, s.title, info, s.table)
        slide.notes_slide.notes_text_frame.text = s.notes or s.title
        top = _bullets(slide, s)
        for what, left, width in _place(s, top):
            if what == "chart":
                _native_chart(slide, s, Inches(left), Inches(top), Inches(width), Inches(FOOT - 0.1 - top))
            elif what == "table":
                _table_slides(prs, s, info, s.section, left, width, slide, top)
            else:   # 'table-next': its own slide(s) after this one
                _table_slides(prs, s, info, s.section, left, width)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def html_pack(slides: list[Slide], info: PackInfo) -> str:
    """One self-contained page: Plotly's script once, each figure, its table and its notes."""
    sections = []
    for i, s in enumerate(slides):
        figure = "" if s.chart is None else (
            f'<figure role="group" aria-label="{html.escape(s.chart.alt)}">'
            + pio.to_html(_page_figure(s.chart.figure), full_html=False, include_plotlyjs=False,
                          config={"displayModeBar": False})
            + f"<figcaption>{html.escape(s.chart.alt)}</figcaption></figure>")
        table = "" if s.table is None else s.table.to_html(index=False, border=0, classes="data", escape=True)
        bullets = "".join(f"<li>{html.escape(b)}</li>" for b in s.bullets)
        sections.append(f'<section id="s{i + 1}"><p class="section">{html.escape(s.section)}</p>'
                        f"<h2>{html.escape(s.title)}</h2>{f'<ul>{bullets}</ul>' if bullets else ''}{figure}{table}"
                        f'<details><summary>Notes</summary><p>{html.escape(s.notes).replace(chr(10), "<br>")}</p></details>'
                        f"</section>")
    key = "".join(f"<li><code>{html.escape(k)}</code> {html.escape(v)}</li>" for k, v in disclosure.symbol_key())
    banner = f'<p class="synthetic">{html.escape(published.DEMO_SHORT)}.</p>' if info.synthetic else ""
    footer = (f"<p>{html.escape(SOURCE)}{html.escape(' ' + info.release + '.' if info.release else '')}</p><h2>Symbols</h2><ul>{key}</ul>"
              f"<p>{html.escape(disclosure.ADDITIVITY_NOTE)} Method: {html.escape(disclosure.METHOD_DOC)}.</p>")
    return f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>{html.escape(info.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>{_plotly_js()}</script>
<style>body{{font-family:Arial,Helvetica,sans-serif;color:#0B0C0C;max-width:1100px;margin:2rem auto;padding:0 1rem;line-height:1.45}}
h1{{font-size:2rem}} h2{{font-size:1.45rem}} .section{{color:#12436D;font-weight:bold;text-transform:uppercase;margin-bottom:0}}
.synthetic{{background:#FFF4CE;padding:.6rem;border-left:6px solid #F46A25}}
table.data{{border-collapse:collapse;margin:1rem 0;font-size:.95rem}} table.data th,table.data td{{border-bottom:1px solid #B1B4B6;padding:.3rem .6rem;text-align:left}}
section{{border-top:3px solid #12436D;padding-top:.5rem;margin-top:2rem}} figcaption{{font-size:.85rem;color:#505A5F}}
@page{{size:A4;margin:14mm}}
@media print{{section{{break-before:page;break-inside:avoid;border-top:0;margin-top:0}} details{{display:none}}
body{{margin:0;max-width:none;font-size:10.5pt}} figcaption{{font-size:8pt}} table.data{{font-size:9pt}}}}</style></head>
<body><header><h1>{html.escape(info.title)}</h1><p>{html.escape(info.filters)} · data: {html.escape(info.data_date)}{html.escape(" · " + info.release if info.release else "")}</p>{banner}
{footer}</header><main>{''.join(sections)}</main></body></html>"""


PAGE_FIGURE = (680, 460)   # px: a chart as wide as an A4 page's text (182 mm at 96 dpi is 688 px)


def _page_figure(fig: dict) -> dict:
    """A chart for the pack's page: a fixed size that fits A4 inside its margins, its source
    line and a long y-axis title wrapped, room at the right for point labels (drawn at the
    browser's width, its title, labels and source line were clipped when printed)."""
    import copy
    width, height = PAGE_FIGURE
    out = copy.deepcopy(charts.resized(fig, height))
    layout = out["layout"]
    layout.update(width=width, autosize=False)
    layout["margin"] = {**layout["margin"], "r": max(layout["margin"].get("r", 10), 70)}
    for note in layout.get("annotations", []):
        if note.get("name") == charts.SOURCE_NAME and "<br>" not in note["text"]:
            note["text"] = charts.wrap(note["text"], 105)
            layout["margin"]["b"] += 14 * note["text"].count("<br>")
    for key in [k for k in layout if k.startswith("yaxis")]:
        title = layout[key].get("title")
        if isinstance(title, dict) and len(str(title.get("text") or "")) > (height - 180) / 7:
            layout[key]["title"] = {**title, "text": charts.wrap(str(title["text"]), 40)}
            layout["margin"]["l"] = max(layout["margin"].get("l", 10), 30)
    charts.place(layout)
    return charts.standalone(out)


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


PDF_AT_ONCE = threading.BoundedSemaphore(2)   # headless Chromiums at once: each takes 150-200 MB and a core


def pdf(html_text: str) -> bytes:
    """The page printed to PDF by headless Chromium; at most ``PDF_AT_ONCE`` at a time in this
    process (others wait their turn), so many visitors asking at once cannot fill the memory."""
    with PDF_AT_ONCE:
        return _pdf(html_text)


def _pdf(html_text: str) -> bytes:
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
