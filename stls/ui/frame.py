"""The frame every page sits in: banner, shared sidebar filters, URL state.

``app.py`` opens the frame before running the page and closes it after. A page asks for its
filters through ``filters(page)``: if the frame is not open (a page file run on its own, as a test
may run it), the page opens it.
"""
from __future__ import annotations

import os
import time

import streamlit as st

from stls.filters import Filters
from stls.ui import data, state, widgets
from stls.ui import signin as access

_ACTIVE = "_frame_active"


def _timing(mark: str) -> None:
    path = os.environ.get("STLS_TIMING_FILE")  # set by bench/run.py to time complete script runs
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{mark} {time.time():.4f}\n")


def open_frame(page: str) -> Filters:
    _timing("start")
    who = access.visitor()
    access.gate(who)           # before the first query: a visitor not signed in is sent nothing
    state.set_page(page)
    widgets.page_style()
    release_problem = data.choose_release()
    extent = data.extent()
    f = state.sidebar_filters(extent)
    st.session_state["filters"] = f
    st.session_state[_ACTIVE] = True
    _meeting_toggle(page)
    access.sidebar(who)
    if data.is_synthetic():
        widgets.synthetic_banner(short=page == "meeting")
    shown, current = data.releases_now()
    if page != "meeting" or (shown and current and shown.number != current.number):   # a slide keeps its height
        widgets.release_banner(shown, current, {**state.link_params(f), **st.session_state.get("_page_params", {})})
    for problem in state.url_problems() + ([release_problem] if release_problem else []):
        st.info(widgets.plain(problem), icon=":material/link_off:")   # the link's text, shown as typed
    return f


def close_frame(f: Filters) -> None:
    try:
        if state.current_page() != "meeting":   # the meeting's slides and pack say it themselves
            widgets.protection_note()
            widgets.glossary()
        st.session_state[_ACTIVE] = False
        shown, _ = data.releases_now()
        state.write_url(f, shown.number if shown else None)
    finally:   # a run that st.stop ended (a page still preparing) is timed too
        _timing("end")


def filters(page: str) -> Filters:
    """The shared filters for this run (opening the frame if the page runs on its own)."""
    if st.session_state.get(_ACTIVE):
        return st.session_state["filters"]
    return open_frame(page)


def _meeting_toggle(page: str) -> None:
    on = page == "meeting"
    with st.sidebar:
        wanted = st.toggle("Meeting mode", value=on, key=f"mt_toggle_{page}",
                           help="Large type, one idea per screen, previous and next: for a shared screen")
    if wanted and not on:
        from stls.ui import meeting_ui
        meeting_ui.open_meeting(page, {**st.query_params.to_dict(), **state.link_params(st.session_state["filters"])})
    if on and not wanted:
        st.switch_page("app_pages/overview.py", query_params={k: v for k, v in st.query_params.to_dict().items()
                                                          if k not in ("mode", "slide", "spotlight")})
    if on:
        from stls.ui import meeting_ui
        meeting_ui.apply_style()
