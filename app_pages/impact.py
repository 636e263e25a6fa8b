"""Impact of support: did the settings that received Intensive Specialist Support do better?"""
import streamlit as st

from stls.analysis.evaluation import words, worker
from stls.present.views import impact as view
from stls.ui import controls, data, frame, widgets

PAGE = "impact"
f = frame.filters(PAGE)
st.title("Impact of support")
st.markdown("The question the 2019 LIFT review raised, asked where support is given: **did settings that received "
            "Intensive Specialist Support see better results for their pupils on SEN support than they would have "
            "without it?** Each supported setting is compared with itself before support, against the same change in "
            "settings not supported.")
measure = controls.impact_measure()
data.wait_until_ready(worker.bundles, "the evaluation of support", worker.USUAL_SECONDS)
with st.spinner("Estimating (once for each version of the data)…"):
    shown = data.call(view.shown, measure, f)
st.info(shown.headline, icon=":material/insights:")
st.markdown(shown.finding)
widgets.chart(shown.chart, "im_event", "All of Kent; the year filter does not apply (every year of results is used)")

st.header("How many settings, which years", divider="gray")
widgets.table(shown.summary, "Settings supported and compared", "All of Kent", "im_summary")
st.markdown(f"**Why not simply compare supported settings with the rest?** {shown.naive}")

st.header("Does the answer hold up?", divider="gray")
st.markdown(shown.sensitivity)
st.markdown(shown.pretrend)
st.caption("The same question asked other ways, each fitted on its own. 'Higher' or 'Lower' only when the 95% "
           "interval excludes zero; a check that could not be fitted says why in its row.")
widgets.table(shown.checks, "Sensitivity checks", "All of Kent", "im_checks")
if shown.checks_note:
    st.caption(shown.checks_note)
st.markdown(shown.dose)

st.header("By district", divider="gray")
st.caption(shown.districts_text)
widgets.table(shown.districts, "Effect of support by district", f.caption(), "im_districts")

st.header("Settings that received Intensive Specialist Support", divider="gray")
st.caption("What support each setting received. A setting's own results are never shown here: most cohorts of pupils "
           "on SEN support in one school are too small to publish.")
widgets.table(shown.supported, "Settings that received Intensive Specialist Support", f.caption(), "im_list")
st.caption(words.CAVEATS)
