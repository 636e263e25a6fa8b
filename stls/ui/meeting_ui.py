"""Meeting mode's furniture: large type, slide position in the URL, previous/next, pack downloads."""
from __future__ import annotations

import re
from dataclasses import replace

import streamlit as st

from stls import reference as ref
from stls.filters import Filters
from stls.present import charts, meeting, pack
from stls.present.charts import Chart
from stls.present.views import exceptions as exceptions_view
from stls.ui import data, state, widgets

# Sized for a 1280×720 shared screen: large type, little padding, the heading a little over
# twice the chart text (it was 46 px against 12 px).
LARGE_TYPE = """<style>
html { font-size: 18px; }
[data-testid="stMainBlockContainer"] { padding-top: 3.7rem !important; padding-bottom: 0.5rem !important; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
h1 { font-size: 2rem !important; line-height: 1.2 !important; padding: 0.2rem 0 0.3rem 0 !important; }
[data-testid="stCaptionContainer"] { font-size: 0.9rem; }
[data-testid="stMain"] [data-testid="stAlert"] p { font-size: 0.85rem; }
[data-testid="stMain"] [data-testid="stAlertContainer"] { padding: 0.35rem 0.8rem; }
[data-testid="stMain"] [data-testid="stTable"] td, [data-testid="stMain"] [data-testid="stTable"] th {
  padding: 0.2rem 0.5rem; font-size: 0.85rem; }
[data-testid="stMain"] [data-testid="stTable"] td:nth-child(n+2):nth-child(-n+7) { white-space: nowrap; }
</style>"""
SCREEN = (1280, 720)          # the screen a slide must fit whole
CHART_FONT = 16               # chart text in meeting mode (px)
USED_ABOVE = 300              # px above a slide's chart: Streamlit's bar, banner, navigation, heading
BULLET_CHARS = 100           # characters of a slide sentence per screen line (meeting type, 1280 px)


def open_meeting(page: str, params: dict[str, str]) -> None:
    """Meeting mode at the slide of ``page`` (its section; a district profile's own spotlight),
    keeping the view's filters. It always opened at slide 1."""
    params = {k: v for k, v in params.items() if k not in ("slide", "mode")}
    spotlights = [c for c in params.get("spotlight", "").split(",") if c]
    profile = params.get("profile")
    if page == "district" and profile and profile not in spotlights:
        spotlights.append(profile)
    if spotlights:
        params["spotlight"] = ",".join(spotlights)
    index = meeting.slide_for_page(page, tuple(spotlights), profile)
    st.session_state.pop("mt_slide", None)   # the slide comes from the link, not an earlier meeting
    state.follow("app_pages/meeting.py", {**params, "mode": "meeting", "slide": str(index + 1)})


def is_meeting_mode() -> bool:
    return st.query_params.get("mode") == "meeting"


def apply_style() -> None:
    """Large type for a projector or a shared screen (contrast comes from the theme)."""
    st.html(LARGE_TYPE)


def slide_index(count: int) -> int:
    """The slide shown (``slide`` in the URL, 1-based), kept within the agenda."""
    key = "mt_slide"
    if key not in st.session_state:
        raw = str(st.query_params.get("slide", "1"))
        # ASCII digits only, and few of them: "²" passes str.isdigit, and 5,000 digits is past int()'s limit
        st.session_state[key] = int(raw) - 1 if re.fullmatch(r"[0-9]{1,4}", raw) else 0
    st.session_state[key] = max(0, min(st.session_state[key], count - 1))
    state.remember("slide", str(st.session_state[key] + 1))
    state.remember("mode", "meeting")
    return st.session_state[key]


def fit(chart: Chart, height: int = 400) -> Chart:
    """A copy of the chart for one screen: its height, larger text, and no title of its own
    (the slide's heading states the same finding); the cached figure is left as it is."""
    fig = charts.resized(chart.figure, height)
    layout = fig["layout"]
    layout["title"] = dict(text="")
    layout["margin"]["t"] = 20
    layout["font"] = {**layout["font"], "size": CHART_FONT}
    for key in [k for k in layout if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[key]
        axis["tickfont"] = {**(axis.get("tickfont") or {}), "size": CHART_FONT}
        if isinstance(axis.get("title"), dict):
            text = str(axis["title"].get("text") or "")
            if key.startswith("yaxis") and len(text) * CHART_FONT * 0.55 > height - 120:   # longer than the axis
                text = charts.wrap(text, 30)
                layout["margin"]["l"] = max(layout["margin"].get("l", 10), 30)
            axis["title"] = {**axis["title"], "text": text,
                             "font": {**(axis["title"].get("font") or {}), "size": CHART_FONT}}
    layout["legend"] = {**layout["legend"], "font": {"size": CHART_FONT}}
    charts.place(layout)
    return replace(chart, figure=fig)


def slide_bullets(bullets: list[str]) -> int:
    """The slide's sentences under its heading; returns how many screen lines they take (at about
    ``BULLET_CHARS`` characters a line of meeting type on a 1280-pixel screen)."""
    for bullet in bullets:
        st.markdown(f"- {bullet}")
    return sum(-(-len(b) // BULLET_CHARS) for b in bullets)


def slide_chart(chart: Chart, key: str, caption: str, lines: int = 0) -> None:
    """The slide's chart, as tall as the screen leaves (``lines``: bullet lines above it), with its
    table alternative in the sidebar (there is no room under it on a shared screen)."""
    height = SCREEN[1] - USED_ABOVE - 34 * lines
    st.plotly_chart(charts.plotly_figure(fit(chart, height).figure), key=key, alt=chart.alt, theme=None,
                    config={"displaylogo": False, "displayModeBar": False})
    with st.sidebar, st.expander("Table alternative for this slide's chart"):
        widgets.table(chart.table, chart.title, caption, key)


def slide_table(table, title: str, caption: str, key: str) -> None:
    """The slide's table whole (every row drawn, none scrolled out of sight), its download in the sidebar."""
    st.table(table, hide_index=True, border="horizontal")
    with st.sidebar:
        widgets.download(table, title, caption, key)


def _move(step: int) -> None:
    st.session_state["mt_slide"] += step


def previous_next(index: int, count: int, where: str) -> None:
    """One row: previous, where the slide is in the agenda, next."""
    left, middle, right = st.columns([1, 4, 1], vertical_alignment="center")
    left.button("◀ Previous", on_click=_move, args=(-1,), disabled=index == 0, key="mt_prev", width="stretch")
    middle.progress((index + 1) / count, text=f"Slide {index + 1} of {count} · {where}")
    right.button("Next ▶", on_click=_move, args=(1,), disabled=index == count - 1, key="mt_next", width="stretch")


def pack_downloads(f: Filters, spotlights: tuple[str, ...]) -> None:
    """Build the pack on request (it takes a few seconds), then offer it for download: only while
    the format, filters, spotlights and data are those it was built for, so a pack that no longer
    matches the screen is never circulated by mistake."""
    fmt = st.radio("Pack format", ["pptx", "html", "pdf"], horizontal=True, key="mt_fmt",
                   format_func={"pptx": "PowerPoint", "html": "HTML (works offline)", "pdf": "PDF"}.get)
    wanted = (fmt, f, tuple(spotlights), data.database().version)
    if st.button("Prepare the pack", key="mt_build", icon=":material/slideshow:"):
        try:
            with st.spinner(f"Preparing the {FORMATS[fmt]} pack (a few seconds)…", show_time=True):
                st.session_state["mt_pack"] = (wanted, data.call(pack.build, f, fmt, spotlights, data.release_text(),
                                                              data.call(exceptions_view.since_lines, f, *data.previous_release())))
        except pack.PdfUnavailable as exc:
            st.error(str(exc))
    built = st.session_state.get("mt_pack")
    if not built:
        return
    made_for, blob = built
    if made_for != wanted:
        st.warning("The pack prepared earlier was for " + _differences(made_for, wanted)
                   + ". Prepare it again to download one that matches what is on screen.", icon=":material/sync_problem:")
        return
    mime = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "html": "text/html", "pdf": "application/pdf"}[fmt]
    st.download_button(f"Download the pack ({FORMATS[fmt]}, {len(blob) / 1024:,.0f} KB)", blob,
                       file_name=f"stls-meeting-pack.{fmt}", mime=mime, key="mt_download",
                       icon=":material/download:", on_click="ignore")


FORMATS = {"pptx": "PowerPoint", "html": "HTML", "pdf": "PDF"}


def _differences(made_for: tuple, wanted: tuple) -> str:
    """What differs between the pack built and the one the screen now asks for, in words."""
    (fmt0, f0, spots0, v0), (fmt1, f1, spots1, v1) = made_for, wanted
    parts = []
    if fmt0 != fmt1:
        parts.append(f"{FORMATS[fmt0]}, not {FORMATS[fmt1]}")
    if f0 != f1:
        parts.append(f"other filters ({f0.caption()})")
    if spots0 != spots1:
        parts.append("other district spotlights (" + (", ".join(ref.DISTRICT_NAMES.get(c, c) for c in spots0) or "none") + ")")
    if v0 != v1:
        parts.append("data since replaced by a new import")
    return "; ".join(parts)
