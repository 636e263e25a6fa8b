"""Shared page furniture: the synthetic-data banner, KPI cards, charts with table alternatives."""
from __future__ import annotations

import re
from typing import Literal

import pandas as pd
import streamlit as st

from stls import reference as ref
from stls.kpi.catalogue import Polarity
from stls.kpi.compare import Headline
from stls.present import charts, export
from stls.present.charts import Chart
from stls.store import disclosure

RAG_ICONS = {"Green": ":material/check_circle:", "Amber": ":material/warning:", "Red": ":material/cancel:"}
RAG_TEXT = {"Green": "green", "Amber": "orange", "Red": "red"}


# Keyboard focus drawn as GOV.UK draws it (WCAG 2.2 2.4.7 and 2.4.13): a 3 px near-black ring with
# a yellow halo, visible on any background. Streamlit's own ring is a faint 1 px tint of the theme.
FOCUS_STYLE = """<style>
:focus-visible, [data-baseweb] :focus-visible, button:focus-visible, a:focus-visible, input:focus-visible,
[role="slider"]:focus-visible, [role="tab"]:focus-visible, summary:focus-visible {
  outline: 3px solid #0B0C0C !important; outline-offset: 1px !important;
  box-shadow: 0 0 0 6px #FFDD00 !important; }
[data-testid="stSlider"] div:has(> div > input[type="range"]:focus-visible),
[data-baseweb="select"]:focus-within > div, [data-baseweb="input"]:focus-within,
[data-testid="stCheckbox"] label:has(input:focus-visible) {
  outline: 3px solid #0B0C0C !important; box-shadow: 0 0 0 6px #FFDD00 !important; }
/* no focus stop hidden from sight: a collapsed sidebar's controls leave the Tab order (they sat
   off screen), and a table's toolbar shows itself while one of its buttons has focus */
[data-testid="stSidebar"][data-collapsed="true"], [data-testid="stSidebar"][data-collapsed="true"] * {
  visibility: hidden !important; }
[data-testid="stHeaderActionElements"] a:focus, [data-testid="stHeaderActionElements"] a:focus-visible {
  opacity: 1 !important; transition: none !important; }
[data-testid="stElementToolbar"]:focus-within, [data-testid="stElementToolbar"]:focus-within * {
  opacity: 1 !important; visibility: visible !important; }
</style>"""


# Words are wrapped, never cut with an ellipsis: a card's comparison ("on 2025/26 (Sep–Nov)"),
# its name and value at 150% zoom, a button naming a district ("Folkestone and Hy…").
WRAP_STYLE = """<style>
[data-testid="stMetricDeltaDescription"], [data-testid="stMetricDeltaDescription"] *,
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *, [data-testid="stMetricValue"],
[data-testid="stMetricValue"] *, [data-testid="stButton"] button *, [data-testid="stDownloadButton"] button * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
[data-testid="stMetricDelta"], [data-testid="stMetric"] > div { flex-wrap: wrap !important; }
[data-testid="stButton"] button, [data-testid="stDownloadButton"] button { height: auto !important; }
/* each grid's table as text: read by screen readers, not drawn on screen (see text_table) */
.stls-text-table { position: absolute !important; width: 1px !important; height: 1px !important; overflow: hidden !important;
  clip-path: inset(50%) !important; white-space: nowrap !important; }
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] .stls-text-table) { position: absolute !important; }
</style>"""


# Printing a page on A4 (WCAG aside, a commissioner's paper copy): only the page's content, flowing
# over as many pages as it needs (Streamlit's scrolling frame printed one clipped screen, with the
# sidebar beside it); rows of cards wrap three to a line (five squeezed their words a letter to a
# line), and each chart is scaled to the page's width (PRINT_SCRIPT).
PRINT_STYLE = """<style>
@page { size: A4; margin: 12mm; }
@media print {
  [data-testid="stSidebar"], [data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stStatusWidget"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpander"],
  [data-testid="stDownloadButton"], [data-testid="stButton"], [data-testid="stMultiSelect"],
  [data-testid="stSelectbox"], [data-testid="stBottom"] { display: none !important; }
  html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"], [data-testid="stMain"] > div {
    overflow: visible !important; height: auto !important; min-height: 0 !important; position: static !important; }
  [data-testid="stMetric"], .stPlotlyChart, [data-testid="stTable"] { break-inside: avoid; }
  [data-testid="stHorizontalBlock"] { flex-wrap: wrap !important; }
  [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] { min-width: 30% !important; }
  [data-testid="stMainBlockContainer"] { max-width: none !important; padding: 0 !important; }
  h1, h2, h3 { break-after: avoid; }
  /* tables print as text, whole: the text table in place of the canvas grid */
  [data-testid="stDataFrame"] { display: none !important; }
  [data-testid="stElementContainer"]:has(> [data-testid="stHtml"] .stls-text-table) { position: static !important; }
  .stls-text-table { position: static !important; width: auto !important; height: auto !important;
    overflow: visible !important; clip-path: none !important; white-space: normal !important; }
  .stls-text-table table { border-collapse: collapse; width: 100%; font-size: 9pt; break-inside: auto; }
  .stls-text-table caption { text-align: left; font-weight: bold; padding: 4pt 0; }
  .stls-text-table th, .stls-text-table td { border-bottom: 1px solid #B1B4B6; padding: 2pt 4pt; text-align: left;
    vertical-align: top; }
  .stls-text-table tr { break-inside: avoid; }
}
</style>"""
PRINT_WIDTH_PX = 718   # A4's 210 mm less two 12 mm margins, at 96 px to the inch
# A chart (and a data grid, drawn on a canvas) keeps the width it was drawn at on screen: before
# printing each one wider than the page is scaled to fit it (and put back after).
PRINT_SCRIPT = f"""<script>
if (!window.__stlsPrint) {{
  window.__stlsPrint = true;
  const charts = () => document.querySelectorAll('.stPlotlyChart, [data-testid="stDataFrame"]');
  window.addEventListener('beforeprint', () => charts().forEach(c => {{
    c.style.zoom = '';
    c.style.zoom = Math.min(1, {PRINT_WIDTH_PX} / c.getBoundingClientRect().width);
  }}));
  window.addEventListener('afterprint', () => charts().forEach(c => {{ c.style.zoom = ''; }}));
}}
</script>"""


def page_style() -> None:
    """The styles every page shares (drawn once per run, before the page): the focus ring and
    print to A4."""
    st.html(FOCUS_STYLE + WRAP_STYLE + PRINT_STYLE)
    st.html(PRINT_SCRIPT, unsafe_allow_javascript=True)


def synthetic_banner(short: bool = False) -> None:
    """The demo notice; ``short``: one line, for a slide on a shared screen (the whole notice
    stays on every other page)."""
    from stls.store import published
    st.warning(published.DEMO_NOTICE_SHORT if short else published.DEMO_NOTICE, icon=":material/science:")


def release_banner(shown, current, params: dict[str, str]) -> None:
    """Which release the figures come from; an earlier one said plainly, with a link to the current."""
    if shown is None:
        return
    if current is None or shown.number == current.number:
        st.caption(f":material/verified: {shown.figures_as_at}.")
        return
    from urllib.parse import urlencode
    link = "?" + urlencode({k: v for k, v in params.items() if k != "release"})
    st.warning(f"These are the figures of {shown.label}: an **earlier release**. The current release is "
               f"{current.label}. [Open this view with the current release]({link})", icon=":material/history:")


def rag_badge(rating: str | None) -> str:
    """RAG as colour, icon and word, e.g. ':green[:material/check_circle: Green]'."""
    if not rating:
        return "No target"
    return f":{RAG_TEXT[rating]}[{RAG_ICONS[rating]} **{rating}**]"


def kpi_card(h: Headline) -> None:
    kpi = h.kpi
    colours: dict[Polarity, Literal["normal", "inverse", "off"]] = {
        Polarity.higher: "normal", Polarity.lower: "inverse", Polarity.demand: "off"}
    colour = colours[kpi.polarity]
    change = kpi.fmt_change(h.change, h.previous)
    # No sparkline (chart_data): Streamlit draws it as an SVG with no text alternative (axe-core
    # svg-img-alt, serious); the years' values are given in words under the card instead.
    st.metric(kpi.short_label or kpi.label, h.display, delta=change, delta_color=colour, border=True,
              help=kpi.description,
              delta_description=(f"on {h.previous_label}" + (" (incomplete)" if h.change_incomplete else "")) if change else None)
    if kpi.short_label:
        st.caption(kpi.label)
    target = f" · target {kpi.target_text()}" if kpi.has_rag else ""
    # Not st.caption: captions are drawn faded, which takes coloured words below 4.5:1 contrast.
    st.markdown(f":small[{h.label} · {rag_badge(h.rag)}{target} · trend: {h.direction.lower()}]")
    if h.trend_text():
        st.markdown(f":small[{h.trend_text()}]")
    if h.note:
        st.caption(f"Filter not applied: {h.note}.")
    for note in (h.returns_note, h.census_note, f"RAG {h.rag_basis}" if h.rag_basis else ""):
        if note:
            st.markdown(f":small[{note}.]")


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=&^@\"'])")


def plain(text: object) -> str:
    """Text from outside (a link's parameters, a file or sheet name, a cell) made safe to show in
    a notice: every Markdown character backslash-escaped, so ``[sign in](https://…)`` is shown as
    typed, never drawn as a link, an image fetched or a ``:red[...]`` directive run; newlines
    become spaces."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def card_symbols(cards) -> None:
    """The symbol key for the symbols a row of cards shows (none: nothing)."""
    symbol_key({c.display for c in cards} & set(disclosure.SYMBOLS))


def glossary() -> None:
    """'About these words' in the sidebar: every term the pages use, in plain English."""
    from stls.present import glossary as words
    with st.sidebar, st.expander("About these words"):
        st.markdown("\n".join(f"- **{term}**: {meaning}" for term, meaning in words.TERMS.items()))


def protection_note() -> None:
    """The one plain sentence every page ends with, linking to the method (body text, not a caption:
    a link in a caption's grey fails WCAG's contrast minimum, as axe-core found)."""
    st.markdown(f"{disclosure.ADDITIVITY_NOTE} [How counts of children are protected]({disclosure.METHOD_PAGE}).")


def symbol_key(symbols: set[str]) -> None:
    if symbols:
        st.caption("Symbols: " + "; ".join(f"{s} {m}" for s, m in disclosure.symbol_key(symbols)))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "table"


def download(frame: pd.DataFrame, title: str, caption: str, key: str) -> None:
    """The symbol key for the table, and its CSV download exactly as shown.

    The CSV is made on every run (a few milliseconds): Streamlit's deferred downloads (a callable
    run on the click) sometimes never answered the click in our browser test. A click does not
    rerun the page (``on_click="ignore"``): the rerun was wasted work, and on a slow machine it
    could retire the file before the browser fetched it."""
    symbols = disclosure.symbols_in(frame)
    symbol_key(symbols)
    from stls.ui import data
    st.download_button("Download this table (CSV)", export.to_csv(frame, title, caption, symbols, data.release_text()),
                       file_name=f"{_slug(title)}.csv", mime="text/csv", key=f"{key}_csv", icon=":material/download:",
                       on_click="ignore")


WHOLE_ROWS = 40   # a table up to this long is drawn whole; a longer one scrolls inside 600 px


def _height(frame: pd.DataFrame):
    return "content" if len(frame) <= WHOLE_ROWS else 600


def text_table(frame: pd.DataFrame, title: str) -> None:
    """The grid's table as text (``export.html_table``): read whole by a screen reader, and the
    table that prints (the grid is drawn on a canvas: part of it, as a picture)."""
    st.html(f'<div class="stls-text-table">{export.html_table(frame, title)}</div>')


def exception_list(frame: pd.DataFrame, title: str, caption: str, key: str) -> None:
    """The exception list by area, a line each with its reason in words and a link to its view
    (words wrap: a grid would clip the reasons), and the list as a CSV."""
    for area, rows in frame.groupby("Area", sort=False):
        st.subheader(f"{area}: {len(rows)}")
        st.markdown("\n".join(f"- **{plain(r.Indicator)}** · {plain(r.Rule)} ({r.Concern}): {plain(r.Reason)} "
                              f"[Open the view]({r.Link})" for r in rows.itertuples()))
    download(frame, title, caption, key)


def table(frame: pd.DataFrame, title: str, caption: str, key: str) -> None:
    """A displayed table (already protected) with its CSV download and symbol key: every row on
    screen up to ``WHOLE_ROWS`` (twelve districts were ten rows and a scroll box)."""
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_df", height=_height(frame))
    text_table(frame, title)
    download(frame, title, caption, key)


def chart(c: Chart, key: str, caption: str = "", selectable: bool = False):
    """A chart with alt text, and its table alternative (with download) in an expander.

    ``selectable`` lets a click on a point rerun the page; the selection is returned.
    """
    fig, title, source = charts.on_screen(c.figure)   # title and source as text: they wrap at any width
    if title:
        st.markdown(f"**{plain(title)}**")
    event = st.plotly_chart(charts.plotly_figure(fig), key=key, alt=c.alt, theme=None, config={"displaylogo": False},
                            on_select="rerun" if selectable else "ignore",
                            selection_mode="points" if selectable else ("points", "box", "lasso"))
    if source:
        st.caption(plain(source))
    if c.caption:
        st.caption(c.caption)
    with st.expander("Table alternative for this chart"):
        table(c.table, c.title, caption, key)
    return event


def scorecard_table(frame: pd.DataFrame, title: str, caption: str, key: str) -> None:
    """A theme's KPIs with a sparkline column; the CSV leaves the sparkline out."""
    st.dataframe(frame, hide_index=True, width="stretch", key=f"{key}_df", height=_height(frame),
                 column_config={"Trend line": st.column_config.LineChartColumn("Trend line", width="small"),
                                "Indicator": st.column_config.TextColumn("Indicator", width="large")})
    export_frame = frame.drop(columns="Trend line")
    text_table(export_frame, title)
    download(export_frame, title, caption, key)


def about(kpi) -> None:
    """'About this indicator': definition, source, period basis, caveats, target."""
    st.markdown(f"**{kpi.label}**  \n{kpi.description}")
    st.markdown(f"**Theme:** {kpi.theme.value}  \n**Source:** {kpi.source}  \n"
                f"**Period:** {kpi.period_basis.replace('_', ' ')}; available by "
                f"{', '.join(g.value.replace('_', ' ') for g in kpi.grains)}")
    if kpi.has_rag:
        st.markdown(f"**Target:** {kpi.target_text()} · **Floor:** {kpi.target_text('floor')}"
                    + (" (illustrative, not agreed)" if kpi.targets_illustrative else ""))
    else:
        st.markdown("**Target:** none" + (" (a demand indicator has no good direction)" if kpi.polarity.value == "demand" else ""))
    if kpi.caveats:
        st.markdown(f"**Caveats:** {kpi.caveats}")


def district_table(frame: pd.DataFrame, title: str, f) -> None:
    """The districts × KPIs matrix, and a button for each district that opens its profile here
    (one click, same tab; a link in the table took two clicks and opened a new tab)."""
    st.dataframe(frame.drop(columns="code"), hide_index=True, width="stretch", key="district_matrix", height=_height(frame))
    text_table(frame.drop(columns="code"), title)
    download(frame.drop(columns="code"), title, f.caption(), "district_matrix")
    profile_buttons([c for c in frame["code"] if c in ref.DISTRICT_NAMES], f, "open")


def profile_buttons(codes: list[str], f, key: str) -> None:
    """'Open a district's profile': a button for each district, six to a row (one click, this
    tab), for a keyboard and for points a pointer cannot tell apart on a chart."""
    from stls.ui.controls import open_profile
    st.markdown("**Open a district's profile**")
    for start in range(0, len(codes), 6):
        for column, code in zip(st.columns(6), codes[start:start + 6]):
            if column.button(ref.DISTRICT_NAMES[code], key=f"{key}_{code}", width="stretch"):
                open_profile(f, code)
