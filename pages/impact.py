"""Impact of support: did the settings that received Intensive Specialist Support do better?"""
import streamlit as st

from stls import impact
from stls.ui import controls, data, frame, widgets
from stls.views import impact as view

PAGE = "impact"
f = frame.filters(PAGE)
st.title("Impact of support")
st.markdown("The question the 2019 LIFT review raised, asked where support is given: **did settings that received "
            "Intensive Specialist Support see better results for their pupils on SEN support than they would have "
            "without it?** Each supported setting is compared with itself before support, against the same change in "
            "settings not supported.")
measure = controls.impact_measure()
with st.spinner("Estimating (once for each version of the data)…"):
    shown = data.call(view.shown, measure, f)
st.info(shown.finding, icon=":material/insights:")
if shown.pretrend:
    (st.warning if "Warning" in shown.pretrend else st.caption)(shown.pretrend)
widgets.chart(shown.chart, "im_event", "All of Kent; the year filter does not apply (every year of results is used)")

st.header("How many settings, which years", divider="gray")
widgets.table(shown.summary, "Settings supported and compared", "All of Kent", "im_summary")
st.markdown(f"**Why not simply compare supported settings with the rest?** {shown.naive}")

st.header("Does the answer hold up?", divider="gray")
st.caption("The same question asked other ways. 'Higher' or 'Lower' only when the 95% interval excludes zero.")
widgets.table(shown.checks, "Sensitivity checks", "All of Kent", "im_checks")
st.markdown(shown.dose)

st.header("By district", divider="gray")
st.caption(shown.districts_text)
widgets.table(shown.districts, "Effect of support by district", f.caption(), "im_districts")

st.header("Settings that received Intensive Specialist Support", divider="gray")
st.caption("What support each setting received. A setting's own results are never shown here: most cohorts of pupils "
           "on SEN support in one school are too small to publish.")
widgets.table(shown.supported, "Settings that received Intensive Specialist Support", f.caption(), "im_list")
st.caption(impact.CAVEATS)
