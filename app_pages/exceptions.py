"""Exceptions: what needs attention, KPI by KPI, in Kent and each district; and the e-mail digest."""
import streamlit as st

from stls.analysis import exceptions
from stls.present.views import exceptions as view
from stls.ui import data, frame, subscribe, widgets

PAGE = "exceptions"
f = frame.filters(PAGE)
st.title("Exceptions")
st.caption(f"{f.caption()} · the latest point of each KPI's control chart, its target and its data")
shown = data.call(view.page, f, *data.previous_release())

st.header("Summary of every KPI", divider="gray")
widgets.table(shown.icons, f"Summary icons: {f.area.label}", f.caption(), "ex_icons")
st.caption("Variation and assurance follow NHS England's 'Making Data Count': each icon is named in words. "
           "[x] not available (too few points, or a figure withheld); [z] not applicable (no target).")

st.header("Since the last release", divider="gray")
if shown.since:
    st.markdown("\n".join(f"- {widgets.plain(line)}" for line in shown.since[:12]))
    if len(shown.since) > 12:
        with st.expander(f"{len(shown.since) - 12} more"):
            st.markdown("\n".join(f"- {widgets.plain(line)}" for line in shown.since[12:]))
else:
    st.caption("Nothing changed for this area since the last release, or this is the first release.")

st.header(f"Exceptions: {len(shown.table)}", divider="gray")
if len(shown.table):
    widgets.exception_list(shown.table, f"Exceptions: {f.area.label}", f.caption(), "ex_list")
st.caption("Rules: " + "; ".join(exceptions.RULES.values()) + ". Each row links to the view that shows it.")

st.header("Get these by e-mail", divider="gray")
subscribe.form()
