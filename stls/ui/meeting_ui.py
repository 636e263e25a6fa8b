"""Meeting mode's furniture: large type, slide position in the URL, previous/next, pack downloads."""
from __future__ import annotations

from dataclasses import replace

import streamlit as st

from stls import charts, pack
from stls.charts import Chart
from stls.filters import Filters
from stls.ui import data, state

LARGE_TYPE = """<style>
html { font-size: 20px; }
h1 { font-size: 2.3rem !important; line-height: 1.2 !important; }
[data-testid="stCaptionContainer"] { font-size: 1rem; }
</style>"""


def is_meeting_mode() -> bool:
    return st.query_params.get("mode") == "meeting"


def apply_style() -> None:
    """Large type for a projector or a shared screen (contrast comes from the theme)."""
    st.html(LARGE_TYPE)


def slide_index(count: int) -> int:
    """The slide shown (``slide`` in the URL, 1-based), kept within the agenda."""
    key = "mt_slide"
    if key not in st.session_state:
        raw = st.query_params.get("slide", "1")
        st.session_state[key] = int(raw) - 1 if str(raw).isdigit() else 0
    st.session_state[key] = max(0, min(st.session_state[key], count - 1))
    state.remember("slide", str(st.session_state[key] + 1))
    state.remember("mode", "meeting")
    return st.session_state[key]


def fit(chart: Chart, height: int = 440) -> Chart:
    """A copy of the chart sized for one screen (the cached figure is left as it is)."""
    return replace(chart, figure=charts.resized(chart.figure, height))


def _move(step: int) -> None:
    st.session_state["mt_slide"] += step


def previous_next(index: int, count: int) -> None:
    left, middle, right = st.columns([1, 3, 1])
    left.button("◀ Previous", on_click=_move, args=(-1,), disabled=index == 0, key="mt_prev", width="stretch")
    middle.progress((index + 1) / count, text=f"Slide {index + 1} of {count}")
    right.button("Next ▶", on_click=_move, args=(1,), disabled=index == count - 1, key="mt_next", width="stretch")


def pack_downloads(f: Filters, spotlights: tuple[str, ...]) -> None:
    """Build the pack on request (it takes a few seconds), then offer it for download."""
    fmt = st.radio("Pack format", ["pptx", "html", "pdf"], horizontal=True, key="mt_fmt",
                   format_func={"pptx": "PowerPoint", "html": "HTML (works offline)", "pdf": "PDF"}.get)
    if st.button("Prepare the pack", key="mt_build", icon=":material/slideshow:"):
        try:
            st.session_state["mt_pack"] = (fmt, data.call(pack.build, f, fmt, spotlights))
        except pack.PdfUnavailable as exc:
            st.error(str(exc))
    built = st.session_state.get("mt_pack")
    if built:
        kind, blob = built
        mime = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                "html": "text/html", "pdf": "application/pdf"}[kind]
        st.download_button(f"Download the pack ({kind}, {len(blob) / 1024:,.0f} KB)", blob,
                           file_name=f"stls-meeting-pack.{kind}", mime=mime, key="mt_download",
                           icon=":material/download:", on_click="ignore")
